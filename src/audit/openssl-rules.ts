/**
 * The OpenSSL judge. Sources (renegotiation-knobs-and-attacks.md §2, OpenSSL
 * doc/man3/SSL_CTX_set_options.pod and CHANGES.md):
 * - UnsafeLegacyRenegotiation allows renegotiation with peers without RFC 5746 (CVE-2009-3555),
 *   and accepts a renegotiation ClientHello without renegotiation_info even from RFC 5746 peers
 *   (docs/server-policy.md).
 * - Without it, legacy clients may connect but a renegotiation they start gets a warning
 *   no_renegotiation; a renegotiation the server starts toward them fails.
 * - Client-initiated renegotiation is refused by default since 3.0 (ClientRenegotiation allows it);
 *   1.1.1 accepts it (CVE-2011-1473 is then the application's to limit).
 * - UnsafeLegacyServerConnect: clients may connect to servers without RFC 5746; off since 3.0,
 *   on in 1.1.1 (part of SSL_OP_ALL); the config name works from 3.0.4 (openssl#18295).
 * - NoRenegotiation (1.1.1): no renegotiation in either direction.
 * - The extended master secret is negotiated by default since 1.1.0; `-ExtendedMasterSecret` turns it off.
 */
import type { Verdict } from '../scan/types.ts';
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { AuditAssumptions } from './judge.ts';
import type { Finding, OpensslConf, OpensslFlag, SettingReport, Source, StackAudit } from './types.ts';

interface FlagText {
  readonly does: string;
  readonly protects: string;
  readonly breaks: string;
}

const FLAGS: Record<OpensslFlag, FlagText> = {
  UnsafeLegacyRenegotiation: {
    does: 'SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION: renegotiate with peers that do not support RFC 5746, and accept renegotiations without renegotiation_info',
    protects: `nothing: set, it opens ${CVE_2009_3555}`,
    breaks: 'unset (the default): renegotiation with unpatched peers (pre-2010) is refused; they can still connect',
  },
  UnsafeLegacyServerConnect: {
    does: 'SSL_OP_LEGACY_SERVER_CONNECT: as a client, connect to servers without RFC 5746 (no renegotiation with them)',
    protects: `unset: this client's connections to unpatched servers, which an attacker could splice (${CVE_2009_3555})`,
    breaks: 'unset: connections to servers without RFC 5746 fail with "unsafe legacy renegotiation disabled"',
  },
  ClientRenegotiation: {
    does: 'SSL_OP_ALLOW_CLIENT_RENEGOTIATION: accept renegotiations the client starts',
    protects: `unset: ${CVE_2011_1473} (and blunts CVE-2021-3449)`,
    breaks: 'unset: clients that renegotiate on their own get a warning no_renegotiation',
  },
  NoRenegotiation: {
    does: 'SSL_OP_NO_RENEGOTIATION: no renegotiation in either direction; HelloRequest and renegotiation ClientHellos are refused',
    protects: `${CVE_2009_3555}, ${CVE_2011_1473} and the triple handshake`,
    breaks:
      'client certificates asked for by renegotiation (Apache SSLVerifyClient in a <Location> under TLS 1.2), servers that renegotiate with this client',
  },
  ExtendedMasterSecret: {
    does: 'negotiate the extended master secret (RFC 7627); on by default since 1.1.0',
    protects: 'the triple handshake (renegotiation bound to a session that is not what it seems)',
    breaks: 'nothing known; `-ExtendedMasterSecret` only helps interoperability with broken peers',
  },
};

function defaults(series: AuditAssumptions['openssl']): Record<OpensslFlag, boolean> {
  return {
    UnsafeLegacyRenegotiation: false,
    UnsafeLegacyServerConnect: series === '1.1.1',
    ClientRenegotiation: series === '1.1.1', // 1.1.1 has no flag: client-initiated renegotiation is accepted
    NoRenegotiation: false,
    ExtendedMasterSecret: true,
  };
}

