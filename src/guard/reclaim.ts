/**
 * Giving a flood's memory back. V8 collects garbage when JavaScript allocates; a guard that
 * has gone quiet after thousands of connections closed allocates nothing, so their sockets,
 * stream states and read buffers (most of it native memory that only a collection frees) stay
 * resident for as long as it stays quiet: measured, 4,000 hello-pinning connections left RSS
 * 50 MiB up 20 s after they closed, and one full collection brought it back to within 3% of the
 * start. So once many connections have closed and few remain, the guard asks V8 for one full
 * collection, a short while after the last close, and at most once per MIN_INTERVAL_MS: a
 * flood that goes on cannot turn this into a collection per connection.
 *
 * The collector is reached the way test runners reach it (v8.setFlagsFromString('--expose-gc'),
 * then `gc` from a fresh context); where a Node version refuses, nothing is reclaimed early and
 * V8's own heuristics apply. Memory: five numbers and one timer.
 */
import { setFlagsFromString } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';

/** Closes since the last collection before one is worth its pause (a full GC stops every connection for milliseconds). */
export const RECLAIM_AFTER_CLOSES = 1_000;
/** Quiet after the last close before collecting: a flood ends in a burst of closes. */
export const RECLAIM_DELAY_MS = 1_000;
/**
 * The first collection frees the objects (heap and external memory back to where they were
 * before the flood), but RSS stays up; a second one RECLAIM_PASS_GAP_MS later gives the pages
 * back. Measured (4,000-connection flood, RSS 95 MiB before, 150 during): 124 MiB after the
 * first, 91 MiB after the second; a second collection 2 s after the first released nothing.
 */
export const RECLAIM_PASSES = 2;
export const RECLAIM_PASS_GAP_MS = 10_000;
/** At most one reclaim (all its passes) starts in this long. */
export const MIN_INTERVAL_MS = 30_000;

export interface ReclaimOptions {
  /** A full garbage collection; default: V8's, where it can be reached. */
  readonly collect?: (() => void) | undefined;
  readonly delayMs?: number;
  readonly passGapMs?: number;
  readonly now?: () => number;
}

function exposeCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function onDue(reclaimer: MemoryReclaimer): void {
  reclaimer.due();
}

export class MemoryReclaimer {
  private open = 0;
  private closes = 0;
  /** The most connections open at once since the last collection. */
  private peak = 0;
  private lastCollection = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** When the first pass is due (performance.now()), as the last close set it. */
  private dueAt = 0;
  /** When the armed timer fires, when it is the first pass's (else a later pass's, or none). */
  private firstPassAt: number | undefined;
  private collections = 0;

  private readonly collect: (() => void) | undefined;
  private readonly delayMs: number;
  private readonly passGapMs: number;
  private readonly now: () => number;

  constructor(options: ReclaimOptions = {}) {
    this.collect = 'collect' in options ? options.collect : exposeCollector();
    this.delayMs = options.delayMs ?? RECLAIM_DELAY_MS;
    this.passGapMs = options.passGapMs ?? RECLAIM_PASS_GAP_MS;
    this.now = options.now ?? Date.now;
  }

  /** Whether V8's collector could be reached (else nothing is collected early). */
  get available(): boolean {
    return this.collect !== undefined;
  }

  /** Full collections run so far. */
  get runs(): number {
    return this.collections;
  }

  /** A connection opened (any listener). */
  opened(): void {
    this.open++;
    if (this.open > this.peak) this.peak = this.open;
  }

  /** A connection closed (any listener). */
  closed(): void {
    this.open--;
    this.closes++;
    if (this.collect === undefined || this.closes < RECLAIM_AFTER_CLOSES || this.open > this.peak / 2) return;
    // Pushed back by every close: the collection waits for the burst to end. One timer, re-armed
    // when it fires before the due time, not a new timer per close (this runs once per connection
    // in a steady stream of short connections).
    const wait = Math.max(this.delayMs, this.lastCollection + MIN_INTERVAL_MS - this.now());
    this.dueAt = performance.now() + wait;
    // Kept when it fires no later than the new due time (it then waits out the rest). A later
    // pass still to come is replaced by a new first one, as a new burst of closes asks.
    if (this.firstPassAt !== undefined && this.firstPassAt <= this.dueAt) return;
    this.armFirstPass(wait);
  }

  /** The first pass, once the time the last close set has come. */
  due(): void {
    const left = this.dueAt - performance.now();
    if (left > 0) return this.armFirstPass(left);
    this.run();
  }

  private armFirstPass(wait: number): void {
    clearTimeout(this.timer);
    this.firstPassAt = performance.now() + wait;
    this.timer = setTimeout(onDue, wait, this);
    this.timer.unref();
  }

  private run(pass = 1): void {
    this.timer = undefined;
    this.firstPassAt = undefined;
    this.lastCollection = this.now();
    this.closes = 0;
    this.peak = this.open;
    this.collections++;
    this.collect?.();
    if (pass >= RECLAIM_PASSES) return;
    this.timer = setTimeout(() => this.run(pass + 1), this.passGapMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstPassAt = undefined;
  }
}
