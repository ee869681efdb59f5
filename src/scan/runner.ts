/**
 * Many targets: a pool of `concurrency` scans, results streamed in the order
 * they finish, an optional global connection rate, and `--shard K/N` so N
 * machines can split one list. A line that is not a target becomes a failed
 * result naming the problem; the run goes on.
 */
import { scanTarget, SCANNER } from './scan.ts';
import { inShard, parseScanTarget, type Shard, type TargetDefaults } from './targets.ts';
import type { ScanOptions, ScanReport } from './types.ts';

export interface RunOptions {
  scan: ScanOptions;
  concurrency: number;
  shard?: Shard;
  defaults: TargetDefaults;
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

function unparsable(line: string, error: string): ScanReport {
  return {
    target: line,
    host: line,
    port: 0,
    ok: false,
    error,
    versions: { TLSv1: null, 'TLSv1.1': null, 'TLSv1.2': null, 'TLSv1.3': null },
    secureRenegotiation: {
      extension: null,
      scsv: null,
      required: null,
      enforced: null,
      reasons: {},
      enforcement: [],
      evidence: [],
    },
    clientInitiated: {
      secure: 'not-tested',
      insecure: 'not-tested',
      details: { secure: { outcome: 'not-tested', reason: error }, insecure: { outcome: 'not-tested', reason: error } },
      split: { glued: null, over: undefined, reason: error, evidence: [] },
    },
    maxClientRenegotiations: null,
    dos: { accepted: null, max: 0, limitMet: null, ratePerSecond: null, over: undefined, reason: error, attempts: [] },
    serverInitiated: [],
    extendedMasterSecret: null,
    certificateChange: null,
    verdicts: [],
    vulnerabilities: [],
    advice: [],
    timings: { totalMs: 0, probes: {} },
    scannedAt: new Date().toISOString(),
    scanner: SCANNER,
  };
}

/** Scans every target line in this shard; never throws for a target's sake. */
export async function runScans(lines: readonly string[], o: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const mine = lines.filter((_, i) => inShard(i, o.shard));
  const p: Progress = { done: 0, total: mine.length, vulnerable: 0, failed: 0, running: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < mine.length) {
      const line = mine[next++]!;
      p.running++;
      o.onProgress?.({ ...p });
      let report: ScanReport;
      try {
        report = await scanTarget(parseScanTarget(line, o.defaults), o.scan);
      } catch (e) {
        report = unparsable(line, (e as Error).message);
      }
      p.running--;
      p.done++;
      if (!report.ok) p.failed++;
      if (report.vulnerabilities.length > 0) p.vulnerable++;
      o.onResult(report);
      o.onProgress?.({ ...p });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, mine.length)) }, worker));
  return { ...p, ms: Math.round(performance.now() - t0) };
}
