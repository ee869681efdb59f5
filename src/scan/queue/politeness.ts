/**
 * Politeness across every worker of a queue: at most `limit` connections at
 * once to one IP address, whichever machine opens them. A counting semaphore in
 * Redis: one sorted set per address, a member per connection slot held, scored
 * with the time its lease runs out. Holders renew their leases while they scan;
 * a worker that dies (SIGKILL, power loss) stops renewing, and its slots are
 * dropped by the next acquirer once they have expired, so a dead worker blocks
 * an address for at most one lease time.
 *
 * Times are Redis's clock (TIME inside the script), so workers on machines with
 * skewed clocks agree on when a lease runs out.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// replicate_commands: Redis 5 and 6 refuse writes after TIME in a script without it (7 always replicates effects).
const ACQUIRE = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local units, limit, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) + units > limit then return 0 end
for i = 1, units do redis.call('ZADD', KEYS[1], now + ttl, ARGV[1] .. '#' .. i) end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

const RENEW = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local units, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local kept = 0
for i = 1, units do kept = kept + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl, ARGV[1] .. '#' .. i) end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return kept
`;

export interface PolitenessOptions {
  /** Connections at once to one address, across all workers. */
  limit: number;
  /** How long a slot outlives its holder's last renewal. */
  leaseMs: number;
}

export const DEFAULT_POLITENESS: PolitenessOptions = { limit: 6, leaseMs: 30_000 };

export interface Lease {
  /** Frees the slots (calling it twice is harmless). */
  release(): Promise<void>;
}

export function politenessKey(address: string): string {
  return `renego:polite:${address}`;
}

export class AddressSemaphore {
  constructor(
    private readonly redis: Redis,
    private readonly o: PolitenessOptions,
  ) {}

  /**
   * Waits until `units` slots to `address` are free and takes them, renewing
   * them every third of the lease until released. Polls with a growing,
   * jittered delay (no fairness between waiters: a waiter may be overtaken).
   */
  async acquire(address: string, units: number, signal?: AbortSignal): Promise<Lease> {
    const key = politenessKey(address);
    const n = Math.max(1, Math.min(units, this.o.limit));
    const holder = randomBytes(12).toString('hex');
    let delay = 20;
    for (;;) {
      signal?.throwIfAborted();
      const got = await this.redis.eval(ACQUIRE, 1, key, holder, n, this.o.limit, this.o.leaseMs);
      if (got === 1) break;
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(500, delay * 2);
    }
    const timer = setInterval(
      () => void this.redis.eval(RENEW, 1, key, holder, n, this.o.leaseMs).catch(() => undefined),
      Math.max(100, Math.floor(this.o.leaseMs / 3)),
    );
    timer.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        const members = Array.from({ length: n }, (_, i) => `${holder}#${i + 1}`);
        await this.redis.zrem(key, ...members);
      },
    };
  }
}
