/**
 * Small builders shared by every stack's rules, so each verdict reads like the scanner's
 * (src/scan/verdict.ts): the same ids, titles and answers, with the settings as evidence.
 */
import type { Answer, Verdict, VerdictId } from '../scan/types.ts';
import type { Finding, FindingKind, SettingReport, Source } from './types.ts';

export const TITLES: Record<VerdictId, string> = {
  'CVE-2009-3555': 'Insecure renegotiation: plaintext prefix injection (CVE-2009-3555)',
  'CVE-2011-1473': 'Client-initiated renegotiation DoS (CVE-2011-1473)',
  'triple-handshake': 'Triple handshake: renegotiation without the extended master secret (RFC 7627)',
  'no-renegotiation': 'No renegotiation possible',
};

export function verdict(id: VerdictId, answer: Answer | 'limited', reason: string, evidence: string[] = []): Verdict {
  return { id, title: TITLES[id], answer, reason, evidence };
}

/** The vulnerabilities a stack's verdicts establish ("no renegotiation" is a property, not one). */
export function vulnerabilitiesOf(verdicts: readonly Verdict[]): string[] {
  return verdicts.filter((v) => v.answer === 'yes' && v.id !== 'no-renegotiation').map((v) => v.id);
}

export function finding(kind: FindingKind, text: string, sources: readonly (Source | undefined)[] = []): Finding {
  return { kind, text, sources: sources.filter((s): s is Source => s !== undefined) };
}

/** "file:line" for messages and evidence. */
export function at(source: Source | undefined): string {
  return source === undefined ? 'default' : `${source.file}:${source.line}`;
}

/** Evidence line for one setting: `Name = value (file:line)` or `(default …)`. */
export function evidenceOf(s: SettingReport): string {
  return `${s.name} = ${s.value} (${s.source ? at(s.source) : s.origin})`;
}

export const CVE_2009_3555 = 'CVE-2009-3555 (plaintext prefix injection by renegotiation)';
export const CVE_2011_1473 = 'CVE-2011-1473 (client-initiated renegotiation DoS)';
