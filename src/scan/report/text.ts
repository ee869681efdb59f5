/**
 * Human output: one compact block per target, the verdict first, then a table
 * of checks. Colours only on a TTY and never with NO_COLOR set.
 */
import { wrap } from '../../text/terminal.ts';
import { findingsOf } from '../verdict.ts';
import type { ClientInitiatedResult, ScanReport, ServerInitiatedPath, Tri, Verdict } from '../types.ts';

export interface Paint {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const ESC = (code: string) => (s: string) => `\u001b[${code}m${s}\u001b[0m`;
export const PLAIN: Paint = { red: (s) => s, green: (s) => s, yellow: (s) => s, dim: (s) => s, bold: (s) => s };
const ANSI: Paint = { red: ESC('31'), green: ESC('32'), yellow: ESC('33'), dim: ESC('2'), bold: ESC('1') };

/** Colours when the stream is a terminal and NO_COLOR is unset (https://no-color.org). */
export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  return stream.isTTY === true && !noColor ? ANSI : PLAIN;
}

function tri(p: Paint, v: Tri, goodWhen: boolean | undefined = undefined, reason?: string): string {
  if (v === null) return p.yellow(`could not test${reason ? ` (${reason})` : ''}`);
  const text = v ? 'yes' : 'no';
  if (goodWhen === undefined) return text;
  return v === goodWhen ? p.green(text) : p.red(text);
}

function answer(p: Paint, v: Verdict): string {
  const pad = v.answer.padEnd(ANSWER);
  if (v.id === 'no-renegotiation') return v.answer === 'yes' ? p.green(pad) : v.answer === 'no' ? pad : p.yellow(pad);
  switch (v.answer) {
    case 'yes':
      return p.red(p.bold(pad));
    case 'no':
      return p.green(pad);
    case 'limited':
      return p.yellow(pad);
    case 'could-not-test':
      return p.yellow(pad);
  }
}

function outcome(p: Paint, r: ClientInitiatedResult, dangerous: boolean): string {
  if (r.outcome === 'not-tested') return p.dim(`not tested (${r.reason})`);
  const extra = [
    r.alert,
    r.nudged ? 'after a nudge request' : '',
    r.dataFlows === undefined
      ? ''
      : `data ${r.dataFlows === null ? 'unknown' : r.dataFlows ? 'still flows' : 'stopped'}`,
  ]
    .filter(Boolean)
    .join(', ');
  const text = `${r.outcome}${extra ? ` (${extra})` : ''}`;
  return r.outcome === 'completed' ? (dangerous ? p.red(text) : p.yellow(text)) : text;
}

function pathLine(p: Paint, s: ServerInitiatedPath): string {
  if (s.renegotiates === null) return p.yellow(`could not test (${s.reason ?? 'unknown'})`);
  if (!s.renegotiates) return `no renegotiation${s.status ? ` (${s.status})` : ''}`;
  const parts = ['renegotiates'];
  if (s.requestsClientCert)
    parts.push(
      `asks for a client certificate${s.certificateAuthorities.length > 0 ? ` (CA: ${s.certificateAuthorities.join('; ')})` : ''}`,
    );
  if (s.withoutCertificate) parts.push(`without one: ${s.withoutCertificate}`);
  if (s.insecure) parts.push(p.red('INSECURE (no RFC 5746)'));
  if (s.enforced === false) parts.push(p.red('goes ahead with a bad renegotiation_info'));
  return parts.join(', ');
}

const LABEL = 30;
const VERDICT_ID = 18;
const ANSWER = 14;

