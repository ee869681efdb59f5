/**
 * How many connections one target gets at once. Probes run in parallel, but
 * some servers serve one connection at a time (openssl s_server): the others sit
 * in the listen backlog until a handshake timer fires. A handshake that times
 * out without a byte from the server while other connections were open is that
 * symptom; the gate then lets one connection through at a time and the probe is
 * retried, so such servers are scanned correctly, only more slowly.
 *
 * Some servers accept every connection but run one handshake at a time and wait
 * inside it for the client's next flight (gnutls-serv): each full handshake
 * holds the others a round trip, and ClientHellos that wait together are served
 * back to back, a renegotiation's ClientHello on an open connection (the run of
 * CVE-2011-1473, the plan's longest chain) waiting behind all of them. That shows
 * as a ClientHello answered much later than the fastest answer while another
 * handshake was under way (`answered`); from then on new connections send their
 * ClientHello one at a time, each once the one before has been answered
 * (`acquireHello`), so that at most one waits at the server and each lands
 * between two of the run's renegotiations.
 */
/**
 * How a connection's ClientHello queues once the server was seen running one
 * handshake at a time: `chain` ahead of the others, for a connection that later
 * round trips of the scan wait for (the baseline, the legacy client's session
 * that the insecure renegotiation and then the split request build on, the split
 * request's own); `leaf` behind them; `free` takes no turn, for a first flight
 * only, which a close_notify ends at once and so holds the server for no round
 * trip (probe-session.ts openFirstFlight).
 */
export type HelloTurn = 'chain' | 'leaf' | 'free';

/** See `tooSlow`: how much slower than 1.5 × the fastest answer a queued one is, at least. */
const QUEUED_MARGIN_MS = 10;
/** See `tooSlow`: the fastest answer below which queueing is not looked for. */
const MIN_ROUND_TRIP_MS = 10;

export class ConnectionGate {
  private capacity: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private serializedFlag = false;
  /** When a byte last arrived on any connection through this gate. */
  private lastActivity = 0;
  /** Our connections between their ClientHello and the end of their handshake (or first flight). */
  private handshaking = 0;
  /** The fastest answer to a ClientHello on this target: about one round trip and the server's work. */
  private fastestAnswerMs = Infinity;
  private queuedFlag = false;
  /** Our ClientHellos not answered yet: when each went out, and whether another handshake was under way. */
  private readonly unanswered = new Set<{ at: number; crowded: boolean }>();
  private helloBusy = false;
  /** Waiting for the turn: those that asked to go first, then the others, each in order. */
  private readonly helloWaiting: [(() => void)[], (() => void)[]] = [[], []];

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

  /**
   * The server was seen holding one of our ClientHellos while it finished
   * another handshake: one was answered, or has waited unanswered, longer than
   * a server answering them together would take.
   */
  get handshakesQueued(): boolean {
    if (!this.queuedFlag && this.fastestAnswerMs < Infinity) {
      const now = performance.now();
      for (const h of this.unanswered) if (h.crowded && this.tooSlow(now - h.at)) this.queuedFlag = true;
    }
    return this.queuedFlag;
  }

  /**
   * A server answering concurrent hellos together answers each within its own
   * work of the fastest answer; one that first finished another handshake (a
   * round trip of waiting for that client) answers about a round trip later:
   * half as slow again, and 10 ms, is past the one and short of the other. Not
   * below a 10 ms answer: there a round trip is within the machine's scheduling
   * noise (a loaded host answering on 127.0.0.1), and a queued handshake costs
   * too little to be worth spacing the hellos.
   */
  private tooSlow(waitMs: number): boolean {
    return this.fastestAnswerMs >= MIN_ROUND_TRIP_MS && waitMs > 1.5 * this.fastestAnswerMs + QUEUED_MARGIN_MS;
  }

  /**
   * A connection's ClientHello went out; returns the function that says it was
   * answered after `waitMs`, and the one that says its handshake is over.
   */
  helloSent(): { answered: (waitMs: number) => void; ended: () => void } {
    const hello = { at: performance.now(), crowded: this.handshaking > 0 };
    this.handshaking++;
    this.unanswered.add(hello);
    let over = false;
    return {
      answered: (waitMs) => {
        this.unanswered.delete(hello);
        if (hello.crowded && this.tooSlow(waitMs)) this.queuedFlag = true;
        this.fastestAnswerMs = Math.min(this.fastestAnswerMs, waitMs);
      },
      ended: () => {
        if (over) return;
        over = true;
        this.unanswered.delete(hello);
        this.handshaking--;
      },
    };
  }

  /**
   * Once handshakes were seen queued: waits until no other ClientHello of ours is
   * unanswered, and returns the function that frees the turn (on the answer, or
   * when the connection failed). A no-op otherwise, and always for `free`; `chain`
   * goes ahead of the `leaf` connections already waiting.
   */
  async acquireHello(kind: HelloTurn): Promise<() => void> {
    if (kind === 'free' || !this.handshakesQueued) return () => undefined;
    const first = kind === 'chain';
    while (this.helloBusy) await new Promise<void>((resolve) => this.helloWaiting[first ? 0 : 1].push(resolve));
    this.helloBusy = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.helloBusy = false;
      (this.helloWaiting[0].shift() ?? this.helloWaiting[1].shift())?.();
    };
  }

  serialize(): void {
    this.capacity = 1;
    this.serializedFlag = true;
  }
}
