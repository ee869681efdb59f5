/**
 * The Node.js judge, from a static look at the source. Sources: nodejs/node doc/api/tls.md and
 * lib/_tls_wrap.js (renegotiation-knobs-and-attacks.md §2), and what test/peers/node-server.ts
 * measured on Node 20 with OpenSSL 3.0:
 * - Node 20 servers accept client-initiated renegotiation (TLS 1.2 and below), unlike OpenSSL 3's
 *   own default; more than tls.CLIENT_RENEG_LIMIT (3) handshakes within tls.CLIENT_RENEG_WINDOW
 *   (600 s) emit ERR_TLS_SESSION_ATTACK and the socket is destroyed (_tls_wrap.js
 *   onhandshakestart: a limit of 0 ends the first renegotiation; a window of 0 resets the count
 *   each time, so there is no limit).
 * - secureOptions: crypto.constants.SSL_OP_NO_RENEGOTIATION refuses renegotiation (warning
 *   no_renegotiation); SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION lets clients without RFC 5746
 *   renegotiate (CVE-2009-3555).
 * - tlsSocket.renegotiate() is how a Node server asks for a client certificate later;
 *   tlsSocket.disableRenegotiation() refuses renegotiation on one socket.
 * - minVersion 'TLSv1.3' (or --tls-min-v1.3) leaves no renegotiation at all (RFC 8446 has none).
 */
import type { Verdict } from '../scan/types.ts';
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { Finding, NodeFact, NodeSource, SettingReport, Source, StackAudit } from './types.ts';

const ASSUMED =
  'Node.js 20 on OpenSSL 3.0: client-initiated renegotiation accepted, at most CLIENT_RENEG_LIMIT 3 per CLIENT_RENEG_WINDOW 600 s; maxVersion TLSv1.3 with TLS 1.2 clients still served';
const STATIC =
  'static reading of this file only: values computed at run time, set in other modules or given on the command line are not seen';
const REFERENCE = 'nodejs/node doc/api/tls.md, lib/_tls_wrap.js; test/peers/node-server.ts';

type Located<T extends NodeFact['type']> = Extract<NodeFact, { type: T }> & { source: Source };

