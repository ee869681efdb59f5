/**
 * `renego scan`: does this server need renegotiation switched off, and what
 * would break? Parses the options, reads the targets (arguments, a file, or
 * stdin), runs the scans with a progress bar on a terminal, streams the
 * results in input order (text or JSON Lines) and optionally writes JSON Lines
 * and an HTML report to files. Exit code: 0 nothing found, 1 a finding at or
 * above --fail-on, 2 usage or scan errors.
 */
import { UsageError } from './usage.ts';
import * as fs from 'node:fs';
import { htmlReport } from '../scan/report/html.ts';
import { jsonLine } from '../scan/report/json.ts';
import { formatFindings, formatText, paintFor, PLAIN } from '../scan/report/text.ts';
import { reachesThreshold, SEVERITIES, type Severity } from '../scan/verdict.ts';
import { terminalWidth, truncate, wrap } from '../text/terminal.ts';
import { RateLimiter, runScans, type Progress } from '../scan/runner.ts';
import { isStartTlsProtocol } from '../scan/starttls.ts';
import { parseShard, targetLines, type TargetDefaults } from '../scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanOptions, type ScanReport } from '../scan/types.ts';

export const EXIT_CLEAN = 0;
export const EXIT_VULNERABLE = 1;
export const EXIT_ERROR = 2;
export const DEFAULT_CONCURRENCY = 32;

export interface ScanCommandOptions {
  targets: string[];
  targetsFile?: string;
  json?: boolean;
  /** The HTML report's file (`--html-file`, or `--html` as before). */
  html?: string;
  /** Which of the two named it, for messages. */
  htmlOption?: '--html' | '--html-file';
  /** JSON Lines to this file, whatever goes to stdout. */
  jsonFile?: string;
  /** false with --no-color. */
  color?: boolean;
  /** Findings only: no progress bar, no summary, nothing for a clean target. */
  quiet?: boolean;
  /** Exit 1 when a finding reaches this severity (default medium: any listed vulnerability). */
  failOn?: string;
  /** The quick plan: RFC 5746, one renegotiation of each kind, TLS 1.3 only. */
  quick?: boolean;
  concurrency?: number;
  shard?: string;
  starttls?: string;
  servername?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  timeout?: number;
  maxRenegotiations?: number;
  paths?: string[];
  http?: boolean;
  retries?: number;
  rate?: number;
  connectionsPerTarget?: number;
  progress?: boolean;
}

export interface ScanIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  readStdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
}

export function positive(name: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v < min) throw new UsageError(`${name} wants a number ≥ ${min}, got ${v}`);
  return v;
}

export function scanOptionsFrom(o: ScanCommandOptions): ScanOptions {
  const paths = o.paths && o.paths.length > 0 ? o.paths : DEFAULT_SCAN_OPTIONS.paths;
  for (const p of paths) if (!p.startsWith('/')) throw new UsageError(`--paths entries start with /, got ${p}`);
  const opts: ScanOptions = {
    ...DEFAULT_SCAN_OPTIONS,
    timeoutMs: positive('--timeout', o.timeout, DEFAULT_SCAN_OPTIONS.timeoutMs, 100),
    maxRenegotiations: positive('--max-renegotiations', o.maxRenegotiations, DEFAULT_SCAN_OPTIONS.maxRenegotiations),
    paths,
    http: o.http ?? true,
    retries: positive('--retries', o.retries, DEFAULT_SCAN_OPTIONS.retries, 0),
    connectionsPerTarget: positive(
      '--connections-per-target',
      o.connectionsPerTarget,
      DEFAULT_SCAN_OPTIONS.connectionsPerTarget,
    ),
  };
  if (o.quick) opts.plan = 'quick';
  if (o.rate !== undefined) opts.limiter = new RateLimiter(positive('--rate', o.rate, 1));
  return opts;
}

export function targetDefaults(o: ScanCommandOptions): TargetDefaults {
  if (o.ipv4 && o.ipv6) throw new UsageError('--ipv4 and --ipv6 exclude each other');
  if (o.starttls !== undefined && !isStartTlsProtocol(o.starttls)) {
    throw new UsageError(`--starttls wants smtp, imap, pop3, ftp, xmpp, ldap or postgres, got ${o.starttls}`);
  }
  const d: TargetDefaults = {};
  if (o.starttls !== undefined && isStartTlsProtocol(o.starttls)) d.starttls = o.starttls;
  if (o.servername) d.serverName = o.servername;
  if (o.ipv4) d.family = 4;
  if (o.ipv6) d.family = 6;
  return d;
}

export async function readTargets(o: ScanCommandOptions, io: ScanIo): Promise<string[]> {
  const lines = [...o.targets];
  if (o.targetsFile !== undefined) {
    const text = o.targetsFile === '-' ? await io.readStdin() : readFile(o.targetsFile);
    lines.push(...targetLines(text));
  }
  if (lines.length === 0)
    throw new UsageError('no targets: give HOST[:PORT] arguments or --targets-file FILE (- for stdin)');
  return lines;
}

function readFile(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --targets-file ${path}: ${(e as Error).message}`);
  }
}

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

export function failOnFrom(v: string | undefined): Severity | 'any' {
  if (v === undefined) return 'medium';
  if (v === 'any' || (SEVERITIES as readonly string[]).includes(v)) return v as Severity | 'any';
  throw new UsageError(`--fail-on wants high, medium or any, got ${v}`);
}

/** Opens an output file before the scan, so a bad path fails at once (exit 2), not after an hour. */
export function openOutput(option: string, path: string): number {
  try {
    return fs.openSync(path, 'w');
  } catch (e) {
    throw new UsageError(`cannot write ${option} ${path}: ${(e as Error).message}`);
  }
}

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
    return EXIT_ERROR;
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
        `${wrap(`renego scan: ${r.target} ${NOT_SCANNED}: ${r.error ?? 'unknown error'}`, width, '', '    ').join('\n')}\n`,
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
    try {
      fs.writeFileSync(o.html, htmlReport(reports));
    } catch (e) {
      io.stderr.write(`renego scan: cannot write ${o.html}: ${(e as Error).message}\n`);
      return EXIT_ERROR;
    }
  }
  if (!o.json && !o.quiet && summary.total > 1) {
    const text = `${summary.total} targets in ${(summary.ms / 1000).toFixed(1)} s: ${summary.vulnerable} vulnerable, ${summary.failed} ${NOT_SCANNED}`;
    io.stderr.write(`${wrap(text, terminalWidth(io.stderr)).join('\n')}\n`);
  }
  if (failing) return EXIT_VULNERABLE;
  return summary.failed > 0 ? EXIT_ERROR : EXIT_CLEAN;
}
