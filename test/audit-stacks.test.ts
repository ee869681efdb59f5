/**
 * renego audit on OpenSSL configuration files, GnuTLS priority strings and Java properties, in
 * their safe and unsafe forms: each setting found with its line, absent ones given the named
 * version's default, and the verdicts in the scanner's vocabulary.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectKind } from '../src/audit/input.ts';
import { auditExitCode, judge, type AuditAssumptions } from '../src/audit/judge.ts';
import { parseInput } from '../src/audit/parse.ts';
import type { StackAudit } from '../src/audit/types.ts';
import { opensslConf } from './audit-fixtures.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function auditText(file: string, text: string, assume?: AuditAssumptions): StackAudit {
  const [a] = judge([parseInput(file, utf8(text))], assume);
  assert.ok(a);
  return a;
}
const answer = (a: StackAudit, id: string) => a.verdicts.find((v) => v.id === id)?.answer;
const setting = (a: StackAudit, name: string) => a.settings.find((s) => s.name === name)!;

describe('OpenSSL configuration files', () => {
  test('the 3.0 defaults: no insecure renegotiation, client-initiated refused', () => {
    const a = auditText('openssl.cnf', opensslConf(undefined));
    assert.equal(a.stack, 'openssl');
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.match(setting(a, 'ClientRenegotiation').origin, /default in OpenSSL 3\.0/);
    assert.equal(auditExitCode([a]), 0);
  });

  test('UnsafeLegacyRenegotiation is CVE-2009-3555, with its line', () => {
    const a = auditText('openssl.cnf', opensslConf('UnsafeLegacyRenegotiation'));
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    assert.equal(setting(a, 'UnsafeLegacyRenegotiation').source?.line, 12);
    assert.equal(auditExitCode([a]), 1);
  });

  test('ClientRenegotiation is CVE-2011-1473; -ClientRenegotiation and NoRenegotiation are not', () => {
    assert.equal(answer(auditText('a.cnf', opensslConf('ClientRenegotiation')), 'CVE-2011-1473'), 'yes');
    assert.equal(answer(auditText('b.cnf', opensslConf('-ClientRenegotiation')), 'CVE-2011-1473'), 'no');
    const off = auditText('c.cnf', opensslConf('NoRenegotiation, UnsafeLegacyRenegotiation'));
    assert.equal(answer(off, 'CVE-2009-3555'), 'no');
    assert.equal(answer(off, 'no-renegotiation'), 'yes');
    assert.ok(
      off.findings.some((f) => f.kind === 'costs' && /client certificates asked for by renegotiation/.test(f.text)),
    );
  });

  test('1.1.1 defaults accept client-initiated renegotiation, and the report says which version', () => {
    const a = auditText('openssl.cnf', opensslConf(undefined), { openssl: '1.1.1' });
    assert.equal(answer(a, 'CVE-2011-1473'), 'yes');
    assert.match(a.assumed[0]!, /OpenSSL 1\.1\.1/);
    assert.equal(setting(a, 'UnsafeLegacyServerConnect').value, 'set');
  });

  test('Options in a section OpenSSL never applies are reported, not counted', () => {
    const a = auditText('openssl.cnf', opensslConf(undefined, '\n[unused]\nOptions = UnsafeLegacyRenegotiation'));
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.ok(a.findings.some((f) => f.kind === 'warning' && /not reached/.test(f.text)));
  });
});

describe('GnuTLS priority strings', () => {
  for (const [priority, insecure] of [
    ['NORMAL', 'no'],
    ['NORMAL:%PARTIAL_RENEGOTIATION', 'no'],
    ['NORMAL:%SAFE_RENEGOTIATION', 'no'],
    ['NORMAL:%UNSAFE_RENEGOTIATION', 'yes'],
    ['NORMAL:%DISABLE_SAFE_RENEGOTIATION', 'yes'],
  ] as const) {
    test(`${priority}: CVE-2009-3555 ${insecure}`, () => {
      assert.equal(detectKind(`${priority}\n`), 'gnutls-priority');
      const a = auditText('priority.txt', `# web server\n${priority}\n`);
      assert.equal(answer(a, 'CVE-2009-3555'), insecure);
      assert.equal(a.settings[0]!.source?.line, priority.includes('%') ? 2 : undefined);
      assert.equal(a.settings[0]!.name, `priority ${priority}`);
    });
  }

  test('reads `priority = "…"` lines', () => {
    const a = auditText('gnutls.conf', 'priority = "NORMAL:%UNSAFE_RENEGOTIATION"\n');
    assert.equal(a.settings[0]!.name, 'priority NORMAL:%UNSAFE_RENEGOTIATION');
  });

  test('%SAFE_RENEGOTIATION costs unpatched peers; a misspelt keyword is reported', () => {
    const a = auditText('priority.txt', 'NORMAL:%SAFE_RENEGOTIATION\nNORMAL:%UNSAFE_RENEGOTATION\n');
    assert.ok(a.findings.some((f) => f.kind === 'costs'));
    assert.ok(a.findings.some((f) => f.kind === 'unreadable' && /not a GnuTLS renegotiation keyword/.test(f.text)));
  });
});

describe('Java properties', () => {
  test('JDK defaults: no insecure renegotiation, client-initiated accepted', () => {
    const a = auditText(
      'jsse.properties',
      '# nothing renegotiation-related set\njdk.tls.client.protocols=TLSv1.2\n'.replace(
        'jdk.tls.client',
        'jdk.tls.client',
      ),
    );
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'CVE-2011-1473'), 'yes');
    assert.match(setting(a, 'sun.security.ssl.allowUnsafeRenegotiation').origin, /default false/);
  });

  test('-D flags on a command line, last one wins', () => {
    const a = auditText(
      'java.args',
      'java -Dsun.security.ssl.allowUnsafeRenegotiation=true -Djdk.tls.rejectClientInitiatedRenegotiation=true -jar app.jar\n',
    );
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(setting(a, 'jdk.tls.rejectClientInitiatedRenegotiation').source?.line, 1);
  });

  test('strict RFC 5746 costs unpatched peers; a non-boolean value is reported', () => {
    const a = auditText(
      'app.properties',
      'sun.security.ssl.allowLegacyHelloMessages=false\njdk.tls.rejectClientInitiatedRenegotiation=yes\n',
    );
    assert.ok(a.findings.some((f) => f.kind === 'costs' && /allowLegacyHelloMessages=false/.test(f.text)));
    assert.ok(a.findings.some((f) => f.kind === 'warning' && /not true or false/.test(f.text)));
    assert.equal(answer(a, 'CVE-2011-1473'), 'yes');
  });

  test('a renegotiation property in java.security is reported as having no effect', () => {
    const a = auditText('java.security', 'security.provider.1=SUN\nsun.security.ssl.allowUnsafeRenegotiation=true\n');
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.ok(a.findings.some((f) => /system property/.test(f.text)));
  });
});