/** The report of one target in `width` columns (80 when piped): long values wrap under themselves. */
export function formatText(r: ScanReport, p: Paint, width = 80): string {
  const lines: string[] = [];
  const push = (line: string, indent: number): void => void lines.push(...wrap(line, width, '', ' '.repeat(indent)));
  const row = (label: string, value: string): void => push(`  ${label.padEnd(LABEL)} ${value}`, LABEL + 3);
  const head = p.bold(r.target);
  if (!r.ok) {
    push(`${head}  ${p.yellow(`NOT SCANNED (${r.reachability})`)}: ${r.error ?? 'unknown error'}`, 4);
    return lines.join('\n');
  }
  const status =
    r.vulnerabilities.length > 0
      ? p.red(p.bold(`VULNERABLE: ${r.vulnerabilities.join(', ')}`))
      : r.verdicts.some((v) => v.answer === 'could-not-test' && v.id !== 'no-renegotiation')
        ? p.yellow('nothing found, some checks could not run')
        : p.green('nothing found');
  push(
    `${head}  ${status}  ${p.dim(`(${r.timings.totalMs} ms${r.address && r.address !== r.host ? `, ${r.address}` : ''})`)}`,
    4,
  );
  for (const v of r.verdicts) push(`  ${v.id.padEnd(VERDICT_ID)} ${answer(p, v)} ${v.reason}`, VERDICT_ID + ANSWER + 4);
  const v = r.versions;
  const versions = (['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const)
    .map((k) => `${k} ${v[k] === null ? '?' : v[k] ? 'yes' : 'no'}`)
    .join('  ');
  lines.push(p.dim('  check'));
  row('protocol versions', versions);
  if (r.baseline)
    row(
      'handshake used',
      `${r.baseline.version} ${r.baseline.cipher}${r.baseline.initialCertificateRequest ? ', client certificate asked for up front' : ''}`,
    );
  const sr = r.secureRenegotiation;
  row(
    'RFC 5746 extension / SCSV',
    `${tri(p, sr.extension, true, sr.reasons.extension && sr.extension === null ? sr.reasons.extension : undefined)} / ${tri(p, sr.scsv, true, sr.reasons.scsv)}`,
  );
  row('RFC 5746 required', tri(p, sr.required, undefined, sr.reasons.required));
  row('RFC 5746 enforced', tri(p, sr.enforced, true, sr.reasons.enforced));
  row('client-initiated, secure', outcome(p, r.clientInitiated.details.secure, false));
  row('client-initiated, insecure', outcome(p, r.clientInitiated.details.insecure, true));
  const d = r.dos;
  // The worst findings are red like the RFC 5746 rows: an unlimited run, a glued split request.
  const run =
    d.accepted === null
      ? p.yellow(`could not test (${d.reason ?? 'unknown'})`)
      : d.accepted >= d.max && !d.stoppedBy
        ? p.red(`${d.accepted}/${d.max}${d.ratePerSecond !== null ? ` at ${d.ratePerSecond}/s` : ''}, no limit met`)
        : `${d.accepted}/${d.max}${d.ratePerSecond !== null ? ` at ${d.ratePerSecond}/s` : ''}${d.stoppedBy ? `, then ${d.stoppedBy}` : ''}`;
  row('renegotiations in a row', run);
  const split = r.clientInitiated.split;
  row(
    'split request glued',
    split.glued === null
      ? p.dim(`not tested (${split.reason ?? 'unknown'})`)
      : split.glued
        ? p.red(`yes (over ${split.over} renegotiation)`)
        : p.green(`no (over ${split.over} renegotiation)`),
  );
  for (const s of r.serverInitiated) row(`server-initiated ${s.path}`, pathLine(p, s));
  row('extended master secret', tri(p, r.extendedMasterSecret, true));
  row(
    'certificate change',
    r.certificateChange === null ? p.dim('no renegotiation completed') : r.certificateChange ? p.yellow('yes') : 'no',
  );
  if (r.advice.length > 0) {
    lines.push(p.dim('  advice'));
    for (const a of r.advice) push(`  - ${a}`, 4);
  }
  return lines.join('\n');
}

/**
 * `--quiet`: the findings only, worst first, one line each under the target;
 * nothing for a target without findings.
 */
export function formatFindings(r: ScanReport, p: Paint, width = 80): string {
  const found = findingsOf(r.verdicts);
  if (found.length === 0) return '';
  const lines = [p.bold(r.target)];
  for (const { verdict, severity } of found) {
    const sev = severity === 'high' ? p.red(p.bold(severity.padEnd(6))) : p.yellow(severity.padEnd(6));
    lines.push(...wrap(`  ${sev} ${verdict.id.padEnd(VERDICT_ID)} ${verdict.reason}`, width, '', ' '.repeat(28)));
  }
  return lines.join('\n');
}
