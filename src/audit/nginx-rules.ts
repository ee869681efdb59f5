/**
 * The nginx judge. Sources: nginx CHANGES ("Changes with nginx 0.8.23: Security: now SSL/TLS
 * renegotiation is disabled"; 1.13.0: "SSL renegotiation is now allowed on backend
 * connections"; 1.19.4: ssl_conf_command), ngx_event_openssl.c (ngx_ssl_handle_recv drops a
 * connection on which the client renegotiates, citing CVE-2009-3555; built with an OpenSSL that
 * has SSL_OP_NO_RENEGOTIATION, nginx sets it on each connection after the handshake), and the
 * ngx_http_ssl_module reference (ssl_verify_client: contexts http, server).
 * - nginx has no renegotiation switch: it never renegotiates with clients and never asks for a
 *   client certificate by renegotiation (ssl_verify_client is per server, so the certificate is
 *   asked for in the initial handshake).
 * - `ssl_conf_command Options UnsafeLegacyRenegotiation, ClientRenegotiation, -NoRenegotiation`
 *   does not change that: nginx sets NoRenegotiation on the connection itself (checked live,
 *   test/audit/live-proxies.test.ts, nginx 1.22.1 with OpenSSL 3.0).
 * - As a client of https upstreams (proxy_pass https://…) nginx answers an upstream's
 *   renegotiation since 1.13.0, with the library's RFC 5746 rules.
 */
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import type { Finding, NginxConf, NginxDirective, SettingReport, StackAudit } from './types.ts';

const ASSUMED =
  'nginx 0.8.23 or later (renegotiation with clients refused since 0.8.23, 2009; ssl_conf_command since 1.19.4; upstream renegotiation allowed since 1.13.0)';
const REFERENCE = 'nginx CHANGES (0.8.23, 1.13.0, 1.19.4), ngx_http_ssl_module, ngx_event_openssl.c';
const RENEGOTIATION_FLAGS =
  /^-?(UnsafeLegacyRenegotiation|ClientRenegotiation|NoRenegotiation|UnsafeLegacyServerConnect)$/i;

