/**
 * `renego audit FILE…`: configuration in, verdicts and advice out, offline. Reads each file with
 * a size bound, hands the bytes to the pure parsers and the judge (src/audit/), prints text or
 * JSON, and returns the exit code (0 nothing found, 1 vulnerable or breaking, 2 unreadable).
 */
import { open } from 'node:fs/promises';
import { auditExitCode, DEFAULT_ASSUMPTIONS, judge, type AuditAssumptions } from '../audit/judge.ts';
import { AuditInputError, MAX_INPUT_BYTES } from '../audit/input.ts';
import { parseInput } from '../audit/parse.ts';
import { INPUT_KINDS, type InputKind, type ParsedInput, type StackAudit } from '../audit/types.ts';
import { at } from '../audit/findings.ts';
import { describeSystemError, UsageError } from './usage.ts';

export interface AuditCommandOptions {
  readonly files: readonly string[];
  readonly kind?: string;
  readonly json?: boolean;
  readonly html?: string;
  readonly opensslVersion?: string;
}

export interface AuditIo {
  readonly stdout: { write(s: string): unknown };
}

/** At most MAX_INPUT_BYTES + 1 bytes, so a huge file is refused without being read. */
async function readBounded(file: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${describeSystemError(e)}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`cannot read ${file}: not a regular file`);
    if (info.size > MAX_INPUT_BYTES) {
      throw new UsageError(
        `${file}: ${info.size} bytes, over the ${MAX_INPUT_BYTES / 1024 / 1024} MiB limit: not a configuration file`,
      );
    }
    const buffer = new Uint8Array(MAX_INPUT_BYTES + 1);
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

export async function auditFiles(o: AuditCommandOptions): Promise<StackAudit[]> {
  if (o.files.length === 0) throw new UsageError('no file to audit: give one or more configuration files');
  const kind = kindOption(o.kind);
  const assume = assumptions(o);
  const inputs: ParsedInput[] = [];
  for (const file of o.files) {
    const bytes = await readBounded(file);
    try {
      inputs.push(parseInput(file, bytes, kind));
    } catch (e) {
      if (e instanceof AuditInputError) throw new UsageError(`${file}: ${e.message}`);
      throw e;
    }
  }
  return judge(inputs, assume);
}

export async function runAuditCommand(o: AuditCommandOptions, io: AuditIo): Promise<number> {
  const audits = await auditFiles(o);
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

const LABEL: Record<StackAudit['stack'], string> = {
  schannel: 'Windows SChannel / HTTP.sys / IIS',
  openssl: 'OpenSSL',
  gnutls: 'GnuTLS',
  java: 'Java JSSE',
  apache: 'Apache httpd mod_ssl',
};

export function formatAudit(a: StackAudit): string {
  const out: string[] = [];
  const bad = a.vulnerabilities.length > 0 ? `VULNERABLE: ${a.vulnerabilities.join(', ')}` : 'no vulnerability';
  const breaks = a.findings.filter((f) => f.kind === 'breaks').length;
  out.push(`${LABEL[a.stack]}  ${bad}${breaks > 0 ? `; BREAKS ${breaks}` : ''}  (${a.files.join(', ')})`);
  for (const s of a.assumed) out.push(`  assumed: ${s}`);
  for (const v of a.verdicts) out.push(`  ${v.id.padEnd(18)} ${v.answer.padEnd(14)} ${v.reason}`);
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
