/**
 * The Apache mod_ssl judge. Sources (hosts-and-fleets.md "Other stacks' switches";
 * renegotiation-knobs-and-attacks.md §1.3, §3, §4.1):
 * - SSLInsecureRenegotiation on|off (2.2.15+, with OpenSSL 0.9.8m+), default off; on lets clients
 *   without RFC 5746 renegotiate (CVE-2009-3555).
 * - SSLVerifyClient inside <Location>/<Directory> makes mod_ssl renegotiate for the client
 *   certificate under TLS 1.2 (TLS 1.3 uses post-handshake authentication, which mainstream
 *   browsers do not offer); so does a per-directory SSLCipherSuite (Ray–Dispensa scenario c).
 * - Apache refuses client-initiated renegotiation since it gained RFC 5746 (Qualys 2011).
 * - SSLOpenSSLConfCmd Options passes OpenSSL flags (UnsafeLegacyRenegotiation, NoRenegotiation).
 */
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { ApacheConf, ApacheDirective, Finding, SettingReport, StackAudit } from './types.ts';

const ASSUMED =
  'Apache httpd 2.2.15 or later with OpenSSL 0.9.8m or later (RFC 5746): SSLInsecureRenegotiation off, SSLVerifyClient none';
const STRENGTH: Record<string, number> = { none: 0, optional: 1, optional_no_ca: 1, require: 2 };

function strength(d: ApacheDirective | undefined): number {
  return d === undefined ? 0 : (STRENGTH[(d.args[0] ?? 'none').toLowerCase()] ?? 0);
}

function optionsFlag(d: ApacheDirective, flag: string): boolean | undefined {
  if (d.name !== 'SSLOpenSSLConfCmd' || d.args[0]?.toLowerCase() !== 'options') return undefined;
  const items = d.args
    .slice(1)
    .join(' ')
    .split(',')
    .map((x) => x.trim().toLowerCase());
  if (items.includes(flag.toLowerCase())) return true;
  if (items.includes(`-${flag.toLowerCase()}`)) return false;
  return undefined;
}

