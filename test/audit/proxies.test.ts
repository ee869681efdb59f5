/**
 * renego audit on nginx, HAProxy, stunnel and Node configurations in their safe and unsafe forms:
 * the kind recognised from the content, each setting with its file and line, absent ones given
 * the named version's default, and the verdicts in the scanner's vocabulary.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agreement } from '../../src/audit/compare.ts';
import { detectKind } from '../../src/audit/input.ts';
import { auditExitCode, judge, type AuditAssumptions } from '../../src/audit/judge.ts';
import { parseInput } from '../../src/audit/parse.ts';
import type { StackAudit } from '../../src/audit/types.ts';
import { haproxyConf, nginxConf, nodeServer, stunnelConf } from './fixtures.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function audit(files: readonly [string, string][], assume?: AuditAssumptions): StackAudit {
  const [a] = judge(
    files.map(([f, t]) => parseInput(f, utf8(t))),
    assume,
  );
  assert.ok(a);
  return a;
}
const answer = (a: StackAudit, id: string) => a.verdicts.find((v) => v.id === id)?.answer;
const findings = (a: StackAudit, kind: string) => a.findings.filter((f) => f.kind === kind);
/** The 1-based line of the first line of text that contains needle. */
const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('the kind of each new file is recognised from its content', () => {
  for (const [kind, text] of [
    ['nginx-conf', nginxConf()],
    ['haproxy-conf', haproxyConf()],
    ['stunnel-conf', stunnelConf()],
    ['node-source', nodeServer()],
    ['node-source', 'Environment=NODE_OPTIONS=--tls-min-v1.3\n'],
  ] as const) {
    test(`${kind}: ${text.split('\n').find((l) => l.trim() && !/^[#;]/.test(l))}`, () => {
      assert.equal(detectKind(text), kind);
    });
  }
});

describe('nginx', () => {
  test('no renegotiation with clients, whatever ssl_conf_command says; the flags are flagged as doing nothing', () => {
    const text = nginxConf({ server: ['ssl_conf_command Options UnsafeLegacyRenegotiation,ClientRenegotiation;'] });
    const a = audit([['nginx.conf', text]]);
    assert.equal(a.stack, 'nginx');
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(answer(a, 'no-renegotiation'), 'yes');
    const w = findings(a, 'warning').find((f) => /no effect on renegotiation with clients/.test(f.text));
    assert.equal(w?.sources[0]?.line, lineOf(text, 'ssl_conf_command'));
    assert.match(a.assumed[0]!, /nginx 0\.8\.23/);
    assert.equal(auditExitCode([a]), 0);
  });

  test('ssl_verify_client is per server: renegotiation is not needed, and its line is named', () => {
    const text = nginxConf({ server: ['ssl_verify_client optional;'] });
    const a = audit([['nginx.conf', text]]);
    assert.equal(a.decision.renegotiationNeeded, 'no');
    const s = a.settings.find((x) => x.name.startsWith('ssl_verify_client'));
    assert.equal(s?.value, 'optional');
    assert.equal(s?.source?.line, lineOf(text, 'ssl_verify_client'));
    assert.equal(a.settings.find((x) => x.name === 'ssl_verify_client') ?? null, null);
  });

  test('ssl_verify_client in a location is a configuration nginx refuses (exit 2)', () => {
    const text = nginxConf().replace('location / {', 'location /secure { ssl_verify_client on; }\n    location / {');
    const a = audit([['nginx.conf', text]]);
    assert.ok(findings(a, 'unreadable').some((f) => /not allowed here/.test(f.text)));
    assert.equal(auditExitCode([a]), 2);
  });

  test('an upstream connection that accepts unsafe legacy renegotiation is CVE-2009-3555 toward upstreams', () => {
    const a = audit([
      [
        'nginx.conf',
        nginxConf({
          server: [
            'location /api { proxy_pass https://127.0.0.1:8443; proxy_ssl_conf_command Options UnsafeLegacyRenegotiation; }',
          ],
        }),
      ],
    ]);
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    assert.match(a.verdicts[0]!.reason, /toward upstreams/);
  });

  test('a truncated file (an unclosed block) is reported, not guessed', () => {
    const text = nginxConf().split('\n').slice(0, 15).join('\n');
    const a = audit([['nginx.conf', text]]);
    assert.ok(findings(a, 'unreadable').some((f) => /never closed|no closing/.test(f.text)));
  });
});

