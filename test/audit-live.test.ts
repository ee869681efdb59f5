/**
 * The audit's claims checked against a live scan: each configuration is given to the real
 * program on 127.0.0.1 (openssl s_server through OPENSSL_CONF, gnutls-serv --priority, a JSSE
 * server with the audited -D properties) and scanned with renego scan. The audit must never say
 * "no" where the scan measures the attack (insecure renegotiation, unlimited client-initiated
 * renegotiation); where both can tell, they must agree. Skipped, saying why, without the program.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { judge } from '../src/audit/judge.ts';
import { parseInput } from '../src/audit/parse.ts';
import type { GnutlsPriority, JavaProperties, StackAudit } from '../src/audit/types.ts';
import { scanTarget } from '../src/scan/scan.ts';
import { parseScanTarget } from '../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanReport } from '../src/scan/types.ts';
import { opensslConf } from './audit-fixtures.ts';
import { skipReason } from './peers/binaries.ts';
import { startGnutlsServer } from './peers/gnutls-server.ts';
import { startJavaServer } from './peers/java-server.ts';
import { opensslBinary } from './peers/openssl-server.ts';
import { hostPort, spawnPeer, withFreePort, type TlsPeer } from './peers/peer-process.ts';
import { useTempPki } from './peers/temp-pki.ts';

const env = useTempPki('renego-audit-live-', 'rsa');

function scan(port: number): Promise<ScanReport> {
  return scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), {
    ...DEFAULT_SCAN_OPTIONS,
    timeoutMs: 3000,
    http: false,
    maxRenegotiations: 5,
  });
}

function audit(file: string, text: string): StackAudit {
  const [a] = judge([parseInput(file, new TextEncoder().encode(text))]);
  assert.ok(a);
  return a;
}

const answerOf = (verdicts: readonly { id: string; answer: string }[], id: string) =>
  verdicts.find((v) => v.id === id)?.answer;

/** The audit never says "no" where the scan measured the attack; where both tell, they agree. */
function assertConsistent(
  a: StackAudit,
  r: ScanReport,
  expected: Record<'CVE-2009-3555' | 'CVE-2011-1473', string>,
): void {
  for (const id of ['CVE-2009-3555', 'CVE-2011-1473'] as const) {
    const measured = answerOf(r.verdicts, id);
    const claimed = answerOf(a.verdicts, id);
    if (measured === 'yes' || measured === 'limited') {
      assert.notEqual(
        claimed,
        'no',
        `${id}: the audit says no, the scan measured ${measured}: ${r.verdicts.find((v) => v.id === id)?.reason}`,
      );
    }
    assert.equal(claimed, expected[id], `${id}: audit`);
  }
}

async function startOpensslWithConf(t: TestContext, conf: string): Promise<TlsPeer> {
  const file = path.join(env.dir, `openssl-${Math.random().toString(36).slice(2)}.cnf`);
  fs.writeFileSync(file, conf);
  const host = '127.0.0.1';
  const s = await withFreePort(host, async (port) => {
    const peer = await spawnPeer({
      name: 'openssl s_server',
      command: opensslBinary(),
      args: ['s_server', '-accept', hostPort(host, port), '-cert', env.files.serverCert, '-key', env.files.serverKey],
      host,
      port,
      readyPattern: /^ACCEPT$/m,
      env: { ...process.env, OPENSSL_CONF: file },
    });
    return { host, port, stop: peer.stop, output: peer.output, waitForOutput: peer.waitForOutput };
  });
  t.after(() => s.stop());
  return s;
}

