/**
 * The HAProxy judge; every `-f` file of one HAProxy is judged together. Sources
 * (renegotiation-knobs-and-attacks.md §2 "Proxies and appliances"; haproxy src/ssl_sock.c;
 * doc/configuration.txt):
 * - Every `bind … ssl` refuses renegotiation: HAProxy sets SSL_OP_NO_RENEGOTIATION on its
 *   listeners, and on libraries without it an info callback fails a connection whose client
 *   starts a handshake after the first ("Disable renegotiation (CVE-2009-3555)"; log code
 *   "Rejected a client-initiated SSL renegotiation attempt"). No keyword changes that, and
 *   OPENSSL_CONF Options do not either (checked live: test/audit/live-proxies.test.ts).
 * - There is no `no-renegotiation` bind option: HAProxy 2.6 refuses the configuration
 *   ("unknown option 'no-renegotiation' on global statement 'ssl-default-bind-options'").
 * - Backends: `server … ssl` answers a server's renegotiation as the library allows; recent
 *   HAProxy adds `renegotiate` / `no-renegotiate` on `server` lines and in
 *   `ssl-default-server-options` (not in 2.6).
 */
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { Finding, HaproxyConf, HaproxyLine, SettingReport, StackAudit } from './types.ts';

const ASSUMED =
  'HAProxy 1.5 or later (every bind … ssl refuses renegotiation); backend renegotiation: the library default (OpenSSL 3.0: RFC 5746 only)';
const REFERENCE = 'haproxy src/ssl_sock.c, doc/configuration.txt (bind and server options)';
const NOT_A_BIND_OPTION = /^(no-)?renegotiat(e|ion)$/i;

const hasSsl = (l: HaproxyLine) => l.args.some((a) => a.toLowerCase() === 'ssl');

export function judgeHaproxy(files: readonly HaproxyConf[]): StackAudit {
  const lines = files.flatMap((f) => f.lines);
  const findings: Finding[] = files.flatMap((f) => f.notes.map((n) => finding('unreadable', n.message, [n.source])));
  const binds = lines.filter((l) => l.keyword === 'bind' && hasSsl(l));
  const servers = lines.filter((l) => (l.keyword === 'server' || l.keyword === 'default-server') && hasSsl(l));
  const bindDefaults = lines.filter((l) => l.keyword === 'ssl-default-bind-options');
  const serverDefaults = lines.filter((l) => l.keyword === 'ssl-default-server-options');
  for (const l of [...bindDefaults, ...lines.filter((x) => x.keyword === 'bind')]) {
    for (const a of l.args.filter((x) => NOT_A_BIND_OPTION.test(x))) {
      findings.push(
        finding(
          'unreadable',
          `${a} is not a ${l.keyword} option: HAProxy refuses to start with it ("unknown option"); bind lines refuse renegotiation without any option`,
          [l.source],
        ),
      );
    }
  }
  const serverMode = (l: HaproxyLine): { value: string; from: HaproxyLine | undefined } => {
    const own = l.args.find((a) => /^(no-)?renegotiate$/i.test(a));
    if (own) return { value: own, from: l };
    const d = serverDefaults.filter((x) => x.args.some((a) => /^(no-)?renegotiate$/i.test(a))).at(-1);
    const v = d?.args.filter((a) => /^(no-)?renegotiate$/i.test(a)).at(-1);
    return v ? { value: v, from: d } : { value: 'library default', from: undefined };
  };
  const settings: SettingReport[] = [
    ...binds.map((b): SettingReport => ({
      name: `bind ${b.args[0] ?? ''} ssl (${b.section})`,
      value: 'renegotiation refused',
      source: b.source,
      origin: 'built in (HAProxy 1.5+)',
      does: 'HAProxy refuses every renegotiation on this listener (SSL_OP_NO_RENEGOTIATION)',
      protects: `${CVE_2009_3555} and ${CVE_2011_1473} toward clients`,
      breaks: 'nothing: HAProxy never asks for a client certificate by renegotiation (verify is per bind line)',
      reference: REFERENCE,
    })),
    ...servers.map((s): SettingReport => {
      const m = serverMode(s);
      return {
        name: `${s.keyword} ${s.args[0] ?? ''} ssl (${s.section})`,
        value: m.value,
        source: m.from?.source ?? s.source,
        origin: m.from ? 'set' : `default (${ASSUMED.split('; ')[1]})`,
        does: 'whether HAProxy, as a client, completes a renegotiation the backend server starts',
        protects: `no-renegotiate: the backend connection from any renegotiation; the library default already refuses insecure ones (${CVE_2009_3555})`,
        breaks: "no-renegotiate: backends that ask for HAProxy's client certificate by renegotiation",
        reference: REFERENCE,
      };
    }),
  ];
  if (binds.length === 0) {
    findings.push(
      finding(
        'warning',
        'no `bind … ssl` line: these files terminate no TLS, so there is nothing to renegotiate with clients',
      ),
    );
  }
  const evidence = settings.map(evidenceOf);
  const verdicts = [
    verdict('CVE-2009-3555', 'no', 'every bind … ssl refuses renegotiation (built in)', evidence),
    verdict(
      'CVE-2011-1473',
      'no',
      'client-initiated renegotiation is refused on every TLS listener (built in)',
      evidence,
    ),
    verdict('triple-handshake', 'no', 'no renegotiation with clients, so the attack has nothing to ride on'),
    verdict('no-renegotiation', 'yes', 'HAProxy has no renegotiation with clients'),
  ];
  return {
    stack: 'haproxy',
    files: files.map((f) => f.file),
    assumed: [ASSUMED],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: 'no',
      why: `HAProxy never renegotiates with clients; client certificates are asked for in the initial handshake (verify on the bind line)${binds.length > 0 ? `: ${binds.map((b) => at(b.source)).join(', ')}` : ''}`,
      steps: [],
      leave: [
        'bind lines: nothing to set (there is no no-renegotiation option, and none is needed)',
        ...(servers.length > 0
          ? ['server lines: leave renegotiation to the library default unless a backend must not renegotiate']
          : []),
      ],
    },
  };
}