describe('HAProxy', () => {
  test('every bind … ssl refuses renegotiation; the -f files are judged together', () => {
    const a = audit([
      ['haproxy.cfg', haproxyConf()],
      ['extra.cfg', 'backend be\n  server s1 127.0.0.1:8443 ssl verify none\n'],
    ]);
    assert.equal(a.stack, 'haproxy');
    assert.deepEqual(a.files, ['haproxy.cfg', 'extra.cfg']);
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(a.settings.find((s) => s.name.startsWith('bind'))?.source?.line, lineOf(haproxyConf(), 'bind'));
    const server = a.settings.find((s) => s.name.startsWith('server s1'));
    assert.equal(server?.value, 'library default');
    assert.equal(server?.source?.file, 'extra.cfg');
  });

  test('no-renegotiation is not a bind option: HAProxy refuses the file, and the audit says so', () => {
    const text = haproxyConf({ global: ['ssl-default-bind-options no-renegotiation'] });
    const a = audit([['haproxy.cfg', text]]);
    const f = findings(a, 'unreadable').find((x) => /not a ssl-default-bind-options option/.test(x.text));
    assert.equal(f?.sources[0]?.line, lineOf(text, 'no-renegotiation'));
    assert.equal(auditExitCode([a]), 2);
  });

  test('server lines: no-renegotiate from ssl-default-server-options', () => {
    const a = audit([
      [
        'haproxy.cfg',
        haproxyConf({ global: ['ssl-default-server-options no-renegotiate'] }) +
          'backend be\n  server s1 127.0.0.1:8443 ssl\n',
      ],
    ]);
    const s = a.settings.find((x) => x.name.startsWith('server s1'));
    assert.equal(s?.value, 'no-renegotiate');
    assert.equal(s?.source?.line, lineOf(haproxyConf({ global: ['x'] }), '  x'));
  });
});

describe('stunnel', () => {
  test('defaults on OpenSSL 3: nothing open, and the assumed versions are named', () => {
    const a = audit([['stunnel.conf', stunnelConf()]]);
    assert.equal(a.stack, 'stunnel');
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.match(a.assumed[0]!, /stunnel 5 on OpenSSL 3\.0/);
    assert.equal(a.settings.find((s) => s.name === '[tls] renegotiation')?.origin.startsWith('default'), true);
  });

  test('the same file on OpenSSL 1.1.1 accepts client-initiated renegotiation', () => {
    const a = audit([['stunnel.conf', stunnelConf()]], { openssl: '1.1.1' });
    assert.equal(answer(a, 'CVE-2011-1473'), 'yes');
  });

  test('ALLOW_UNSAFE_LEGACY_RENEGOTIATION with ALLOW_CLIENT_RENEGOTIATION is both CVEs, with their lines', () => {
    const text = stunnelConf({
      service: ['options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION', 'options = ALLOW_CLIENT_RENEGOTIATION'],
    });
    const a = audit([['stunnel.conf', text]]);
    assert.deepEqual(a.vulnerabilities, ['CVE-2009-3555', 'CVE-2011-1473']);
    assert.equal(findings(a, 'vulnerable')[0]?.sources[0]?.line, lineOf(text, 'ALLOW_UNSAFE'));
  });

  test('renegotiation = no does not save a file that lets OpenSSL answer insecure renegotiations first', () => {
    const a = audit([
      [
        'stunnel.conf',
        stunnelConf({
          service: [
            'renegotiation = no',
            'options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION',
            'options = ALLOW_CLIENT_RENEGOTIATION',
          ],
        }),
      ],
    ]);
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    // stunnel's abort comes at its next look, and a fast client completes renegotiations first.
    assert.equal(answer(a, 'CVE-2011-1473'), 'limited');
    assert.equal(answer(a, 'no-renegotiation'), 'no');
  });

  test('renegotiation = no over OpenSSL 3 defaults refuses every client renegotiation: no, and off', () => {
    const a = audit([['stunnel.conf', stunnelConf({ service: ['renegotiation = no'] })]]);
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(answer(a, 'no-renegotiation'), 'yes');
  });

  test('global options are every service’s defaults; a service’s -FLAG clears one', () => {
    const a = audit([
      [
        'stunnel.conf',
        stunnelConf({
          global: ['options = NO_RENEGOTIATION', 'options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION'],
          service: ['options = -NO_RENEGOTIATION', 'options = ALLOW_CLIENT_RENEGOTIATION'],
        }),
      ],
    ]);
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    const off = audit([['stunnel.conf', stunnelConf({ global: ['options = NO_RENEGOTIATION'] })]]);
    assert.equal(answer(off, 'no-renegotiation'), 'yes');
  });
});