describe(
  'OpenSSL: audit against openssl s_server with the audited OPENSSL_CONF',
  { skip: skipReason('openssl') },
  () => {
    for (const [name, options, expected, measured] of [
      ['3.0 defaults', undefined, { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' }, []],
      [
        'ClientRenegotiation',
        'ClientRenegotiation',
        { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'yes' },
        ['CVE-2011-1473'],
      ],
      [
        'UnsafeLegacyRenegotiation, ClientRenegotiation',
        'UnsafeLegacyRenegotiation, ClientRenegotiation',
        { 'CVE-2009-3555': 'yes', 'CVE-2011-1473': 'yes' },
        ['CVE-2009-3555', 'CVE-2011-1473'],
      ],
      // The audit warns of what an application that renegotiates would do; the scan cannot make s_server do it.
      ['UnsafeLegacyRenegotiation', 'UnsafeLegacyRenegotiation', { 'CVE-2009-3555': 'yes', 'CVE-2011-1473': 'no' }, []],
      ['NoRenegotiation', 'NoRenegotiation, ClientRenegotiation', { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' }, []],
    ] as const) {
      test(`${name}: the audit agrees with the scan`, async (t) => {
        const conf = opensslConf(options);
        const a = audit('openssl.cnf', conf);
        const s = await startOpensslWithConf(t, conf);
        const r = await scan(s.port);
        assertConsistent(a, r, expected);
        assert.deepEqual(
          r.vulnerabilities.filter((v) => v !== 'triple-handshake'),
          [...measured],
        );
      });
    }
  },
);

describe('GnuTLS: audit against gnutls-serv --priority', { skip: skipReason('gnutls-serv') }, () => {
  for (const [priority, insecure, measured] of [
    ['NORMAL', 'no', ['CVE-2011-1473']],
    ['NORMAL:%SAFE_RENEGOTIATION', 'no', ['CVE-2011-1473']],
    ['NORMAL:%UNSAFE_RENEGOTIATION', 'yes', ['CVE-2009-3555', 'CVE-2011-1473']],
  ] as const) {
    test(`${priority}: CVE-2009-3555 ${insecure} in both`, async (t) => {
      const a = audit('priority.txt', `${priority}\n`);
      const p = parseInput('priority.txt', new TextEncoder().encode(`${priority}\n`)) as GnutlsPriority;
      const s = await startGnutlsServer({
        cert: env.files.serverCert,
        key: env.files.serverKey,
        priority: p.strings[0]!.text,
      });
      t.after(() => s.stop());
      const r = await scan(s.port);
      assert.equal(answerOf(r.verdicts, 'CVE-2009-3555'), insecure, `${r.error}\n${s.output().slice(-1500)}`);
      // GnuTLS has no switch for client-initiated renegotiation: the audit cannot tell, the scan can.
      assertConsistent(a, r, { 'CVE-2009-3555': insecure, 'CVE-2011-1473': 'could-not-test' });
      assert.deepEqual(
        r.vulnerabilities.filter((v) => v !== 'triple-handshake'),
        [...measured],
      );
    });
  }
});

describe(
  'Java: audit against a JSSE server run with the audited properties',
  { skip: skipReason('java', 'javac') },
  () => {
    for (const [name, text, expected] of [
      ['defaults', '# nothing set\njdk.tls.namedGroups=secp256r1\n', { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'yes' }],
      [
        'rejectClientInitiatedRenegotiation',
        'jdk.tls.rejectClientInitiatedRenegotiation=true\n',
        { 'CVE-2009-3555': 'no', 'CVE-2011-1473': 'no' },
      ],
      [
        'allowUnsafeRenegotiation',
        'java -Dsun.security.ssl.allowUnsafeRenegotiation=true -jar app.jar\n',
        { 'CVE-2009-3555': 'yes', 'CVE-2011-1473': 'yes' },
      ],
    ] as const) {
      test(`${name}: the audit agrees with the scan`, async (t) => {
        const a = audit('java.properties', text);
        const p = parseInput('java.properties', new TextEncoder().encode(text)) as JavaProperties;
        const s = await startJavaServer({
          cert: env.files.serverCert,
          key: env.files.serverKey,
          systemProperties: Object.fromEntries(p.settings.map((x) => [x.name, x.value])),
        });
        t.after(() => s.stop());
        const r = await scan(s.port);
        assertConsistent(a, r, expected);
      });
    }
  },
);
