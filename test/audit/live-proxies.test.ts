/**
 * The audit's claims for nginx, HAProxy, stunnel and Node checked against a live scan: each
 * configuration is given to the real program on 127.0.0.1 (nginx -c, haproxy -f, stunnel FILE,
 * node FILE for the audited source itself) and scanned with renego scan; the audit must never
 * say "no" where the scan measures the attack, and both must agree where both can tell. Then
 * `renego audit FILE --scan HOST:PORT` itself: measured beside configured, and a setting that is
 * not in effect flagged. Skipped, saying why, without the program.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runAuditCommand } from '../../src/tools/audit.ts';
import type { StackAudit } from '../../src/audit/types.ts';
import { haproxyConf, nginxConf, nodeServer, opensslConf, stunnelConf } from './fixtures.ts';
import { assertConsistent, auditText, measuredAttacks, scanLocal, startOpensslWithConf } from './live-support.ts';
import { skipReason, which } from '../peers/binaries.ts';
import { spawnPeer, withFreePort, type TlsPeer } from '../peers/peer-process.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const env = useTempPki('renego-audit-live-proxies-', 'rsa');
const stunnel = which('stunnel4') ?? which('stunnel');

let counter = 0;
/** A fresh folder under the test's temporary one. */
function folder(name: string): string {
  const dir = path.join(env.dir, `${name}-${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Certificate and key in one PEM, as HAProxy's crt wants. */
function combinedPem(): string {
  const p = path.join(env.dir, 'server-combined.pem');
  if (!fs.existsSync(p)) {
    const pem = (f: string) => fs.readFileSync(f, 'utf8').trim() + '\n';
    fs.writeFileSync(p, pem(env.files.serverCert) + pem(env.files.serverKey));
  }
  return p;
}

async function startProgram(
  t: TestContext,
  name: string,
  command: string,
  args: (port: number) => string[],
  o: { readyPattern?: RegExp; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<TlsPeer> {
  const host = '127.0.0.1';
  const peer = await withFreePort(host, (port) => spawnPeer({ name, command, args: args(port), host, port, ...o }));
  t.after(() => peer.stop());
  return peer;
}

/** A file with its port filled in: the audit reads exactly what the program runs. */
function configAt(dir: string, file: string, text: (port: number) => string): (port: number) => string {
  return (port) => {
    const p = path.join(dir, file);
    fs.writeFileSync(p, text(port));
    return p;
  };
}

async function nginxWith(
  t: TestContext,
  server: readonly string[],
): Promise<{ peer: TlsPeer; file: string; text: string }> {
  const dir = folder('nginx');
  const write = configAt(dir, 'nginx.conf', (port) =>
    nginxConf({ port, dir, cert: env.files.serverCert, key: env.files.serverKey, server }),
  );
  const peer = await startProgram(t, 'nginx', which('nginx')!, (port) => [
    '-c',
    write(port),
    '-p',
    dir,
    '-e',
    path.join(dir, 'error.log'),
  ]);
  const file = path.join(dir, 'nginx.conf');
  return { peer, file, text: fs.readFileSync(file, 'utf8') };
}

describe('nginx: audit against nginx run with the audited file', { skip: skipReason('nginx') }, () => {
  for (const [name, server] of [
    ['defaults', []],
    // The flags OpenSSL would honour do not reach nginx's connections: it sets NoRenegotiation itself.
    [
      'ssl_conf_command Options UnsafeLegacyRenegotiation,ClientRenegotiation,-NoRenegotiation',
      ['ssl_conf_command Options UnsafeLegacyRenegotiation,ClientRenegotiation,-NoRenegotiation;'],
    ],
    ['ssl_verify_client optional_no_ca', ['ssl_verify_client optional_no_ca;']],
  ] as const) {
    test(`${name}: no renegotiation, in the audit and on the wire`, async (t) => {
      const { peer, file, text } = await nginxWith(t, server);
      const a = auditText(file, text);
      const r = await scanLocal(peer.port);
      assertConsistent(a, r, { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' });
      assert.deepEqual(measuredAttacks(r), []);
      assert.equal(r.clientInitiated.secure, 'refused-alert');
    });
  }
});

describe('HAProxy: audit against haproxy run with the audited file', { skip: skipReason('haproxy') }, () => {
  const unsafeOpenssl = () => {
    const p = path.join(env.dir, 'unsafe-openssl.cnf');
    fs.writeFileSync(p, opensslConf('UnsafeLegacyRenegotiation, ClientRenegotiation'));
    return p;
  };
  for (const [name, opensslConfFile] of [
    ['defaults', undefined],
    ['with an OPENSSL_CONF that allows unsafe and client renegotiation', unsafeOpenssl],
  ] as const) {
    test(`${name}: every bind … ssl refuses renegotiation`, async (t) => {
      const dir = folder('haproxy');
      const write = configAt(dir, 'haproxy.cfg', (port) => haproxyConf({ port, pem: combinedPem() }));
      const peer = await startProgram(t, 'haproxy', which('haproxy')!, (port) => ['-db', '-f', write(port)], {
        env: opensslConfFile ? { ...process.env, OPENSSL_CONF: opensslConfFile() } : process.env,
      });
      const file = path.join(dir, 'haproxy.cfg');
      const a = auditText(file, fs.readFileSync(file, 'utf8'));
      const r = await scanLocal(peer.port);
      assertConsistent(a, r, { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' });
      assert.deepEqual(measuredAttacks(r), []);
    });
  }

  test('no-renegotiation: the audit says HAProxy refuses the file, and haproxy -c does', () => {
    const file = path.join(folder('haproxy-bad'), 'haproxy.cfg');
    const text = haproxyConf({ pem: combinedPem(), global: ['ssl-default-bind-options no-renegotiation'] });
    fs.writeFileSync(file, text);
    const a = auditText(file, text);
    assert.ok(a.findings.some((f) => f.kind === 'unreadable' && /no-renegotiation is not a/.test(f.text)));
    const check = spawnSync(which('haproxy')!, ['-c', '-f', file], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(check.status, 0);
    assert.match(check.stdout + check.stderr, /unknown option 'no-renegotiation'/);
  });
});

describe(
  'stunnel: audit against stunnel run with the audited file',
  { skip: stunnel ? undefined : 'stunnel not installed (apt-get install stunnel4)' },
  () => {
    /** The service's backend: echoes what it gets, so stunnel has somewhere to connect. */
    async function echoBackend(t: TestContext): Promise<number> {
      const server = net.createServer((s) => {
        s.on('error', () => s.destroy());
        s.pipe(s);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return (server.address() as net.AddressInfo).port;
    }
    const BOTH = ['options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION', 'options = ALLOW_CLIENT_RENEGOTIATION'];
    for (const [name, service, expected, measured] of [
      ['defaults', [], { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' }, []],
      [
        'ALLOW_UNSAFE_LEGACY_RENEGOTIATION, ALLOW_CLIENT_RENEGOTIATION',
        BOTH,
        { 'CVE-2009-3555': 'yes', 'CVE-2011-1473': 'yes' },
        ['CVE-2009-3555', 'CVE-2011-1473'],
      ],
      // stunnel aborts at its loop's next look, after OpenSSL has answered the insecure ClientHello;
      // a scan fast enough completes renegotiations before that (measured limited or no, by the race).
      [
        'renegotiation = no with both',
        ['renegotiation = no', ...BOTH],
        { 'CVE-2009-3555': 'yes', 'CVE-2011-1473': 'limited' },
        ['CVE-2009-3555'],
      ],
      [
        'NO_RENEGOTIATION with both',
        [...BOTH, 'options = NO_RENEGOTIATION'],
        { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' },
        [],
      ],
    ] as const) {
      test(`${name}: the audit agrees with the scan`, async (t) => {
        const backend = await echoBackend(t);
        const dir = folder('stunnel');
        const write = configAt(dir, 'stunnel.conf', (port) =>
          stunnelConf({ port, backend, cert: env.files.serverCert, key: env.files.serverKey, service }),
        );
        const peer = await startProgram(t, 'stunnel', stunnel!, (port) => [write(port)]);
        const file = path.join(dir, 'stunnel.conf');
        const a = auditText(file, fs.readFileSync(file, 'utf8'));
        const r = await scanLocal(peer.port);
        assertConsistent(a, r, expected);
        assert.deepEqual(measuredAttacks(r), [...measured], `${peer.output().slice(-1500)}`);
      });
    }
  },
);

describe(
  'stunnel: a misspelt option',
  { skip: stunnel ? undefined : 'stunnel not installed (apt-get install stunnel4)' },
  () => {
    for (const option of ['UNSAFE_LEGACY_RENEGOTIATION', 'SSL_OP_NO_RENEGOTIATION']) {
      test(`options = ${option}: the audit says stunnel refuses the file, and stunnel does`, () => {
        const file = path.join(folder('stunnel-bad'), 'stunnel.conf');
        const text = stunnelConf({
          cert: env.files.serverCert,
          key: env.files.serverKey,
          service: [`options = ${option}`],
        });
        fs.writeFileSync(file, text);
        const a = auditText(file, text);
        const f = a.findings.find((x) => x.kind === 'unreadable' && /Illegal TLS option/.test(x.text));
        assert.equal(f?.sources[0]?.line, text.split('\n').indexOf(`options = ${option}`) + 1);
        const run = spawnSync(stunnel!, [file], { encoding: 'utf8', timeout: 20_000 });
        assert.notEqual(run.status, 0);
        assert.match(run.stdout + run.stderr, new RegExp(`"options = ${option}": Illegal TLS option`));
      });
    }
  },
);

describe('Node: audit of a server’s source against the same source run with node', () => {
  for (const [name, o, expected, measured] of [
    ['defaults', {}, { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'limited' }, []],
    [
      'SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION, CLIENT_RENEG_LIMIT = Infinity',
      {
        before: ['tls.CLIENT_RENEG_LIMIT = Infinity;'],
        options: ['secureOptions: constants.SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION,'],
      },
      { 'CVE-2009-3555': 'yes', 'CVE-2011-1473': 'yes' },
      ['CVE-2009-3555', 'CVE-2011-1473'],
    ],
    [
      'SSL_OP_NO_RENEGOTIATION',
      { options: ['secureOptions: constants.SSL_OP_NO_RENEGOTIATION,'] },
      { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' },
      [],
    ],
  ] as const) {
    test(`${name}: the audit agrees with the scan`, async (t) => {
      const file = path.join(folder('node'), 'server.mjs');
      const text = nodeServer(o);
      fs.writeFileSync(file, text);
      const a = auditText(file, text);
      const peer = await startProgram(
        t,
        'node server',
        process.execPath,
        (port) => [file, String(port), env.files.serverCert, env.files.serverKey],
        {
          readyPattern: /^listening$/m,
        },
      );
      const r = await scanLocal(peer.port);
      assertConsistent(a, r, expected);
      assert.deepEqual(measuredAttacks(r), [...measured]);
    });
  }
});

async function auditWithScan(files: string[], port: number): Promise<{ code: number; audits: StackAudit[] }> {
  let out = '';
  const code = await runAuditCommand(
    { files, json: true, scan: [`127.0.0.1:${port}`], servername: 'localhost', timeout: 3000 },
    { stdout: { write: (s: string) => (out += s) } },
  );
  return {
    code,
    audits: out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StackAudit),
  };
}

describe('renego audit FILE --scan HOST:PORT', () => {
  test(
    'a setting not in effect: the file refuses client renegotiation, the server runs with another that allows it',
    { skip: skipReason('openssl') },
    async (t) => {
      const audited = path.join(folder('scan'), 'openssl.cnf');
      fs.writeFileSync(audited, opensslConf(undefined));
      const server = await startOpensslWithConf(t, env, opensslConf('ClientRenegotiation'));
      const { code, audits } = await auditWithScan([audited], server.port);
      const a = audits[0]!;
      const row = a.measured?.[0]?.verdicts.find((v) => v.id === 'CVE-2011-1473');
      assert.deepEqual([row?.configured, row?.measured, row?.agreement], ['no', 'yes', 'not-in-effect']);
      // Never "no" where the scan measured the attack: the verdict becomes the measured one.
      assert.equal(a.verdicts.find((v) => v.id === 'CVE-2011-1473')?.answer, 'yes');
      assert.ok(a.vulnerabilities.includes('CVE-2011-1473'));
      assert.ok(a.findings.some((f) => f.kind === 'disagrees'));
      assert.equal(code, 1);
    },
  );

  test('configured and measured agree on nginx: exit 0, every row agrees', { skip: skipReason('nginx') }, async (t) => {
    const { peer, file } = await nginxWith(t, []);
    const { code, audits } = await auditWithScan([file], peer.port);
    const rows = audits[0]?.measured?.[0]?.verdicts ?? [];
    assert.deepEqual(
      rows.filter((r) => r.id === 'CVE-2009-3555' || r.id === 'CVE-2011-1473').map((r) => r.agreement),
      ['agree', 'agree'],
    );
    assert.ok(!rows.some((r) => r.agreement === 'not-in-effect'));
    assert.equal(code, 0);
  });

  test('a target that cannot be scanned is said so, and nothing is compared', async () => {
    const file = path.join(folder('scan-none'), 'openssl.cnf');
    fs.writeFileSync(file, opensslConf(undefined));
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const { audits } = await auditWithScan([file], port);
    assert.match(audits[0]?.measured?.[0]?.error ?? '', /ECONNREFUSED|refused|unreachable/i);
    assert.equal(audits[0]?.verdicts.find((v) => v.id === 'CVE-2011-1473')?.answer, 'no');
  });
});
