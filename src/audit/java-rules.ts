/**
 * The Java (JSSE) judge. Sources (renegotiation-knobs-and-attacks.md §2, OpenJDK
 * sun/security/ssl/HandshakeContext.java, ServerHandshakeContext.java), JDK 6u22 and later:
 * - sun.security.ssl.allowUnsafeRenegotiation, default false: true allows insecure legacy
 *   renegotiation (CVE-2009-3555).
 * - sun.security.ssl.allowLegacyHelloMessages, default true: hellos without RFC 5746 accepted;
 *   false is strict RFC 5746 (handshake_failure for them).
 * - jdk.tls.rejectClientInitiatedRenegotiation, default false: true makes servers reject every
 *   client-initiated renegotiation (CVE-2011-1473).
 */
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { Finding, JavaProperties, JavaProperty, SettingReport, Source, StackAudit } from './types.ts';

const ASSUMED =
  'JDK 6u22 or later (RFC 5746): allowUnsafeRenegotiation=false, allowLegacyHelloMessages=true, rejectClientInitiatedRenegotiation=false';

const TEXT: Record<JavaProperty, { fallback: boolean } & Pick<SettingReport, 'does' | 'protects' | 'breaks'>> = {
  'sun.security.ssl.allowUnsafeRenegotiation': {
    fallback: false,
    does: 'true: renegotiate with peers without RFC 5746',
    protects: `false: ${CVE_2009_3555}`,
    breaks: 'false: renegotiation with unpatched (pre-2010) peers',
  },
  'sun.security.ssl.allowLegacyHelloMessages': {
    fallback: true,
    does: 'true: accept hellos without RFC 5746 (no renegotiation with those peers); false: strict RFC 5746',
    protects: `false: ${CVE_2009_3555} against unpatched peers, refused outright`,
    breaks: 'false: every connection with a peer without RFC 5746 (handshake_failure)',
  },
  'jdk.tls.rejectClientInitiatedRenegotiation': {
    fallback: false,
    does: 'true: servers reject every renegotiation the client starts',
    protects: `true: ${CVE_2011_1473}`,
    breaks: 'true: clients that renegotiate on their own',
  },
};

export function judgeJava(p: JavaProperties): StackAudit {
  const findings: Finding[] = p.notes.map((n) => finding('warning', n.message, [n.source]));
  const value = new Map<JavaProperty, { on: boolean; source: Source | undefined; raw: string | undefined }>();
  const settings: SettingReport[] = [];
  for (const name of Object.keys(TEXT) as JavaProperty[]) {
    const t = TEXT[name];
    const last = p.settings.filter((s) => s.name === name).at(-1);
    const ignored = p.notes.some((n) => n.source.line === last?.source.line);
    let on = t.fallback;
    let origin = `default ${t.fallback} (${ASSUMED.split(':')[0]})`;
    if (last && !ignored) {
      const v = last.value.toLowerCase();
      if (v === 'true' || v === 'false') {
        on = v === 'true';
        origin = 'set';
      } else {
        origin = `"${last.value}" is neither true nor false: default ${t.fallback} assumed`;
        findings.push(
          finding('warning', `${name}=${last.value}: not true or false; the audit assumed the default ${t.fallback}`, [
            last.source,
          ]),
        );
      }
    }
    value.set(name, { on, source: last?.source, raw: last?.value });
    settings.push({
      name,
      value: String(on),
      source: last?.source,
      origin,
      does: t.does,
      protects: t.protects,
      breaks: t.breaks,
      reference: 'OpenJDK JSSE (HandshakeContext.java, ServerHandshakeContext.java)',
    });
  }
  const on = (n: JavaProperty) => value.get(n)!.on;
  const src = (n: JavaProperty) => value.get(n)!.source;
  const unsafe = on('sun.security.ssl.allowUnsafeRenegotiation');
  const strict = !on('sun.security.ssl.allowLegacyHelloMessages');
  const reject = on('jdk.tls.rejectClientInitiatedRenegotiation');
  const evidence = settings.map(evidenceOf);
  const verdicts = [
    unsafe && !strict
      ? verdict(
          'CVE-2009-3555',
          'yes',
          `allowUnsafeRenegotiation=true (${at(src('sun.security.ssl.allowUnsafeRenegotiation'))}): peers without RFC 5746 may renegotiate${reject ? ' (client-initiated ones are rejected; server-initiated ones remain)' : ''}`,
          evidence,
        )
      : verdict(
          'CVE-2009-3555',
          'no',
          strict
            ? 'strict RFC 5746: peers without it are refused (allowLegacyHelloMessages=false)'
            : 'renegotiation with peers without RFC 5746 is refused (allowUnsafeRenegotiation=false)',
          evidence,
        ),
    reject
      ? verdict(
          'CVE-2011-1473',
          'no',
          `rejectClientInitiatedRenegotiation=true (${at(src('jdk.tls.rejectClientInitiatedRenegotiation'))})`,
          evidence,
        )
      : verdict(
          'CVE-2011-1473',
          'yes',
          'JSSE servers accept client-initiated renegotiation without limit (jdk.tls.rejectClientInitiatedRenegotiation is false)',
          evidence,
        ),
    verdict(
      'triple-handshake',
      'could-not-test',
      'not decided by these properties (JDK 8u51+ negotiates the extended master secret: jdk.tls.useExtendedMasterSecret)',
    ),
    reject
      ? verdict(
          'no-renegotiation',
          'could-not-test',
          'client-initiated renegotiation is rejected; server-initiated renegotiation depends on the application (startHandshake)',
        )
      : verdict('no-renegotiation', 'no', 'client-initiated renegotiation is accepted'),
  ];
  for (const v of verdicts)
    if (v.answer === 'yes' && v.id !== 'no-renegotiation')
      findings.push(
        finding('vulnerable', v.reason, [
          v.id === 'CVE-2009-3555'
            ? src('sun.security.ssl.allowUnsafeRenegotiation')
            : src('jdk.tls.rejectClientInitiatedRenegotiation'),
        ]),
      );
  if (strict)
    findings.push(
      finding(
        'costs',
        'allowLegacyHelloMessages=false refuses every peer without RFC 5746, even for the initial handshake',
        [src('sun.security.ssl.allowLegacyHelloMessages')],
      ),
    );
  const steps: string[] = [];
  if (unsafe)
    steps.push(
      'Remove -Dsun.security.ssl.allowUnsafeRenegotiation=true (unpatched peers keep connecting, they only cannot renegotiate)',
    );
  if (!reject)
    steps.push(
      'Set -Djdk.tls.rejectClientInitiatedRenegotiation=true (server-initiated renegotiation, e.g. for client certificates, keeps working)',
    );
  if (!strict) steps.push('Once every peer supports RFC 5746: -Dsun.security.ssl.allowLegacyHelloMessages=false');
  return {
    stack: 'java',
    files: [p.file],
    assumed: [ASSUMED],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: 'unknown',
      why: 'JSSE renegotiates on the server side only when the application calls startHandshake (e.g. to ask for a client certificate): the properties cannot tell',
      steps,
      leave: strict
        ? ['allowLegacyHelloMessages=false: keep it unless unpatched peers must connect']
        : ['allowLegacyHelloMessages: true (default) while unpatched peers must connect'],
    },
  };
}