export function judgeOpenssl(conf: OpensslConf, assume: AuditAssumptions): StackAudit {
  const series = assume.openssl;
  const version = series === '3' ? 'OpenSSL 3.0 and later' : 'OpenSSL 1.1.1';
  const base = defaults(series);
  const findings: Finding[] = conf.notes.map((n) =>
    finding(/not reached|only to applications/.test(n.message) ? 'warning' : 'unreadable', n.message, [n.source]),
  );
  const on = new Map<OpensslFlag, { set: boolean; source: Source | undefined }>();
  for (const flag of Object.keys(FLAGS) as OpensslFlag[]) {
    const last = conf.options.filter((o) => o.flag === flag && o.applied).at(-1);
    on.set(flag, { set: last?.set ?? base[flag], source: last?.source });
  }
  const is = (f: OpensslFlag) => on.get(f)!.set;
  const src = (f: OpensslFlag) => on.get(f)!.source;
  const settings: SettingReport[] = (Object.keys(FLAGS) as OpensslFlag[]).map((f) => ({
    name: f,
    value: is(f) ? 'set' : 'not set',
    source: src(f),
    origin: src(f) ? 'Options' : `default in ${version}`,
    ...FLAGS[f],
    reference: 'SSL_CTX_set_options(3), SSL_CONF_cmd(3), OpenSSL CHANGES.md',
  }));
  const evidence = settings.map(evidenceOf);
  if (src('UnsafeLegacyServerConnect') !== undefined && is('UnsafeLegacyServerConnect')) {
    findings.push(
      finding(
        'warning',
        'UnsafeLegacyServerConnect in a configuration file takes effect only from OpenSSL 3.0.4 (openssl#18295)',
        [src('UnsafeLegacyServerConnect')],
      ),
    );
  }
  if (series === '1.1.1' && src('ClientRenegotiation') !== undefined) {
    findings.push(
      finding(
        'warning',
        'ClientRenegotiation arrived in OpenSSL 3.0: 1.1.1 does not know it, and accepts client-initiated renegotiation regardless',
        [src('ClientRenegotiation')],
      ),
    );
  }
  const off = is('NoRenegotiation');
  const clientInitiated = off
    ? 'refused (NoRenegotiation)'
    : is('ClientRenegotiation')
      ? 'accepted'
      : 'refused (3.0 default)';
  const verdicts: Verdict[] = [];
  if (off) {
    verdicts.push(verdict('CVE-2009-3555', 'no', 'NoRenegotiation: no renegotiation in either direction', evidence));
  } else if (is('UnsafeLegacyRenegotiation')) {
    verdicts.push(
      verdict(
        'CVE-2009-3555',
        'yes',
        `UnsafeLegacyRenegotiation (${at(src('UnsafeLegacyRenegotiation'))}): renegotiation with clients without RFC 5746 is allowed, and renegotiations without renegotiation_info are accepted; client-initiated renegotiation ${clientInitiated}; a renegotiation the application starts (client certificates per path) is insecure with unpatched clients`,
        evidence,
      ),
    );
  } else {
    verdicts.push(
      verdict(
        'CVE-2009-3555',
        'no',
        'RFC 5746 is enforced: clients without it may connect but never renegotiate',
        evidence,
      ),
    );
  }
  if (off || !is('ClientRenegotiation')) {
    verdicts.push(verdict('CVE-2011-1473', 'no', `client-initiated renegotiation ${clientInitiated}`, evidence));
  } else {
    verdicts.push(
      verdict(
        'CVE-2011-1473',
        'yes',
        `client-initiated renegotiation is accepted (${src('ClientRenegotiation') ? `ClientRenegotiation, ${at(src('ClientRenegotiation'))}` : `default in ${version}`}) and OpenSSL sets no limit; the application may (Node: 3 per 10 minutes)`,
        evidence,
      ),
    );
  }
  verdicts.push(
    off
      ? verdict('triple-handshake', 'no', 'no renegotiation is accepted, so the attack has nothing to ride on')
      : is('ExtendedMasterSecret')
        ? verdict('triple-handshake', 'no', 'the extended master secret is negotiated (OpenSSL default since 1.1.0)')
        : verdict(
            'triple-handshake',
            'yes',
            `-ExtendedMasterSecret (${at(src('ExtendedMasterSecret'))}) with renegotiation allowed`,
          ),
  );
  verdicts.push(
    off
      ? verdict('no-renegotiation', 'yes', 'NoRenegotiation is set')
      : is('ClientRenegotiation')
        ? verdict('no-renegotiation', 'no', 'client-initiated renegotiation is accepted')
        : verdict(
            'no-renegotiation',
            'could-not-test',
            'client-initiated renegotiation is refused; server-initiated renegotiation depends on the application (Apache per-directory SSLVerifyClient)',
          ),
  );
  for (const v of verdicts) {
    if (v.answer === 'yes' && v.id !== 'no-renegotiation')
      findings.push(
        finding('vulnerable', v.reason, [
          src(
            v.id === 'CVE-2009-3555'
              ? 'UnsafeLegacyRenegotiation'
              : v.id === 'CVE-2011-1473'
                ? 'ClientRenegotiation'
                : 'ExtendedMasterSecret',
          ),
        ]),
      );
  }
  if (off)
    findings.push(finding('costs', `NoRenegotiation breaks ${FLAGS.NoRenegotiation.breaks}`, [src('NoRenegotiation')]));
  if (!is('UnsafeLegacyServerConnect')) {
    findings.push(
      finding(
        'costs',
        `as a client: ${FLAGS.UnsafeLegacyServerConnect.breaks} (${series === '3' ? 'default since 3.0' : 'cleared here'})`,
        [src('UnsafeLegacyServerConnect')],
      ),
    );
  }

  const steps: string[] = [];
  const leave: string[] = [];
  if (is('UnsafeLegacyRenegotiation') && !off) {
    steps.push(
      'Remove UnsafeLegacyRenegotiation from Options (clients patched since 2010 do not need it; unpatched ones keep connecting, they only cannot renegotiate)',
    );
  }
  if (is('ClientRenegotiation') && !off) {
    steps.push(
      series === '3'
        ? 'Remove ClientRenegotiation from Options (the 3.0 default refuses client-initiated renegotiation)'
        : 'Refuse client-initiated renegotiation: upgrade to OpenSSL 3 or add NoRenegotiation',
    );
  }
  if (!off) {
    steps.push(
      'If no application asks for client certificates by renegotiation (Apache: SSLVerifyClient only at server level), add NoRenegotiation to Options; otherwise ask for them in the initial handshake first',
    );
  } else leave.push('NoRenegotiation: keep it unless an application asks for client certificates by renegotiation');
  leave.push(
    is('UnsafeLegacyServerConnect')
      ? 'UnsafeLegacyServerConnect: remove it once every server this host connects to supports RFC 5746'
      : 'UnsafeLegacyServerConnect: leave unset unless a server this host must reach lacks RFC 5746',
  );
  leave.push(
    is('ExtendedMasterSecret')
      ? 'ExtendedMasterSecret: leave on (default)'
      : 'ExtendedMasterSecret: turn it back on (remove -ExtendedMasterSecret)',
  );
  return {
    stack: 'openssl',
    files: [conf.file],
    assumed: [
      `${version} defaults for options not set (${series === '3' ? '--openssl-version 1.1.1 for 1.1.1' : 'from --openssl-version'})`,
    ],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: 'unknown',
      why: 'OpenSSL renegotiates only when an application asks (Apache per-directory SSLVerifyClient, s_server R): the configuration file cannot tell; check the application for client certificates asked by path',
      steps,
      leave,
    },
  };
}