describe('stunnel option names', () => {
  test('an SSL_OP_ prefix or a misspelt name is a file stunnel refuses (exit 2), and counts for nothing', () => {
    const a = audit([['stunnel.conf', stunnelConf({ service: ['options = SSL_OP_NO_RENEGOTIATION'] })]]);
    assert.ok(a.findings.some((f) => f.kind === 'unreadable' && /Illegal TLS option.*without SSL_OP_/.test(f.text)));
    assert.equal(a.settings.find((s) => s.name === '[tls] options NO_RENEGOTIATION')?.value, 'not set');
    assert.equal(auditExitCode([a]), 2);
  });
});

describe('Node (static reading)', () => {
  test('defaults: client-initiated renegotiation limited to 3 per 600 s, and the reading is said to be static', () => {
    const a = audit([['server.mjs', nodeServer()]]);
    assert.equal(a.stack, 'node');
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'limited');
    assert.ok(a.assumed.some((x) => /static reading/.test(x)));
    assert.equal(auditExitCode([a]), 0);
  });

  test('SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION and CLIENT_RENEG_LIMIT = Infinity, each with its line', () => {
    const text = nodeServer({
      before: ['tls.CLIENT_RENEG_LIMIT = Infinity;'],
      options: ['secureOptions: constants.SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION,'],
    });
    const a = audit([['server.mjs', text]]);
    assert.deepEqual(a.vulnerabilities, ['CVE-2009-3555', 'CVE-2011-1473']);
    assert.equal(
      a.settings.find((s) => s.name === 'tls.CLIENT_RENEG_LIMIT')?.source?.line,
      lineOf(text, 'CLIENT_RENEG_LIMIT'),
    );
  });

  test('SSL_OP_NO_RENEGOTIATION closes both, and breaks a renegotiate() call', () => {
    const a = audit([
      [
        'server.mjs',
        nodeServer({ options: ['secureOptions: constants.SSL_OP_NO_RENEGOTIATION,'] }).replace(
          "socket.on('data', (d) => socket.write(d));",
          'socket.renegotiate({ requestCert: true }, () => {});',
        ),
      ],
    ]);
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(a.decision.renegotiationNeeded, 'yes');
    assert.ok(findings(a, 'breaks').length > 0);
  });

  test('secureOptions computed elsewhere is said to be unread, not guessed', () => {
    const text = nodeServer({ before: ['const flags = loadFlags();'], options: ['secureOptions: flags,'] });
    const a = audit([['server.mjs', text]]);
    const w = a.findings.find((f) => f.kind === 'warning' && /computed elsewhere/.test(f.text));
    assert.equal(w?.sources[0]?.line, lineOf(text, 'secureOptions'));
  });

  test('--tls-min-v1.3 in NODE_OPTIONS leaves no renegotiation; commented-out code is not read', () => {
    const a = audit([['unit.env', "NODE_OPTIONS='--tls-min-v1.3'\n// tls.CLIENT_RENEG_LIMIT = Infinity\n"]]);
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(a.settings.find((s) => s.name === 'tls.CLIENT_RENEG_LIMIT')?.source, undefined);
  });
});

describe('configured beside measured (--scan)', () => {
  test('more open on the wire than in the file is not in effect; less open differs; could-not-test cannot tell', () => {
    for (const [id, configured, measured, expected] of [
      ['CVE-2009-3555', 'no', 'yes', 'not-in-effect'],
      ['CVE-2011-1473', 'no', 'limited', 'not-in-effect'],
      ['CVE-2011-1473', 'limited', 'yes', 'not-in-effect'],
      ['CVE-2011-1473', 'yes', 'limited', 'differs'],
      ['CVE-2009-3555', 'yes', 'no', 'differs'],
      ['no-renegotiation', 'yes', 'no', 'not-in-effect'],
      ['no-renegotiation', 'no', 'yes', 'differs'],
      ['CVE-2011-1473', 'could-not-test', 'yes', 'cannot-tell'],
      ['triple-handshake', 'no', 'no', 'agree'],
    ] as const) {
      assert.equal(agreement(id, configured, measured), expected, `${id} ${configured} → ${measured}`);
    }
  });
});
