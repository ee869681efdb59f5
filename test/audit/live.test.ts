/**
 * The audit's claims checked against a live scan: each configuration is given to the real
 * program on 127.0.0.1 (openssl s_server through OPENSSL_CONF, gnutls-serv --priority, a JSSE
 * server with the audited -D properties) and scanned with renego scan. The audit must never say
 * "no" where the scan measures the attack (insecure renegotiation, unlimited client-initiated
 * renegotiation); where both can tell, they must agree. Skipped, saying why, without the program.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseInput } from '../../src/audit/parse.ts';
import type { GnutlsPriority, JavaProperties } from '../../src/audit/types.ts';
import { opensslConf } from './fixtures.ts';
import {
  answerOf,
  assertConsistent,
  auditText as audit,
  measuredAttacks,
  scanLocal as scan,
  startOpensslWithConf,
} from './live-support.ts';
import { skipReason } from '../peers/binaries.ts';
import { startGnutlsServer } from '../peers/gnutls-server.ts';
import { startJavaServer } from '../peers/java-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const env = useTempPki('renego-audit-live-', 'rsa');

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
        const s = await startOpensslWithConf(t, env, conf);
        const r = await scan(s.port);
        assertConsistent(a, r, expected);
        assert.deepEqual(measuredAttacks(r), [...measured]);
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
      assert.deepEqual(measuredAttacks(r), [...measured]);
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
