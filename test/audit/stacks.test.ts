/**
 * renego audit on OpenSSL configuration files, GnuTLS priority strings and Java properties, in
 * their safe and unsafe forms: each setting found with its line, absent ones given the named
 * version's default, and the verdicts in the scanner's vocabulary.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectKind } from '../../src/audit/input.ts';
import { auditExitCode, judge, type AuditAssumptions } from '../../src/audit/judge.ts';
import { parseInput } from '../../src/audit/parse.ts';
import type { StackAudit } from '../../src/audit/types.ts';
import { opensslConf } from './fixtures.ts';

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
    const named = auditText('openssl.cnf', opensslConf('ClientRenegotiation'), { openssl: '1.1.1' });
    assert.ok(named.findings.some((f) => f.kind === 'warning' && /arrived in OpenSSL 3\.0/.test(f.text)));
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

/** An Apache virtual host with /secure asking for a client certificate per directory. */
function apacheConf(o: { host?: string; location?: string; extra?: string } = {}): string {
  return [
    'Listen 443',
    '<VirtualHost *:443>',
    '    SSLEngine on',
    '    SSLCertificateFile /etc/ssl/server.pem',
    ...(o.host === undefined ? [] : [`    ${o.host}`]),
    ...(o.extra === undefined ? [] : [`    ${o.extra}`]),
    '    <Location /secure>',
    `        ${o.location ?? 'SSLVerifyClient require'}`,
    '    </Location>',
    '</VirtualHost>',
    '',
  ].join('\n');
}

describe('Apache mod_ssl', () => {
  test('2009: SSLInsecureRenegotiation on and a per-directory SSLVerifyClient is CVE-2009-3555', () => {
    const a = auditText('ssl.conf', apacheConf({ extra: 'SSLInsecureRenegotiation on' }));
    assert.equal(a.stack, 'apache');
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(a.decision.renegotiationNeeded, 'yes');
    assert.match(a.decision.steps[0]!, /SSLVerifyClient optional at the <VirtualHost> level/);
    assert.equal(auditExitCode([a]), 1);
  });

  test('defaults: RFC 5746 enforced, renegotiation still needed for /secure', () => {
    const a = auditText('ssl.conf', apacheConf());
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(a.decision.renegotiationNeeded, 'yes');
    assert.match(a.decision.why, /<Location \/secure> \(ssl\.conf:6\)/);
  });

  test('NoRenegotiation through SSLOpenSSLConfCmd breaks the per-directory client certificate', () => {
    const a = auditText('ssl.conf', apacheConf({ extra: 'SSLOpenSSLConfCmd Options NoRenegotiation' }));
    assert.equal(answer(a, 'no-renegotiation'), 'yes');
    assert.ok(a.findings.some((f) => f.kind === 'breaks' && /<Location \/secure>/.test(f.text)));
    assert.equal(auditExitCode([a]), 1);
  });

  test('a certificate asked for at the host level needs no renegotiation', () => {
    const a = auditText('ssl.conf', apacheConf({ host: 'SSLVerifyClient require' }));
    assert.equal(a.decision.renegotiationNeeded, 'no');
    assert.equal(answer(a, 'no-renegotiation'), 'yes');
    assert.equal(auditExitCode([a]), 0);
  });

  test('Include lines and an unclosed section are reported', () => {
    const a = auditText('httpd.conf', 'SSLEngine on\nInclude conf.d/*.conf\n<VirtualHost *:443>\nSSLEngine on\n');
    assert.ok(a.findings.some((f) => /not followed/.test(f.text)));
    assert.ok(a.findings.some((f) => f.kind === 'unreadable' && /never closed/.test(f.text)));
  });
});

describe('HTML report', () => {
  test('one section per stack, every value escaped', async () => {
    const { auditHtml } = await import('../../src/audit/html.ts');
    const a = auditText('<evil>.properties', 'jdk.tls.rejectClientInitiatedRenegotiation=<script>alert(1)</script>\n');
    const html = auditHtml([a, auditText('priority.txt', 'NORMAL:%UNSAFE_RENEGOTIATION\n')]);
    assert.equal(html.match(/<section>/g)?.length, 2);
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&#60;evil&#62;.properties'));
    assert.match(html, /<tr class="yes"><td>CVE-2009-3555<\/td>/);
  });
});