export function judgeNode(p: NodeSource): StackAudit {
  const findings: Finding[] = p.notes.map((n) => finding('unreadable', n.message, [n.source]));
  const all = <T extends NodeFact['type']>(type: T) => p.facts.filter((f): f is Located<T> => f.type === type);
  const op = (name: string) =>
    all('ssl-op')
      .filter((f) => f.name === name)
      .at(-1);
  const limitFact = all('reneg-limit')
    .filter((f) => f.name === 'CLIENT_RENEG_LIMIT')
    .at(-1);
  const windowFact = all('reneg-limit')
    .filter((f) => f.name === 'CLIENT_RENEG_WINDOW')
    .at(-1);
  const numeric = (v: string | undefined) =>
    v === undefined ? undefined : /^Infinity$/.test(v) ? Infinity : /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  const limit = numeric(limitFact?.value) ?? 3;
  const window = numeric(windowFact?.value) ?? 600;
  for (const o of all('secure-options').filter((x) => !/SSL_OP_/.test(x.expression))) {
    findings.push(
      finding(
        'warning',
        `secureOptions: ${o.expression}: the flags are computed elsewhere, not read; the verdicts assume none of them`,
        [o.source],
      ),
    );
  }
  for (const f of [limitFact, windowFact]) {
    if (f && Number.isNaN(numeric(f.value))) {
      findings.push(
        finding('warning', `${f.name} = ${f.value}: computed at run time, not read; the default is assumed`, [
          f.source,
        ]),
      );
    }
  }
  const noReneg = op('SSL_OP_NO_RENEGOTIATION');
  const unsafe = op('SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION');
  const legacyConnect = op('SSL_OP_LEGACY_SERVER_CONNECT');
  const tls13Only =
    all('min-version').find((f) => f.value === 'TLSv1.3') ?? all('tls-flag').find((f) => f.flag === '--tls-min-v1.3');
  const renegotiates = all('renegotiate-call');
  const disables = all('disable-renegotiation');
  const servers = all('tls-server');
  const limitOff = Number.isNaN(limit) ? false : limit === 0;
  const unlimited =
    !Number.isNaN(limit) && !Number.isNaN(window) && (limit === Infinity || limit >= 100 || window === 0);
  const noRenegotiation = noReneg !== undefined || tls13Only !== undefined;
  const clientInitiated = !noRenegotiation && !limitOff;
  const setting = (
    name: string,
    value: string,
    source: Source | undefined,
    t: Pick<SettingReport, 'does' | 'protects' | 'breaks'>,
  ): SettingReport => ({
    name,
    value,
    source,
    origin: source ? 'set (static reading)' : `default (${ASSUMED.split(':')[0]})`,
    ...t,
    reference: REFERENCE,
  });
  const settings: SettingReport[] = [
    setting('tls.CLIENT_RENEG_LIMIT', limitFact?.value ?? '3', limitFact?.source, {
      does: 'client-initiated renegotiations allowed per window before the socket is destroyed (ERR_TLS_SESSION_ATTACK)',
      protects: `${CVE_2011_1473}, as a rate limit (0: no client renegotiation at all)`,
      breaks: '0: clients that renegotiate on their own',
    }),
    setting('tls.CLIENT_RENEG_WINDOW', windowFact?.value ?? '600', windowFact?.source, {
      does: 'the window of CLIENT_RENEG_LIMIT, in seconds',
      protects: `${CVE_2011_1473} (0 resets the count at every handshake: no limit)`,
      breaks: 'nothing',
    }),
    setting('secureOptions SSL_OP_NO_RENEGOTIATION', noReneg ? 'set' : 'not set', noReneg?.source, {
      does: 'OpenSSL refuses every renegotiation (warning no_renegotiation)',
      protects: `${CVE_2009_3555}, ${CVE_2011_1473}`,
      breaks: 'tlsSocket.renegotiate() (client certificates asked for later)',
    }),
    setting('secureOptions SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION', unsafe ? 'set' : 'not set', unsafe?.source, {
      does: 'renegotiation with peers without RFC 5746',
      protects: `nothing: set, it opens ${CVE_2009_3555}`,
      breaks: 'unset: renegotiation with unpatched (pre-2010) peers',
    }),
    setting('minVersion / --tls-min-v1.3', tls13Only ? 'TLSv1.3' : 'TLSv1.2', tls13Only?.source, {
      does: 'TLSv1.3 only: no renegotiation exists (RFC 8446)',
      protects: `${CVE_2009_3555}, ${CVE_2011_1473}`,
      breaks: 'TLSv1.3 only: clients without TLS 1.3; renegotiate() for client certificates',
    }),
  ];
  const evidence = settings.map(evidenceOf);
  const verdicts: Verdict[] = [
    noRenegotiation
      ? verdict('CVE-2009-3555', 'no', `no renegotiation (${at((noReneg ?? tls13Only)!.source)})`, evidence)
      : unsafe && (clientInitiated || renegotiates.length > 0)
        ? verdict(
            'CVE-2009-3555',
            'yes',
            `SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION (${at(unsafe.source)}) with renegotiation accepted`,
            evidence,
          )
        : verdict(
            'CVE-2009-3555',
            'no',
            'OpenSSL enforces RFC 5746 (no SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION seen)',
            evidence,
          ),
    !clientInitiated
      ? verdict(
          'CVE-2011-1473',
          'no',
          noRenegotiation ? 'no renegotiation' : `CLIENT_RENEG_LIMIT = 0 (${at(limitFact?.source)})`,
          evidence,
        )
      : unlimited
        ? verdict(
            'CVE-2011-1473',
            'yes',
            `client-initiated renegotiation accepted without a useful limit (${at((limitFact ?? windowFact)?.source)})`,
            evidence,
          )
        : verdict(
            'CVE-2011-1473',
            'limited',
            `client-initiated renegotiation accepted, at most ${Number.isNaN(limit) ? 3 : limit} per ${Number.isNaN(window) ? 600 : window} s (Node's rate limit)`,
            evidence,
          ),
    verdict('triple-handshake', 'no', 'OpenSSL negotiates the extended master secret (1.1.0+)'),
    verdict(
      'no-renegotiation',
      noRenegotiation ? 'yes' : 'no',
      noRenegotiation
        ? 'no renegotiation is possible'
        : renegotiates.length > 0
          ? 'the code calls renegotiate()'
          : 'client-initiated renegotiation is accepted (rate-limited)',
    ),
  ];
  for (const v of verdicts.filter((x) => x.answer === 'yes' && x.id !== 'no-renegotiation')) {
    findings.push(
      finding('vulnerable', v.reason, [v.id === 'CVE-2009-3555' ? unsafe?.source : (limitFact ?? windowFact)?.source]),
    );
  }
  if (noRenegotiation) {
    for (const r of renegotiates) {
      findings.push(
        finding(
          'breaks',
          `renegotiate() here cannot work: ${noReneg ? 'SSL_OP_NO_RENEGOTIATION' : 'TLS 1.3 only'} (${at((noReneg ?? tls13Only)!.source)})`,
          [r.source],
        ),
      );
    }
  }
  if (disables.length > 0) {
    findings.push(
      finding(
        'warning',
        'disableRenegotiation() is called: the sockets it is called on refuse renegotiation; which sockets, a static reading cannot tell',
        disables.map((d) => d.source),
      ),
    );
  }
  if (legacyConnect)
    findings.push(
      finding('costs', 'SSL_OP_LEGACY_SERVER_CONNECT: as a client, connects to servers without RFC 5746', [
        legacyConnect.source,
      ]),
    );
  if (servers.length === 0 && renegotiates.length === 0) {
    findings.push(
      finding(
        'warning',
        'no TLS server created in this file (tls/https/http2 createServer): the verdicts assume one is created with these settings',
      ),
    );
  }
  const needed = renegotiates.length > 0 ? 'yes' : 'unknown';
  const steps: string[] = [];
  if (renegotiates.length > 0) {
    steps.push(
      `Ask for the client certificate in the initial handshake (createServer({ requestCert: true })) instead of renegotiate() (${renegotiates.map((r) => at(r.source)).join(', ')})`,
    );
  }
  if (unsafe) steps.push('Remove SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION from secureOptions');
  if (!noRenegotiation)
    steps.push(
      (steps.length > 0 ? 'Then s' : 'S') +
        "ecureOptions: crypto.constants.SSL_OP_NO_RENEGOTIATION (or minVersion: 'TLSv1.3' where every client has it)",
    );
  return {
    stack: 'node',
    files: [p.file],
    assumed: [ASSUMED, STATIC],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: needed,
      why:
        renegotiates.length > 0
          ? `the code renegotiates (${renegotiates.map((r) => at(r.source)).join(', ')}), to ask for a client certificate later`
          : 'no renegotiate() call in this file; other modules may have one',
      steps,
      leave: ['CLIENT_RENEG_LIMIT/WINDOW: leave the defaults (3 per 600 s) unless renegotiation is off altogether'],
    },
  };
}
