/**
 * `renego audit FILE…`: configuration in, verdicts and advice out. Reads each file with a size
 * bound, follows its includes (src/audit/includes.ts decides, this module reads the disk), hands
 * the text to the pure parsers and the judge (src/audit/), with --scan runs the scanner on the
 * servers the files configure and puts measured beside configured (src/audit/compare.ts), prints
 * text or JSON, and returns the exit code (0 nothing found, 1 vulnerable, breaking or not in
 * effect, 2 unreadable).
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { compareWithScans } from '../audit/compare.ts';
import { expandIncludes, followsIncludes, type IncludeFiles } from '../audit/includes.ts';
import { auditExitCode, DEFAULT_ASSUMPTIONS, judge, type AuditAssumptions } from '../audit/judge.ts';
import { AuditInputError, MAX_INPUT_BYTES } from '../audit/input.ts';
import { decodeInput, parseDecoded } from '../audit/parse.ts';
import { INPUT_KINDS, STACK_TITLE, type InputKind, type ParsedInput, type StackAudit } from '../audit/types.ts';
import { at } from '../audit/findings.ts';
import { scanTarget } from '../scan/scan.ts';
import { parseScanTarget } from '../scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanReport } from '../scan/types.ts';
import { UsageError } from './usage.ts';
import { describeSystemError } from '../text/system-error.ts';

export interface AuditCommandOptions {
  readonly files: readonly string[];
  readonly kind?: string;
  readonly json?: boolean;
  readonly html?: string;
  readonly opensslVersion?: string;
  /** HOST:PORT targets to scan and compare with the configuration. */
  readonly scan?: readonly string[];
  /** SNI and certificate name for the scan (default: the host). */
  readonly servername?: string;
  /** Per-wait timeout of the scan (ms). */
  readonly timeout?: number;
}

export interface AuditIo {
  readonly stdout: { write(s: string): unknown };
}

