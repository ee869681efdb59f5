/**
 * Many targets: a pool of `concurrency` scans, results streamed in input
 * order (each as soon as every target before it is done), an optional global connection rate, and `--shard K/N` so N
 * machines can split one list. A line that is not a target becomes a failed
 * result naming the problem; the run goes on.
 */
import { notScannedLine, scanTarget } from './scan.ts';
import { inShard, parseScanTarget, type Shard, type TargetDefaults } from './targets.ts';
import type { ScanOptions, ScanReport } from './types.ts';

export interface RunOptions {
  scan: ScanOptions;
  concurrency: number;
  shard?: Shard;
  defaults: TargetDefaults;
  /** Called in input order: a result waits for the targets listed before it. */
  onResult(report: ScanReport): void;
  onProgress?(p: Progress): void;
}

export interface Progress {
  done: number;
  total: number;
  vulnerable: number;
  failed: number;
  running: number;
}

export interface RunSummary extends Progress {
  ms: number;
}

/** Connections per second across the whole run: a token bucket refilled continuously. */
export class RateLimiter {
  private next = 0;
  private readonly intervalMs: number;

  constructor(perSecond: number) {
    this.intervalMs = 1000 / perSecond;
  }

  async take(): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

/** Scans every target line in this shard; never throws for a target's sake. */
export async function runScans(lines: readonly string[], o: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const mine = lines.filter((_, i) => inShard(i, o.shard));
  const p: Progress = { done: 0, total: mine.length, vulnerable: 0, failed: 0, running: 0 };
  const inOrder = new InOrder(o.onResult);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < mine.length) {
      const index = next++;
      const line = mine[index]!;
      p.running++;
      o.onProgress?.({ ...p });
      let report: ScanReport;
      try {
        report = await scanTarget(parseScanTarget(line, o.defaults), o.scan);
      } catch (e) {
        report = notScannedLine(line, 'invalid-target', (e as Error).message);
      }
      p.running--;
      p.done++;
      if (!report.ok) p.failed++;
      if (report.vulnerabilities.length > 0) p.vulnerable++;
      inOrder.put(index, report);
      o.onProgress?.({ ...p });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, mine.length)) }, worker));
  return { ...p, ms: Math.round(performance.now() - t0) };
}

/** Releases items in index order, each as soon as every item before it has arrived. */
export class InOrder<T> {
  private readonly waiting = new Map<number, T>();
  private next = 0;

  constructor(private readonly emit: (item: T) => void) {}

  put(index: number, item: T): void {
    this.waiting.set(index, item);
    while (this.waiting.has(this.next)) {
      const ready = this.waiting.get(this.next)!;
      this.waiting.delete(this.next++);
      this.emit(ready);
    }
  }
}