function optionsOf(d: NginxDirective): string[] {
  if (d.args[0]?.toLowerCase() !== 'options') return [];
  return d.args
    .slice(1)
    .join(' ')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

export function judgeNginx(c: NginxConf): StackAudit {
  const findings: Finding[] = c.notes.map((n) => finding('unreadable', n.message, [n.source]));
  const named = (re: RegExp) => c.directives.filter((d) => re.test(d.name));
  for (const inc of named(/^include$/)) {
    findings.push(
      finding('warning', `include ${inc.args.join(' ')} is not followed: audit those files too`, [inc.source]),
    );
  }
  const verify = named(/^ssl_verify_client$/);
  for (const d of verify.filter((v) => v.blocks.some((b) => !/^(http|server)$/.test(b)))) {
    findings.push(
      finding(
        'unreadable',
        `ssl_verify_client in ${d.blocks.at(-1)}: nginx allows it only in http and server, and refuses to start with this file ("directive is not allowed here")`,
        [d.source],
      ),
    );
  }
  const confCommands = named(/^ssl_conf_command$/);
  const renegFlags = confCommands.filter((d) => optionsOf(d).some((o) => RENEGOTIATION_FLAGS.test(o)));
  for (const d of renegFlags) {
    findings.push(
      finding(
        'warning',
        `ssl_conf_command ${d.args.join(' ')}: no effect on renegotiation with clients, which nginx refuses itself (it sets NoRenegotiation on each connection); remove it so nobody relies on it`,
        [d.source],
      ),
    );
  }
  const upstreams = c.directives.filter(
    (d) =>
      (/^(proxy_pass|grpc_pass)$/.test(d.name) && /^(https|grpcs):\/\//i.test(d.args[0] ?? '')) ||
      /^(proxy|grpc|uwsgi)_ssl_/.test(d.name),
  );
  const upstreamUnsafe = named(/^(proxy|grpc|uwsgi)_ssl_conf_command$/).filter((d) =>
    optionsOf(d).some((o) => /^(UnsafeLegacyRenegotiation|UnsafeLegacyServerConnect)$/i.test(o)),
  );
  const settings: SettingReport[] = [
    {
      name: 'renegotiation with clients',
      value: 'refused',
      source: undefined,
      origin: 'built in since nginx 0.8.23 (no directive changes it)',
      does: 'a client that starts a renegotiation is refused (no_renegotiation alert, or the connection dropped on old OpenSSL)',
      protects: `${CVE_2009_3555} and ${CVE_2011_1473}`,
      breaks: 'nothing: nginx never needs renegotiation with clients',
      reference: REFERENCE,
    },
    ...(verify.length > 0 ? verify : [undefined]).map((d): SettingReport => ({
      name: d ? `ssl_verify_client in ${d.blocks.join(' > ') || 'main'}` : 'ssl_verify_client',
      value: d ? d.args.join(' ') : 'off',
      source: d?.source,
      origin: d ? 'set' : `default (${ASSUMED.split(' (')[0]})`,
      does: 'asks for the client certificate in the initial handshake of every connection to that server',
      protects: 'the need to renegotiate for a client certificate (nginx cannot ask per location)',
      breaks:
        'on: clients without a certificate are refused on every path of that server; optional: browsers may prompt',
      reference: REFERENCE,
    })),
    ...confCommands.map((d): SettingReport => ({
      name: 'ssl_conf_command',
      value: d.args.join(' '),
      source: d.source,
      origin: `set in ${d.blocks.join(' > ') || 'main'} (nginx 1.19.4+)`,
      does: 'passes an SSL_CONF command to OpenSSL for this server',
      protects: 'nothing here: renegotiation with clients stays refused whatever Options says',
      breaks: 'nothing here',
      reference: REFERENCE,
    })),
    ...(upstreams.length > 0
      ? [
          {
            name: 'renegotiation with https upstreams',
            value: upstreamUnsafe.length > 0 ? 'allowed, unsafe legacy included' : 'allowed (RFC 5746 only)',
            source: (upstreamUnsafe[0] ?? upstreams[0])!.source,
            origin: 'nginx 1.13.0 and later answer an upstream that renegotiates',
            does: 'nginx, as a client, completes a renegotiation the upstream server starts (a client certificate asked for later)',
            protects: `with the library's default: ${CVE_2009_3555} toward upstreams without RFC 5746`,
            breaks: 'nothing; refusing it would break upstreams that ask for a client certificate by renegotiation',
            reference: REFERENCE,
          } satisfies SettingReport,
        ]
      : []),
  ];
  const evidence = settings.map(evidenceOf);
  for (const d of upstreamUnsafe) {
    findings.push(
      finding(
        'vulnerable',
        `${d.name} ${d.args.join(' ')}: nginx's connections to upstreams accept renegotiation without RFC 5746 (${CVE_2009_3555}, nginx as the client)`,
        [d.source],
      ),
    );
  }
  const verdicts = [
    verdict(
      'CVE-2009-3555',
      upstreamUnsafe.length > 0 ? 'yes' : 'no',
      upstreamUnsafe.length > 0
        ? `toward upstreams: ${upstreamUnsafe.map((d) => `${d.name} (${at(d.source)})`).join(', ')}; toward clients nginx never renegotiates`
        : 'nginx never renegotiates with clients (built in since 0.8.23)',
      evidence,
    ),
    verdict('CVE-2011-1473', 'no', 'nginx refuses client-initiated renegotiation (built in since 0.8.23)', evidence),
    verdict('triple-handshake', 'no', 'no renegotiation with clients, so the attack has nothing to ride on'),
    verdict('no-renegotiation', 'yes', 'nginx has no renegotiation with clients; ssl_verify_client is per server'),
  ];
  const verifyNote =
    verify.length > 0
      ? `ssl_verify_client ${verify.map((d) => `${d.args[0]} (${at(d.source)})`).join(', ')}: asked for in the initial handshake`
      : 'no ssl_verify_client';
  return {
    stack: 'nginx',
    files: [c.file],
    assumed: [ASSUMED],
    settings,
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: {
      renegotiationNeeded: 'no',
      why: `nginx never renegotiates with clients: ${verifyNote}`,
      steps: [
        ...(renegFlags.length > 0
          ? ['Remove the renegotiation flags from ssl_conf_command Options: they do nothing here and mislead']
          : []),
        ...(upstreamUnsafe.length > 0
          ? [
              'Remove UnsafeLegacyRenegotiation/UnsafeLegacyServerConnect from the upstream ssl_conf_command once the upstreams support RFC 5746',
            ]
          : []),
      ],
      leave: ['nothing to switch off: nginx has no renegotiation with clients to turn off'],
    },
  };
}
