/**
 * Renegotiations per client address per time window, shared by the connections of a listener.
 * CVE-2011-1473 (THC-SSL-DOS): one TCP connection can make the server run hundreds of handshakes,
 * which a per-connection limit alone does not stop when the attacker opens many connections.
 *
 * A sliding log: per address, the times of the last `count` renegotiations let through. Memory is
 * bounded by `count` timestamps per address and by `maxAddresses` addresses.
 */
import type { RateLimit } from './policy.ts';

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
