/**
 * How many connections one target gets at once. Probes run in parallel, but
 * some servers serve one connection at a time (openssl s_server): the others sit
 * in the listen backlog until a handshake timer fires. A handshake that times
 * out without a byte from the server while other connections were open is that
 * symptom; the gate then lets one connection through at a time and the probe is
 * retried, so such servers are scanned correctly, only more slowly.
 */
export class ConnectionGate {
  private capacity: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private serializedFlag = false;
  /** When a byte last arrived on any connection through this gate. */
  private lastActivity = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  get open(): number {
    return this.active;
  }

  get serialized(): boolean {
    return this.serializedFlag;
  }

  /** Waits for a slot; the returned function frees it (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    while (this.active >= this.capacity) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }

  touch(): void {
    this.lastActivity = performance.now();
  }

  /**
   * Other connections are open and the server answered one of them within
   * `withinMs`: a connection that hears nothing meanwhile is waiting its turn,
   * not facing a slow or overloaded server.
   */
  othersProgressing(withinMs: number): boolean {
    return this.active > 1 && performance.now() - this.lastActivity < withinMs;
  }

  serialize(): void {
    this.capacity = 1;
    this.serializedFlag = true;
  }
}
