/**
 * Whether the process may open enough file descriptors for its listeners. Each proxied connection
 * holds two (the client's socket and the upstream's); a guard at maxConnections with a lower limit
 * fails accepts and upstream connects with EMFILE instead of refusing cleanly. Node has no
 * getrlimit, so on Linux the soft limit is read from /proc/self/limits and the descriptors open
 * at start from /proc/self/fd; elsewhere both are unknown and only the upstream connect's EMFILE
 * is seen.
 *
 * Why slots: when accept fails with EMFILE, libuv accepts and closes the pending connections with
 * a descriptor it keeps in reserve and Node reports nothing, so the guard would drop clients
 * without a word. Counting two descriptors per connection against what the limit leaves lets it
 * refuse them itself, with a reason, just before the kernel would. Memory: two numbers.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Descriptors the process needs besides its connections: listeners, metrics, stdio, Node's own. */
export const FD_MARGIN = 64;

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

/** `Max open files            1024                 524288               files` → its two numbers. */
export function parseProcLimits(text: string): FdLimit | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (m === null) return undefined;
  const n = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

export function readFdLimit(path = '/proc/self/limits'): FdLimit | undefined {
  try {
    return parseProcLimits(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Descriptors kept free beyond the connections' two each: metrics scrapes, log files, libuv's reserve. */
export const FD_RESERVE = 16;

/** Descriptors open now, or undefined where /proc/self/fd is not there. */
export function openFds(path = '/proc/self/fd'): number | undefined {
  try {
    return readdirSync(path).length;
  } catch {
    return undefined;
  }
}

/** How many connections fit in what the soft limit leaves; Infinity when either number is unknown. */
export function connectionCapacity(limit: FdLimit | undefined, openNow: number | undefined): number {
  if (limit === undefined || openNow === undefined || !Number.isFinite(limit.soft)) return Infinity;
  return Math.max(0, Math.floor((limit.soft - openNow - FD_RESERVE) / 2));
}

/** Connections of the whole process against its descriptor capacity. */
export class DescriptorSlots {
  private used = 0;

  constructor(public capacity = Infinity) {}

  get open(): number {
    return this.used;
  }

  take(): boolean {
    if (this.used >= this.capacity) return false;
    this.used++;
    return true;
  }

  give(): void {
    this.used--;
  }
}

/** Descriptors needed for every listener at its maxConnections. */
export function fdsNeeded(maxConnections: readonly number[]): number {
  return maxConnections.reduce((n, m) => n + 2 * m, FD_MARGIN);
}
