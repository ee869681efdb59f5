/**
 * The configured beside the measured: one StackAudit and the scanner's reports of the servers it
 * configures (`renego audit FILE --scan HOST:PORT`). Where the scan measured an attack the
 * configuration rules out, the setting is not in effect (another file, a default of another
 * version, an application that overrides it): the verdict becomes the measured one, so the
 * audit never answers "no" where the scan measured "yes", and the disagreement is a finding.
 */
import type { Answer, ScanReport, Verdict, VerdictId } from '../scan/types.ts';
import { finding, vulnerabilitiesOf } from './findings.ts';
import type { ComparedVerdict, Finding, ScanComparison, StackAudit } from './types.ts';

const COMPARED: readonly VerdictId[] = ['CVE-2009-3555', 'CVE-2011-1473', 'triple-handshake', 'no-renegotiation'];

type AnyAnswer = Answer | 'limited';

/** "Renegotiation is open" for the attacks; for no-renegotiation the measured "no" is the open one. */
function open(id: VerdictId, a: AnyAnswer | undefined): boolean {
  return id === 'no-renegotiation' ? a === 'no' : a === 'yes' || a === 'limited';
}

function closed(id: VerdictId, a: AnyAnswer | undefined): boolean {
  return id === 'no-renegotiation' ? a === 'yes' : a === 'no';
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
  if (closed(id, configured) && open(id, measured)) return 'not-in-effect';
  return 'differs';
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
            `${id}: configured ${row.configured}, measured ${row.measured} on ${r.target} (${theirs?.reason ?? ''}); the scan cannot make the server start a renegotiation, and the file may configure more than this port`,
          ),
        );
      }
    }
    measured.push({ target: r.target, error: undefined, verdicts: rows });
  }
  return { ...a, verdicts, vulnerabilities: vulnerabilitiesOf(verdicts), findings, measured };
}