export function judgeApache(c: ApacheConf): StackAudit {
  const findings: Finding[] = c.notes.map((n) =>
    finding(/not followed/.test(n.message) ? 'warning' : 'unreadable', n.message, [n.source]),
  );
  const last = (name: ApacheDirective['name']) =>
    c.directives.filter((d) => d.name === name && d.context !== 'directory').at(-1);
  const insecureDirective = c.directives.filter((d) => d.name === 'SSLInsecureRenegotiation').at(-1);
  const unsafeFlag = c.directives.filter((d) => optionsFlag(d, 'UnsafeLegacyRenegotiation') !== undefined).at(-1);
  const noRenegFlag = c.directives.filter((d) => optionsFlag(d, 'NoRenegotiation') !== undefined).at(-1);
  const insecure =
    insecureDirective?.args[0]?.toLowerCase() === 'on' ||
    (unsafeFlag !== undefined && optionsFlag(unsafeFlag, 'UnsafeLegacyRenegotiation') === true);
  const off = noRenegFlag !== undefined && optionsFlag(noRenegFlag, 'NoRenegotiation') === true;
  // A per-directory SSLVerifyClient stronger than its host's, or a per-directory SSLCipherSuite, renegotiates.
  const triggers = c.directives.filter((d) => {
    if (d.context !== 'directory') return false;
    if (d.name === 'SSLCipherSuite') return true;
    if (d.name !== 'SSLVerifyClient') return false;
    const host = c.directives
      .filter(
        (h) =>
          h.name === 'SSLVerifyClient' &&
          h.context !== 'directory' &&
          (h.virtualHost === d.virtualHost || h.context === 'server'),
      )
      .at(-1);
    return strength(d) > strength(host);
  });
  const includes = c.notes.some((n) => /not followed/.test(n.message));
  const setting = (
    name: string,
    d: ApacheDirective | undefined,
    fallback: string,
    t: Pick<SettingReport, 'does' | 'protects' | 'breaks'>,
  ): SettingReport => ({
    name,
    value: d ? d.args.join(' ') : fallback,
    source: d?.source,
    origin: d ? `set in ${d.where}` : `default (${ASSUMED.split(':')[0]})`,
    ...t,
    reference: 'Apache mod_ssl documentation; hosts-and-fleets.md',
  });
  const settings: SettingReport[] = [
    setting('SSLInsecureRenegotiation', insecureDirective, 'off', {
      does: 'on: clients without RFC 5746 may renegotiate',
      protects: `off: ${CVE_2009_3555}`,
      breaks: 'off: renegotiation for unpatched (pre-2010) clients; they still connect',
    }),
    setting('SSLVerifyClient (host level)', last('SSLVerifyClient'), 'none', {
      does: 'asks for the client certificate in the initial handshake',
      protects: 'the need to renegotiate for it',
      breaks: 'require: clients without a certificate cannot connect to any path of the host',
    }),
    ...triggers.map((d) =>
      setting(`${d.name} in ${d.where}`, d, '', {
        does:
          d.name === 'SSLVerifyClient'
            ? 'asks for a client certificate by renegotiation when this path is requested (TLS 1.2)'
            : 'changes the cipher suites by renegotiation when this path is requested',
        protects: 'nothing; it is what makes mod_ssl renegotiate',
        breaks:
          'under NoRenegotiation or SChannel-style renegotiation bans: this path; under TLS 1.3: browsers without post-handshake authentication',
      }),
    ),
  ];
  const evidence = settings.map(evidenceOf);
  const needed = triggers.length > 0 ? 'yes' : includes ? 'unknown' : 'no';
  const why =
    triggers.length > 0
      ? `mod_ssl renegotiates for ${triggers.map((d) => `${d.name} ${d.args.join(' ')} in ${d.where} (${at(d.source)})`).join('; ')}`
      : includes
        ? 'no per-directory SSLVerifyClient or SSLCipherSuite in this file, but included files were not read'
        : 'no per-directory SSLVerifyClient or SSLCipherSuite: mod_ssl never renegotiates, and it refuses client-initiated renegotiation';
  const verdicts = [
    off
      ? verdict(
          'CVE-2009-3555',
          'no',
          `SSLOpenSSLConfCmd Options NoRenegotiation (${at(noRenegFlag?.source)})`,
          evidence,
        )
      : insecure && needed !== 'no'
        ? verdict(
            'CVE-2009-3555',
            'yes',
            `insecure renegotiation allowed (${at((insecureDirective ?? unsafeFlag)?.source)}) and ${why}`,
            evidence,
          )
        : insecure
          ? verdict(
              'CVE-2009-3555',
              'no',
              `insecure renegotiation is allowed (${at((insecureDirective ?? unsafeFlag)?.source)}) but nothing makes mod_ssl renegotiate: ${why}; remove it anyway`,
              evidence,
            )
          : verdict('CVE-2009-3555', 'no', 'RFC 5746 is enforced: clients without it never renegotiate', evidence),
    verdict(
      'CVE-2011-1473',
      'no',
      `mod_ssl refuses client-initiated renegotiation (since 2.2.15; Qualys 2011)`,
      evidence,
    ),
    verdict(
      'triple-handshake',
      off || needed === 'no' ? 'no' : 'could-not-test',
      off || needed === 'no'
        ? 'no renegotiation takes place, so the attack has nothing to ride on'
        : 'depends on the OpenSSL under Apache (extended master secret since 1.1.0)',
    ),
    verdict(
      'no-renegotiation',
      off ? 'yes' : needed === 'yes' ? 'no' : needed === 'no' ? 'yes' : 'could-not-test',
      off ? 'NoRenegotiation is set' : why,
    ),
  ];
  if (verdicts[0]!.answer === 'yes')
    findings.push(
      finding('vulnerable', verdicts[0]!.reason, [
        (insecureDirective ?? unsafeFlag)?.source,
        ...triggers.map((d) => d.source),
      ]),
    );
  if (off) {
    for (const d of triggers) {
      findings.push(
        finding(
          'breaks',
          `NoRenegotiation breaks ${d.where}: ${d.name} ${d.args.join(' ')} there needs a renegotiation under TLS 1.2`,
          [noRenegFlag?.source, d.source],
        ),
      );
    }
  }
  if (triggers.some((d) => d.name === 'SSLVerifyClient')) {
    findings.push(
      finding(
        'costs',
        'under TLS 1.3 a per-directory SSLVerifyClient needs post-handshake authentication, which mainstream browsers do not offer',
        triggers.map((d) => d.source),
      ),
    );
  }
  const steps: string[] = [];
  if (triggers.length > 0) {
    steps.push(
      'Ask for client certificates in the initial handshake first: SSLVerifyClient optional at the <VirtualHost> level, and in the <Location> `Require expr %{SSL_CLIENT_VERIFY} == "SUCCESS"` instead of a per-directory SSLVerifyClient; move per-directory SSLCipherSuite to the host',
    );
  }
  if (insecure)
    steps.push(
      'Set SSLInsecureRenegotiation off (and drop UnsafeLegacyRenegotiation from SSLOpenSSLConfCmd): unpatched clients keep connecting, they only cannot renegotiate',
    );
  if (!off)
    steps.push(`Then, with nothing left that renegotiates: SSLOpenSSLConfCmd Options NoRenegotiation (OpenSSL 1.1.1+)`);
  return {
    stack: 'apache',
    files: [c.file],
    assumed: [ASSUMED],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: needed,
      why,
      steps,
      leave: [
        `SSLInsecureRenegotiation off (${CVE_2011_1473} needs no switch: mod_ssl refuses client-initiated renegotiation)`,
      ],
    },
  };
}