/** At most limit + 1 bytes, so a huge file is refused without being read. */
async function readBounded(file: string, limit = MAX_INPUT_BYTES): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${describeSystemError(e)}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`cannot read ${file}: not a regular file`);
    if (info.size > limit) {
      if (limit < MAX_INPUT_BYTES) return new Uint8Array(limit + 1); // over what is left: the caller says so
      throw new UsageError(
        `${file}: ${info.size} bytes, over the ${MAX_INPUT_BYTES / 1024 / 1024} MiB limit: not a configuration file`,
      );
    }
    const buffer = new Uint8Array(Math.min(info.size, limit) + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) break;
    }
    return buffer.subarray(0, filled);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${file}: ${describeSystemError(e)}`);
  } finally {
    await handle.close();
  }
}

function kindOption(kind: string | undefined): InputKind | undefined {
  if (kind === undefined) return undefined;
  if ((INPUT_KINDS as readonly string[]).includes(kind)) return kind as InputKind;
  throw new UsageError(`--kind ${kind}: want one of ${INPUT_KINDS.join(', ')}`);
}

function assumptions(o: AuditCommandOptions): AuditAssumptions {
  if (o.opensslVersion === undefined) return DEFAULT_ASSUMPTIONS;
  const series = o.opensslVersion.startsWith('1.1') ? '1.1.1' : o.opensslVersion.startsWith('3') ? '3' : undefined;
  if (series === undefined)
    throw new UsageError(`--openssl-version ${o.opensslVersion}: want 1.1.1 or 3 (3.0 and later)`);
  return { ...DEFAULT_ASSUMPTIONS, openssl: series };
}

/** The disk as src/audit/includes.ts sees it. */
const DISK: IncludeFiles = {
  realpath: (p) => realpath(p).catch(() => undefined),
  isDirectory: (p) =>
    stat(p).then(
      (s) => s.isDirectory(),
      () => false,
    ),
  list: (dir) => readdir(dir).catch(() => []),
  read: (p, limit) => readBounded(p, limit),
};

/** Notes from following includes join the parser's own (every kind that follows includes has notes). */
function withIncludeNotes(p: ParsedInput, notes: Awaited<ReturnType<typeof expandIncludes>>['notes']): ParsedInput {
  if (notes.length === 0 || !('notes' in p)) return p;
  return { ...p, notes: [...notes, ...p.notes] } as ParsedInput;
}

export async function auditFiles(o: AuditCommandOptions): Promise<StackAudit[]> {
  if (o.files.length === 0) throw new UsageError('no file to audit: give one or more configuration files');
  const kind = kindOption(o.kind);
  const assume = assumptions(o);
  const inputs: ParsedInput[] = [];
  const included = new Map<string, readonly string[]>();
  for (const file of o.files) {
    const bytes = await readBounded(file);
    try {
      const decoded = decodeInput(bytes, kind);
      if (!followsIncludes(decoded.kind)) {
        inputs.push(parseDecoded(file, decoded));
        continue;
      }
      const expanded = await expandIncludes(decoded.kind, file, decoded.text, DISK);
      included.set(file, expanded.files);
      inputs.push(withIncludeNotes(parseDecoded(file, decoded, expanded.lines), expanded.notes));
    } catch (e) {
      if (e instanceof AuditInputError) throw new UsageError(`${file}: ${e.message}`);
      throw e;
    }
  }
  return judge(inputs, assume).map((a) => ({ ...a, files: a.files.flatMap((f) => included.get(f) ?? [f]) }));
}

/** `--scan`: each target scanned once, one after the other (a handful of servers at most). */
async function scanAll(o: AuditCommandOptions): Promise<ScanReport[]> {
  const reports: ScanReport[] = [];
  for (const t of o.scan ?? []) {
    let target;
    try {
      target = parseScanTarget(t, o.servername ? { serverName: o.servername } : {});
    } catch (e) {
      throw new UsageError(`--scan ${t}: ${(e as Error).message}`);
    }
    reports.push(
      await scanTarget(target, { ...DEFAULT_SCAN_OPTIONS, timeoutMs: o.timeout ?? DEFAULT_SCAN_OPTIONS.timeoutMs }),
    );
  }
  return reports;
}

export async function runAuditCommand(o: AuditCommandOptions, io: AuditIo): Promise<number> {
  let audits = await auditFiles(o);
  if (o.scan !== undefined && o.scan.length > 0) {
    const reports = await scanAll(o);
    audits = audits.map((a) => compareWithScans(a, reports));
  }
  if (o.html !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    const { auditHtml } = await import('../audit/html.ts');
    try {
      await writeFile(o.html, auditHtml(audits));
    } catch (e) {
      throw new UsageError(`cannot write --html ${o.html}: ${describeSystemError(e)}`);
    }
  }
  io.stdout.write(o.json ? audits.map((a) => JSON.stringify(a)).join('\n') + '\n' : formatAudits(audits));
  return auditExitCode(audits);
}

export function formatAudit(a: StackAudit): string {
  const out: string[] = [];
  const bad = a.vulnerabilities.length > 0 ? `VULNERABLE: ${a.vulnerabilities.join(', ')}` : 'no vulnerability';
  const breaks = a.findings.filter((f) => f.kind === 'breaks').length;
  out.push(`${STACK_TITLE[a.stack]}  ${bad}${breaks > 0 ? `; BREAKS ${breaks}` : ''}  (${a.files.join(', ')})`);
  for (const s of a.assumed) out.push(`  assumed: ${s}`);
  for (const v of a.verdicts) out.push(`  ${v.id.padEnd(18)} ${v.answer.padEnd(14)} ${v.reason}`);
  for (const m of a.measured ?? []) {
    out.push(`  measured by renego scan ${m.target}${m.error ? `: not scanned (${m.error})` : ''}`);
    for (const r of m.verdicts) {
      const flag = r.agreement === 'not-in-effect' ? 'NOT IN EFFECT' : r.agreement;
      out.push(`  ${r.id.padEnd(18)} configured ${r.configured.padEnd(14)} measured ${r.measured.padEnd(14)} ${flag}`);
    }
  }
  out.push('  settings');
  for (const s of a.settings) {
    out.push(`  ${s.name.padEnd(44)} ${s.value.padEnd(8)} ${s.source ? `${at(s.source)} (${s.origin})` : s.origin}`);
    out.push(`      does: ${s.does}`);
    out.push(`      protects against: ${s.protects}`);
    out.push(`      breaks: ${s.breaks}`);
    out.push(`      source: ${s.reference}`);
  }
  if (a.findings.length > 0) {
    out.push('  findings');
    for (const f of a.findings) {
      const where = f.sources.length > 0 ? ` (${f.sources.map(at).join(', ')})` : '';
      out.push(`  - ${f.kind}: ${f.text}${where}`);
    }
  }
  const d = a.decision;
  out.push(`  renegotiation needed here: ${d.renegotiationNeeded} (${d.why})`);
  d.steps.forEach((s, i) => out.push(`  ${i + 1}. ${s}`));
  for (const l of d.leave) out.push(`  leave: ${l}`);
  return out.join('\n') + '\n';
}

export function formatAudits(audits: readonly StackAudit[]): string {
  return audits.map(formatAudit).join('\n');
}
