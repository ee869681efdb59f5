/**
 * renego audit on Windows inputs: registry exports in every encoding and with every kind of
 * value, netsh http show sslcert (several bindings, IPv6, hostnames, newer builds, localized),
 * applicationHost.config per location; then the 2009 decision tree on realistic hosts: an IIS
 * asking for client certificates by renegotiation, before and after advisory 977377, in KB980436
 * strict mode, and with clientcertnegotiation=enable. Bad input is refused with one clear line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test, after } from 'node:test';
import { auditExitCode, judge } from '../../src/audit/judge.ts';
import { parseInput } from '../../src/audit/parse.ts';
import type { IisConfig, NetshOutput, ParsedInput, SchannelExport, StackAudit } from '../../src/audit/types.ts';
import { auditFiles, formatAudits } from '../../src/tools/audit.ts';
import { UsageError } from '../../src/tools/usage.ts';
import {
  applicationHost,
  dword,
  NETSH_GERMAN,
  netshOutput,
  regExport,
  SCHANNEL_KEY,
  type BindingSpec,
} from './fixtures.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const ALL = [
  dword('DisableRenegoOnServer', 1),
  dword('DisableRenegoOnClient', 1),
  dword('AllowInsecureRenegoClients', 0),
  dword('AllowInsecureRenegoServers', 0),
  dword('UseScsvForTls', 1),
];

function reg(lines: readonly string[], o: Parameters<typeof regExport>[1] = {}): SchannelExport {
  const r = parseInput('schannel.reg', regExport(lines, o));
  assert.equal(r.kind, 'schannel-reg');
  return r as SchannelExport;
}

function audit(...inputs: ParsedInput[]): StackAudit {
  const [a] = judge(inputs);
  assert.ok(a);
  return a;
}

const setting = (a: StackAudit, name: string) => a.settings.find((s) => s.name === name)!;
const answer = (a: StackAudit, id: string) => a.verdicts.find((v) => v.id === id)?.answer;
const kinds = (a: StackAudit, kind: string) => a.findings.filter((f) => f.kind === kind);

const DISABLED_443: BindingSpec = { key: 'IP:port', address: '0.0.0.0:443', negotiate: 'Disabled' };
const ENABLED_443: BindingSpec = { key: 'IP:port', address: '0.0.0.0:443', negotiate: 'Enabled' };
const netsh = (...b: BindingSpec[]) => parseInput('sslcert.txt', utf8(netshOutput(b))) as NetshOutput;
const iis = (o: Parameters<typeof applicationHost>[0] = {}) =>
  parseInput('applicationHost.config', utf8(applicationHost(o))) as IisConfig;

describe('registry exports', () => {
  test('reads every value of a UTF-16LE export with a BOM, with its line', () => {
    const r = reg(ALL);
    assert.equal(r.encoding, 'utf-16le');
    const a = audit(r);
    for (const [name, value, line] of [
      ['DisableRenegoOnServer', '1', 4],
      ['DisableRenegoOnClient', '1', 5],
      ['AllowInsecureRenegoClients', '0', 6],
      ['AllowInsecureRenegoServers', '0', 7],
      ['UseScsvForTls', '1', 8],
    ] as const) {
      assert.equal(setting(a, name).value, value, name);
      assert.equal(setting(a, name).source?.line, line, name);
      assert.equal(setting(a, name).origin, 'set');
    }
  });

  test('reads a UTF-8 export and a REGEDIT4 one the same way', () => {
    for (const o of [{ encoding: 'utf-8' as const }, { encoding: 'utf-8' as const, header: 'REGEDIT4' }]) {
      const r = reg(ALL, o);
      assert.equal(r.format, o.header ?? 'Windows Registry Editor Version 5.00');
      assert.equal(setting(audit(r), 'AllowInsecureRenegoClients').value, '0');
    }
  });

  test('takes the documented default for each absent value and says so', () => {
    const a = audit(reg([]));
    assert.deepEqual(
      a.settings.map((s) => [s.name, s.value, s.source]),
      [
        ['DisableRenegoOnServer', '0', undefined],
        ['DisableRenegoOnClient', '0', undefined],
        ['AllowInsecureRenegoClients', '1', undefined],
        ['AllowInsecureRenegoServers', '1', undefined],
        ['UseScsvForTls', '0', undefined],
      ],
    );
    assert.match(setting(a, 'AllowInsecureRenegoClients').origin, /default 1/);
    assert.match(a.assumed.join(' '), /KB980436/);
  });

  test('treats a value of another type as absent and warns, but reads hex(4) as the DWORD it is', () => {
    const a = audit(
      reg([
        '"DisableRenegoOnServer"=hex:01,00,00,00',
        '"DisableRenegoOnClient"="1"',
        '"AllowInsecureRenegoClients"=hex(4):00,00,00,00',
        '"UseScsvForTls"=dword:1',
        '"AllowInsecureRenegoServers"=-',
      ]),
    );
    assert.equal(setting(a, 'DisableRenegoOnServer').value, '0');
    assert.match(setting(a, 'DisableRenegoOnServer').origin, /not a REG_DWORD \(REG_BINARY\)/);
    assert.match(setting(a, 'DisableRenegoOnClient').origin, /REG_SZ/);
    assert.equal(setting(a, 'AllowInsecureRenegoClients').value, '0');
    assert.match(setting(a, 'UseScsvForTls').origin, /malformed dword/);
    assert.match(setting(a, 'AllowInsecureRenegoServers').origin, /deleted/);
    assert.equal(kinds(a, 'warning').filter((f) => /not a REG_DWORD/.test(f.text)).length, 3);
  });

  test('ignores a switch under a subkey, where SChannel does not read it, and says so', () => {
    const r = reg([], {
      extra: `[${SCHANNEL_KEY}\\Protocols\\TLS 1.0\\Server]\r\n${dword('DisableRenegoOnServer', 1)}`,
    });
    const a = audit(r);
    assert.equal(setting(a, 'DisableRenegoOnServer').value, '0');
    assert.ok(kinds(a, 'warning').some((f) => /has no effect there/.test(f.text)));
  });

  test('flags a comment that calls UseScsvForTls TLS_FALLBACK_SCSV', () => {
    const a = audit(reg(['; enable TLS_FALLBACK_SCSV', dword('UseScsvForTls', 1)]));
    assert.ok(kinds(a, 'warning').some((f) => /not RFC 7507/.test(f.text)));
    assert.ok(kinds(a, 'costs').some((f) => /no TLS extensions/.test(f.text)));
  });

  test('reports an export of another key as unreadable', () => {
    const text =
      'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n"X"=dword:00000001\r\n';
    const a = audit(parseInput('other.reg', utf8(text)));
    assert.ok(kinds(a, 'unreadable').some((f) => /no SCHANNEL key/.test(f.text)));
  });

  test('reads a UTF-16 export cut in the middle of a value as far as it goes, and says where it stops', () => {
    const whole = regExport(ALL);
    const text = Buffer.from(whole).toString('utf16le');
    const cut = 2 * text.indexOf('dword:00000001', text.indexOf('DisableRenegoOnClient')) + 7; // odd: half a character
    const a = audit(parseInput('cut.reg', whole.subarray(0, cut)));
    assert.equal(setting(a, 'DisableRenegoOnServer').value, '1');
    assert.equal(setting(a, 'DisableRenegoOnClient').origin, 'default 0 (absent)');
    assert.ok(kinds(a, 'unreadable').some((f) => /damaged or truncated/.test(f.text) && f.sources[0]?.line === 5));
    assert.equal(auditExitCode([a]), 2);
    assert.equal(setting(a, 'UseScsvForTls').origin, 'default 0 (absent)');
  });
});

describe('netsh http show sslcert', () => {
  test('reads IP, IPv6, hostname and central-store bindings, with newer lines, padding varying', () => {
    const n = netsh(
      DISABLED_443,
      { key: 'IP:port', address: '[::]:8443', negotiate: 'Enabled', newer: true },
      { key: 'Hostname:port', address: 'www.example.test:443', negotiate: 'Disabled', newer: true },
      { key: 'Central Certificate Store', address: '9443', negotiate: 'Enabled' },
    );
    assert.deepEqual(
      n.bindings.map((b) => [b.address.type, b.key, b.negotiateClientCert]),
      [
        ['ip', '0.0.0.0:443', 'disabled'],
        ['ip', '[::]:8443', 'enabled'],
        ['hostname', 'www.example.test:443', 'disabled'],
        ['central-store', '9443', 'enabled'],
      ],
    );
    assert.deepEqual(n.bindings[1]!.address, { type: 'ip', ip: '::', port: 8443 });
    assert.equal(n.unrecognised.length, 0);
    assert.match(n.bindings[0]!.certificateHash ?? '', /^ab12/);
  });

  test('says a localized block cannot be recognised instead of guessing', () => {
    const n = parseInput('de.txt', utf8(NETSH_GERMAN)) as NetshOutput;
    assert.equal(n.kind, 'netsh-sslcert');
    assert.equal(n.bindings.length, 0);
    assert.match(n.unrecognised[0]!.message, /not recognised \(localized/);
    const a = audit(n);
    assert.equal(a.decision.renegotiationNeeded, 'unknown');
    assert.equal(auditExitCode([a]), 1); // compatible mode, nothing shows renegotiation is unused
  });
});

describe('applicationHost.config', () => {
  test('reads sslFlags per location, ignoring commented-out ones', () => {
    const c = iis();
    assert.deepEqual(
      c.access.map((x) => [x.path, x.clientCertificate]),
      [
        ['', 'none'],
        ['Default Web Site/secure', 'negotiate'],
        ['Default Web Site/public', 'none'],
      ],
    );
    assert.equal(c.sites[0]!.port, 443);
    assert.equal(iis({ secureFlags: 'Ssl,SslRequireCert' }).access[1]!.clientCertificate, 'require');
  });
});

describe('the 2009 decision tree on an IIS host with client certificates on /secure', () => {
  test('2009 defaults: compatible mode and a certificate by renegotiation is CVE-2009-3555', () => {
    const a = audit(reg([]), netsh(DISABLED_443), iis());
    assert.equal(answer(a, 'CVE-2009-3555'), 'yes');
    assert.equal(answer(a, 'CVE-2011-1473'), 'no');
    assert.equal(a.decision.renegotiationNeeded, 'yes');
    assert.match(
      a.decision.steps[0]!,
      /netsh http update sslcert ipport=0\.0\.0\.0:443 certhash=\S+ appid=\S+ clientcertnegotiation=enable/,
    );
    assert.match(a.decision.steps[1]!, /DisableRenegoOnServer \/t REG_DWORD \/d 1/);
    assert.equal(auditExitCode([a]), 1);
  });

  test('after advisory 977377: safe, but /secure breaks, and the fix is named', () => {
    const a = audit(reg([dword('DisableRenegoOnServer', 1)]), netsh(DISABLED_443), iis());
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(answer(a, 'no-renegotiation'), 'yes');
    const [b] = kinds(a, 'breaks');
    assert.match(b!.text, /breaks Default Web Site\/secure.*clientcertnegotiation=enable/);
    assert.deepEqual(
      b!.sources.map((s) => s.file),
      ['schannel.reg', 'applicationHost.config', 'sslcert.txt'],
    );
    assert.equal(auditExitCode([a]), 1);
  });

  test('after KB980436 strict mode: safe, renegotiation still used, unpatched clients refused', () => {
    const a = audit(reg([dword('AllowInsecureRenegoClients', 0)]), netsh(DISABLED_443), iis());
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.equal(a.decision.renegotiationNeeded, 'yes');
    assert.ok(kinds(a, 'costs').some((f) => /cannot connect at all/.test(f.text)));
    assert.equal(auditExitCode([a]), 0);
  });

  test('with clientcertnegotiation=enable and 977377: nothing renegotiates, nothing breaks', () => {
    const a = audit(reg([dword('DisableRenegoOnServer', 1)]), netsh(ENABLED_443), iis());
    assert.equal(a.decision.renegotiationNeeded, 'no');
    assert.equal(kinds(a, 'breaks').length, 0);
    assert.equal(auditExitCode([a]), 0);
  });

  test('clientcertnegotiation=enable alone: compatible mode, but IIS never renegotiates', () => {
    const a = audit(reg([]), netsh(ENABLED_443), iis());
    assert.equal(answer(a, 'CVE-2009-3555'), 'no');
    assert.match(a.decision.steps.join('\n'), /DisableRenegoOnServer/);
  });

  test('a hostname (SNI) site maps to its Hostname:port binding', () => {
    const a = audit(
      reg([dword('DisableRenegoOnServer', 1)]),
      netsh(ENABLED_443, { key: 'Hostname:port', address: 'shop.example.test:443', negotiate: 'Disabled' }),
      parseInput(
        'applicationHost.config',
        utf8(applicationHost({ binding: '*:443:shop.example.test' }).replace('sslFlags="0"', 'sslFlags="1"')),
      ),
    );
    assert.match(kinds(a, 'breaks')[0]!.text, /hostnameport=shop\.example\.test:443 .*certstorename=My/);
  });

  test('the text report names each setting, its line and the first step', () => {
    const text = formatAudits([audit(reg([]), netsh(DISABLED_443), iis())]);
    assert.match(text, /CVE-2009-3555 +yes/);
    assert.match(text, /AllowInsecureRenegoClients +1 +default 1 \(absent\)/);
    assert.match(text, /renegotiation needed here: yes/);
    assert.match(text, /1\. Ask for client certificates in the initial handshake/);
  });
});

describe('bad input', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-audit-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, data: Uint8Array | string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  };

  test('binary data, an empty file, an unknown kind and a missing file are usage errors', async () => {
    const random = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256);
    for (const [p, message] of [
      [file('random.bin', random), /binary data/],
      [file('empty.reg', ''), /empty file/],
      [file('notes.txt', 'hello\nworld\n'), /--kind/],
      [path.join(dir, 'missing.reg'), /no such file/],
    ] as const) {
      await assert.rejects(
        auditFiles({ files: [p] }),
        (e: Error) => e instanceof UsageError && message.test(e.message),
      );
    }
  });

  test('a 100 MB file is refused without being read', async () => {
    const p = path.join(dir, 'huge.reg');
    fs.writeFileSync(p, regExport([]));
    fs.truncateSync(p, 100 * 1024 * 1024);
    await assert.rejects(auditFiles({ files: [p] }), /over the 8 MiB limit/);
  });

  test('a registry export cut in the middle is read as far as it goes', async () => {
    const whole = regExport(ALL);
    for (const n of [3, 41, 150, 151, 301]) {
      const p = file(`cut${n}.reg`, whole.subarray(0, n));
      try {
        const [a] = await auditFiles({ files: [p] });
        assert.ok(a);
      } catch (e) {
        assert.ok(e instanceof UsageError, String(e));
      }
    }
  });

  test('the CLI exits 2 on a bad file and 1 on a vulnerable host, with one line on stderr', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'audit', ...args],
          { cwd: path.resolve(import.meta.dirname, '../..') },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
        ),
      );
    const bad = await run([file('bad.bin', new Uint8Array([0, 1, 2, 3, 0, 0, 9, 200]))]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^renego audit: .*bad\.bin: binary data/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const vulnerable = await run([
      file('s.reg', regExport([])),
      file('n.txt', netshOutput([DISABLED_443])),
      file('a.config', applicationHost()),
      '--json',
    ]);
    assert.equal(vulnerable.code, 1);
    const report = JSON.parse(vulnerable.stdout) as StackAudit;
    assert.deepEqual(report.vulnerabilities, ['CVE-2009-3555']);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:\n( {2}\d {2}.+\n)+\nExamples:\n( {2}\$ renego audit( .+)?\n){3}\n*$/);
  });
});
