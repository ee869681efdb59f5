/**
 * The one renegotiation rate limit (CVE-2011-1473, THC-SSL-DOS: each renegotiation costs the
 * server a handshake): the engine's server keeps one per connection (as Node's
 * CLIENT_RENEG_LIMIT/CLIENT_RENEG_WINDOW), the guard one per listener keyed by client address,
 * since a per-connection limit alone does not stop an attacker who opens many connections.
 *
 * A sliding log: per key, the times of the last `count` renegotiations let through. Memory is
 * bounded by `count` timestamps per key and by `maxAddresses` keys.
 */
import type { Rate } from '../syntax/rate.ts';

/** At most `count` in any `windowMs` (the rate of src/syntax/rate.ts); a count of 0 means no limit. */
export type RateLimit = Rate;

export const DEFAULT_MAX_ADDRESSES = 65_536;

export class RenegotiationRateLimiter {
  private readonly log = new Map<string, number[]>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxAddresses = DEFAULT_MAX_ADDRESSES,
    private readonly now: () => number = Date.now,
  ) {}

  get trackedAddresses(): number {
    return this.log.size;
  }

  /** Records a renegotiation from `address` and says whether it fits the limit; refusals are not recorded. */
  take(address: string): boolean {
    if (this.limit.count <= 0) return true;
    const now = this.now();
    const times = this.log.get(address) ?? [];
    while (times.length > 0 && now - times[0]! >= this.limit.windowMs) times.shift();
    if (times.length >= this.limit.count) return false;
    times.push(now);
    // Re-insert so Map order is least recently active first, the order evict() drops in.
    this.log.delete(address);
    this.log.set(address, times);
    if (this.log.size > this.maxAddresses) this.evict(now);
    return true;
  }

  private evict(now: number): void {
    for (const [address, times] of this.log) {
      if (times.length === 0 || now - times[times.length - 1]! >= this.limit.windowMs) this.log.delete(address);
    }
    for (const address of this.log.keys()) {
      if (this.log.size <= this.maxAddresses) break;
      this.log.delete(address);
    }
  }
}
