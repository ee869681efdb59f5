/**
 * The GnuTLS judge. Sources (renegotiation-knobs-and-attacks.md §2, gnutls doc/cha-gtls-app.texi):
 * - %PARTIAL_RENEGOTIATION, the default for client and server: initial handshakes without
 *   RFC 5746 proceed, re-handshakes with such peers are refused.
 * - %SAFE_RENEGOTIATION: peers without RFC 5746 are refused outright.
 * - %UNSAFE_RENEGOTIATION: handshakes and re-handshakes without the extension (CVE-2009-3555).
 * - %DISABLE_SAFE_RENEGOTIATION: no RFC 5746 at all ("debugging and test purposes").
 * - No keyword turns renegotiation off (gnutls#1252): whether a server answers a client's
 *   re-handshake (GNUTLS_E_REHANDSHAKE) is the application's choice; gnutls-serv does.
 */
import { at, CVE_2009_3555, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { Finding, GnutlsKeyword, GnutlsPriority, SettingReport, StackAudit } from './types.ts';

const TEXT: Record<GnutlsKeyword, Omit<SettingReport, 'name' | 'value' | 'source' | 'origin' | 'reference'>> = {
  '%PARTIAL_RENEGOTIATION': {
    does: 'peers without RFC 5746 may connect, but never renegotiate',
    protects: `${CVE_2009_3555} (no insecure renegotiation)`,
    breaks: 'renegotiation with unpatched (pre-2010) peers',
  },
  '%SAFE_RENEGOTIATION': {
    does: 'strict RFC 5746: peers without it are refused, even at the initial handshake',
    protects: `${CVE_2009_3555}, for this end and its peers`,
    breaks: 'every connection with a peer without RFC 5746',
  },
  '%UNSAFE_RENEGOTIATION': {
    does: 'handshakes and re-handshakes without RFC 5746 are allowed',
    protects: `nothing: it opens ${CVE_2009_3555}`,
    breaks: 'nothing',
  },
  '%DISABLE_SAFE_RENEGOTIATION': {
    does: 'RFC 5746 is not used at all (for debugging and tests)',
    protects: `nothing: every renegotiation is insecure (${CVE_2009_3555})`,
    breaks: 'peers that require RFC 5746 (strict servers and clients)',
  },
};

const ASSUMED = 'GnuTLS 3.x: %PARTIAL_RENEGOTIATION when a priority string has no renegotiation keyword';

export function judgeGnutls(p: GnutlsPriority): StackAudit {
  const findings: Finding[] = p.notes.map((n) =>
    finding(/system-wide/.test(n.message) ? 'warning' : 'unreadable', n.message, [n.source]),
  );
  const settings: SettingReport[] = [];
  for (const s of p.strings) {
    // The last renegotiation keyword in a string is the one gnutls_priority_init keeps.
    const k = s.keywords.at(-1);
    const key: GnutlsKeyword = k ?? '%PARTIAL_RENEGOTIATION';
    if (s.keywords.length > 1)
      findings.push(
        finding(
          'warning',
          `several renegotiation keywords in one string (${s.keywords.join(', ')}): the last one counts`,
          [s.source],
        ),
      );
    settings.push({
      name: `priority ${s.text}`,
      value: key,
      source: k ? s.source : undefined,
      origin: k ? 'set' : `default (${ASSUMED}); string at ${at(s.source)}`,
      ...TEXT[key],
      reference: 'GnuTLS manual, priority strings (doc/cha-gtls-app.texi)',
    });
  }
  const worst = settings.find((s) => s.value === '%UNSAFE_RENEGOTIATION' || s.value === '%DISABLE_SAFE_RENEGOTIATION');
  const evidence = settings.map(evidenceOf);
  const verdicts = [
    worst
      ? verdict(
          'CVE-2009-3555',
          'yes',
          `${worst.value} (${at(worst.source)}): ${worst.does}; any renegotiation the application answers or starts is open to prefix injection`,
          evidence,
        )
      : verdict('CVE-2009-3555', 'no', 'RFC 5746 is used and renegotiation with peers without it is refused', evidence),
    verdict(
      'CVE-2011-1473',
      'could-not-test',
      'GnuTLS has no switch for it (gnutls#1252): the application decides whether it answers a client re-handshake (gnutls-serv does)',
      evidence,
    ),
    verdict(
      'triple-handshake',
      'could-not-test',
      'not decided by the renegotiation keywords (GnuTLS negotiates the extended master secret since 3.4)',
    ),
    verdict('no-renegotiation', 'could-not-test', 'GnuTLS cannot switch renegotiation off: the application decides'),
  ];
  if (worst) findings.push(finding('vulnerable', verdicts[0]!.reason, [worst.source]));
  for (const s of settings.filter((x) => x.value === '%SAFE_RENEGOTIATION')) {
    findings.push(
      finding('costs', `%SAFE_RENEGOTIATION refuses peers without RFC 5746 even for the initial handshake`, [s.source]),
    );
  }
  const steps: string[] = [];
  if (worst)
    steps.push(
      `Replace ${worst.value} with %PARTIAL_RENEGOTIATION (or drop it: that is the default); unpatched peers keep connecting, they only cannot renegotiate`,
    );
  steps.push('Once every peer supports RFC 5746 (patched since 2010), %SAFE_RENEGOTIATION refuses the rest outright');
  steps.push(
    'To stop renegotiation entirely, the application must not call gnutls_rehandshake and must refuse GNUTLS_E_REHANDSHAKE (no priority keyword does it)',
  );
  return {
    stack: 'gnutls',
    files: [p.file],
    assumed: [ASSUMED],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: 'unknown',
      why: 'GnuTLS renegotiates only when the application asks or answers: the priority string cannot tell',
      steps,
      leave: ['%PARTIAL_RENEGOTIATION: the safe default while unpatched peers must still connect'],
    },
  };
}
