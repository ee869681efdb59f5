/**
 * One budget, for the whole process, of the bytes held back while initial hellos are collected.
 * The per-connection bound (hello.ts: 128 KiB) times maxConnections is gigabytes; an attacker
 * who opens connections and drips each a partial hello pins that much until the handshake
 * timeout. The budget caps the sum: a connection whose hello would take it over is closed
 * (`hello-memory-budget`), the others go on. Memory: two numbers.
 */

/** 64 MiB: 1,000 connections with a 64 KiB hello each, or 20,000 with a typical 2 KiB one in flight. */
export const DEFAULT_HELLO_MEMORY_BYTES = 64 * 1024 * 1024;

export class HelloMemoryBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes held by all connections now. */
  get bytes(): number {
    return this.used;
  }

  /**
   * Moves one connection's share from `before` to `after` bytes. Shrinking always succeeds;
   * growing fails, and takes nothing, when it would go over the limit.
   */
  resize(before: number, after: number): boolean {
    const next = this.used - before + after;
    if (after > before && next > this.limit) return false;
    this.used = next;
    return true;
  }
}
