/**
 * `renego scan`: does this server need renegotiation switched off, and what
 * would break? Parses the options, reads the targets (arguments, a file, or
 * stdin), runs the scans with a progress bar on a terminal, streams the
 * results in input order (text or JSON Lines) and optionally writes JSON Lines
 * and an HTML report to files. Exit codes are usage.ts's EXIT: ok when nothing
 * was found, failed for a finding at or above --fail-on, usage for a bad option
 * or a target that could not be scanned.
 */
import * as fs from 'node:fs';
import { jsonLine } from '../scan/report/json.ts';
import { formatFindings, formatText, paintFor, PLAIN } from '../scan/report/text.ts';
import { reachesThreshold, type Severity } from '../scan/verdict.ts';
import { terminalWidth, truncate, wrap } from '../text/terminal.ts';
import { runScans, type Progress } from '../scan/runner.ts';
import { parseShard, type TargetDefaults } from '../scan/targets.ts';
import type { ScanOptions, ScanReport } from '../scan/types.ts';
import {
  failOnFrom,
  openOutput,
  positive,
  readTargets,
  scanOptionsFrom,
  targetDefaults,
  type ScanCommandOptions,
  type ScanIo,
} from './scan-options.ts';
import { EXIT, UsageError } from './usage.ts';

export const DEFAULT_CONCURRENCY = 32;

/**
 * A one-line bar on stderr, redrawn in place and cleared before each result is
 * printed. Never as wide as the terminal: a line that wraps cannot be redrawn
 * with a carriage return, and each redraw would leave a line behind.
 */
export class ProgressBar {
  private shown = false;
  constructor(private readonly out: ScanIo['stderr']) {}

  draw(p: Progress): void {
    const room = terminalWidth({ isTTY: true, columns: this.out.columns ?? 80 }) - 1;
    const counts = `${p.done}/${p.total} scanned, ${p.vulnerable} vulnerable, ${p.failed} ${NOT_SCANNED}, ${p.running} running`;
    const width = Math.min(30, room - counts.length - 3);
    const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
    const bar = width >= 5 ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
    this.out.write(`\r\u001b[K${truncate(bar + counts, room)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.out.write('\r\u001b[K');
    this.shown = false;
  }
}

/** One word for a target that could not be scanned, in the bar and the summary. */
const NOT_SCANNED = 'not scanned';

export async function runScanCommand(o: ScanCommandOptions, io: ScanIo): Promise<number> {
  let lines: string[];
  let opts: ScanOptions;
  let defaults: TargetDefaults;
  let shard;
  let concurrency: number;
  let failOn: Severity | 'any';
  let jsonFd: number | undefined;
  try {
    failOn = failOnFrom(o.failOn);
    opts = scanOptionsFrom(o);
    concurrency = positive('--concurrency', o.concurrency, DEFAULT_CONCURRENCY);
    defaults = targetDefaults(o);
    shard = o.shard !== undefined ? parseShard(o.shard) : undefined;
    if (o.shard !== undefined && !shard) throw new UsageError('bad --shard');
    lines = await readTargets(o, io);
    if (o.html !== undefined) fs.closeSync(openOutput(o.htmlOption ?? '--html-file', o.html));
    if (o.jsonFile !== undefined) jsonFd = openOutput('--json-file', o.jsonFile);
  } catch (e) {
    io.stderr.write(`renego scan: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  const paint = o.color === false ? PLAIN : paintFor(io.stdout, io.env);
  const width = terminalWidth(io.stdout);
  const bar = !o.quiet && (o.progress ?? io.stderr.isTTY === true) ? new ProgressBar(io.stderr) : undefined;
  const reports: ScanReport[] = [];
  let printed = 0;
  let failing = false;
  const print = (r: ScanReport): void => {
    if (o.json) return void io.stdout.write(`${jsonLine(r)}\n`);
    if (o.quiet && !r.ok)
      return void io.stderr.write(
        `${wrap(`renego scan: ${r.target} ${NOT_SCANNED} (${r.reachability}): ${r.error ?? 'unknown error'}`, width, '', '    ').join('\n')}\n`,
      );
    const text = o.quiet ? formatFindings(r, paint, width) : formatText(r, paint, width);
    if (text !== '') io.stdout.write(`${printed++ > 0 ? '\n' : ''}${text}\n`);
  };
  const summary = await runScans(lines, {
    scan: opts,
    concurrency,
    ...(shard ? { shard } : {}),
    defaults,
    onResult: (r) => {
      if (o.html) reports.push(r);
      if (jsonFd !== undefined) fs.writeSync(jsonFd, `${jsonLine(r)}\n`);
      if (reachesThreshold(r.verdicts, failOn)) failing = true;
      bar?.clear();
      print(r);
    },
    onProgress: (p) => bar?.draw(p),
  });
  bar?.clear();
  if (jsonFd !== undefined) fs.closeSync(jsonFd);
  if (o.html) {
    // Loaded only when asked for: every scan process would otherwise compile it.
    const { htmlReport } = await import('../scan/report/html.ts');
    try {
      fs.writeFileSync(o.html, htmlReport(reports));
    } catch (e) {
      io.stderr.write(`renego scan: cannot write ${o.html}: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
  }
  if (!o.json && !o.quiet && summary.total > 1) {
    const text = `${summary.total} targets in ${(summary.ms / 1000).toFixed(1)} s: ${summary.vulnerable} vulnerable, ${summary.failed} ${NOT_SCANNED}`;
    io.stderr.write(`${wrap(text, terminalWidth(io.stderr)).join('\n')}\n`);
  }
  // A finding outranks a target that could not be scanned: it is the answer the run was for.
  if (failing) return EXIT.failed;
  return summary.failed > 0 ? EXIT.usage : EXIT.ok;
}
