/**
 * The configured beside the measured: one StackAudit and the scanner's reports of the servers it
 * configures (`renego audit FILE --scan HOST:PORT`). Where the scan measured renegotiation more
 * open than the configuration allows (an attack it rules out, a limit the scan did not meet), the
 * setting is not in effect (another file, a default of another version, an application that
 * overrides it): the verdict becomes the measured one, so the audit never answers "no" where the
 * scan measured "yes", and the disagreement is a finding.
 */
import type { Answer, ScanReport, Verdict, VerdictId } from '../scan/types.ts';
import { finding, vulnerabilitiesOf } from './findings.ts';
import type { ComparedVerdict, Finding, ScanComparison, StackAudit } from './types.ts';

const COMPARED: readonly VerdictId[] = ['CVE-2009-3555', 'CVE-2011-1473', 'triple-handshake', 'no-renegotiation'];

type AnyAnswer = Answer | 'limited';

/**
 * How open renegotiation is, per answer: for the attacks "no" < "limited" < "yes"; for
 * no-renegotiation a measured "no" (a renegotiation completed) is the open one.
 */
function openness(id: VerdictId, a: AnyAnswer): number {
  if (id === 'no-renegotiation') return a === 'no' ? 1 : 0;
  return a === 'yes' ? 2 : a === 'limited' ? 1 : 0;
}

export function agreement(
  id: VerdictId,
  configured: AnyAnswer | undefined,
  measured: AnyAnswer | undefined,
): ComparedVerdict['agreement'] {
  if (
    configured === undefined ||
    measured === undefined ||
    configured === 'could-not-test' ||
    measured === 'could-not-test'
  ) {
    return 'cannot-tell';
  }
  if (configured === measured) return 'agree';
  // More open on the wire than in the file (including a limit the scan did not meet): not in effect.
  return openness(id, measured) > openness(id, configured) ? 'not-in-effect' : 'differs';
}

export function compareWithScans(a: StackAudit, reports: readonly ScanReport[]): StackAudit {
  const verdicts: Verdict[] = a.verdicts.map((v) => ({ ...v, evidence: [...v.evidence] }));
  const findings: Finding[] = [...a.findings];
  const measured: ScanComparison[] = [];
  for (const r of reports) {
    if (!r.ok) {
      measured.push({ target: r.target, error: r.error ?? 'not scanned', verdicts: [] });
      findings.push(
        finding('warning', `renego scan ${r.target}: ${r.error ?? 'not scanned'}; nothing measured to compare`),
      );
      continue;
    }
    const rows: ComparedVerdict[] = [];
    for (const id of COMPARED) {
      const mine = a.verdicts.find((v) => v.id === id);
      const theirs = r.verdicts.find((v) => v.id === id);
      const row: ComparedVerdict = {
        id,
        configured: mine?.answer ?? 'not judged',
        measured: theirs?.answer ?? 'not measured',
        agreement: agreement(id, mine?.answer, theirs?.answer),
      };
      rows.push(row);
      if (row.agreement === 'not-in-effect' && theirs !== undefined) {
        const i = verdicts.findIndex((v) => v.id === id);
        const replaced: Verdict = {
          ...theirs,
          reason: `measured by renego scan of ${r.target}: ${theirs.reason}; the configuration says ${row.configured} (${mine?.reason ?? ''}): a setting is not in effect`,
          evidence: [...(mine?.evidence ?? []), ...theirs.evidence.map((e) => `scan ${r.target}: ${e}`)],
        };
        if (i >= 0) verdicts[i] = replaced;
        else verdicts.push(replaced);
        findings.push(
          finding(
            'disagrees',
            `${id}: configured ${row.configured}, measured ${row.measured} on ${r.target} (${theirs.reason}): a setting is not in effect; look for another file, an override in the application, or a different product version`,
          ),
        );
      } else if (row.agreement === 'differs') {
        findings.push(
          finding(
            'warning',
            `${id}: configured ${row.configured}, measured ${row.measured} on ${r.target} (${theirs?.reason ?? ''}); the scan measured less than the configuration allows: a scanner cannot make a server start a renegotiation, and the file may configure more than this port`,
          ),
        );
      }
    }
    measured.push({ target: r.target, error: undefined, verdicts: rows });
  }
  return { ...a, verdicts, vulnerabilities: vulnerabilitiesOf(verdicts), findings, measured };
}
