/**
 * The options and I/O of `renego scan` that its queue subcommands (`scan enqueue`, `worker`,
 * `results`) share: command options to scan options and target defaults, the targets read from
 * arguments, a file or stdin, `--fail-on`, and output files opened before the scan.
 */
import * as fs from 'node:fs';
import { RateLimiter } from '../scan/runner.ts';
import { isStartTlsProtocol } from '../scan/starttls.ts';
import { targetLines, type TargetDefaults } from '../scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanOptions } from '../scan/types.ts';
import { SEVERITIES, type Severity } from '../scan/verdict.ts';
import { UsageError } from './usage.ts';

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
