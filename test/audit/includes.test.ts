/**
 * Includes followed as each product follows them (Apache Include/IncludeOptional, nginx include,
 * OpenSSL .include, stunnel include = DIR): globs, folders, cycles, depth and size bounds, and
 * every finding naming the file and line its value came from. Real files in a temporary folder,
 * read through `renego audit`'s own file reading (auditFiles).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { MAX_INCLUDE_DEPTH } from '../../src/audit/includes.ts';
import { auditExitCode } from '../../src/audit/judge.ts';
import { auditFiles } from '../../src/tools/audit.ts';
import { nginxConf, opensslConf, stunnelConf } from './fixtures.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-audit-includes-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes files under a fresh folder; returns the folder. */
function tree(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = path.join(root, name);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('Apache Include and IncludeOptional', () => {
  const ssl = [
    '<VirtualHost *:443>',
    '  SSLEngine on',
    '  SSLInsecureRenegotiation on',
    '  <Location /secure>',
    '    SSLVerifyClient require',
    '  </Location>',
    '</VirtualHost>',
    '',
  ].join('\n');
  test('a glob under ServerRoot is followed, a missing IncludeOptional is nothing, and findings name the included file', async () => {
    const dir = tree('apache', {
      'httpd.conf': 'ServerRoot "."\nSSLEngine on\nInclude conf.d/*.conf\nIncludeOptional sites-enabled/*.conf\n',
      'conf.d/ssl.conf': ssl,
      'conf.d/README': 'not a .conf file\n',
    });
    const [a] = await auditFiles({ files: [path.join(dir, 'httpd.conf')] });
    assert.equal(a?.stack, 'apache');
    assert.deepEqual(a.files, [path.join(dir, 'httpd.conf'), path.join(dir, 'conf.d/ssl.conf')]);
    assert.equal(a.verdicts[0]?.answer, 'yes');
    const v = a.findings.find((f) => f.kind === 'vulnerable');
    assert.ok(
      v?.sources.some((s) => s.file === path.join(dir, 'conf.d/ssl.conf') && s.line === lineOf(ssl, 'SSLInsecure')),
    );
    assert.ok(v?.sources.some((s) => s.line === lineOf(ssl, 'SSLVerifyClient require')));
    assert.equal(a.findings.filter((f) => f.kind === 'unreadable').length, 0);
  });

  test('a missing Include is reported (httpd would not start): exit 2 when nothing else is wrong', async () => {
    const dir = tree('apache-missing', { 'httpd.conf': 'SSLEngine on\nInclude conf.d/ssl.conf\n' });
    const audits = await auditFiles({ files: [path.join(dir, 'httpd.conf')] });
    assert.ok(audits[0]?.findings.some((f) => f.kind === 'unreadable' && /no such file to include/.test(f.text)));
    assert.equal(auditExitCode(audits), 2);
  });
});

describe('nginx include', () => {
  test('an include inside a server block keeps the block, and the setting names its file and line', async () => {
    const main = nginxConf({ server: ['include snippets/*.conf;'] });
    const dir = tree('nginx', {
      'nginx.conf': main,
      'snippets/client-certs.conf': '# client certificates\nssl_verify_client on;\n',
    });
    const [a] = await auditFiles({ files: [path.join(dir, 'nginx.conf')] });
    const s = a?.settings.find((x) => x.name.startsWith('ssl_verify_client'));
    assert.equal(s?.name, 'ssl_verify_client in http > server');
    assert.deepEqual([s?.source?.file, s?.source?.line], [path.join(dir, 'snippets/client-certs.conf'), 2]);
  });

  test('a cycle is reported once and not followed again; no crash, no hang', async () => {
    const dir = tree('nginx-cycle', {
      'nginx.conf': nginxConf({ http: ['include loop.conf;'] }),
      'loop.conf': 'include nginx.conf;\n',
    });
    const [a] = await auditFiles({ files: [path.join(dir, 'nginx.conf')] });
    const cycle = a?.findings.filter((f) => /include cycle/.test(f.text)) ?? [];
    assert.equal(cycle.length, 1);
    assert.equal(cycle[0]?.sources[0]?.file, path.join(dir, 'loop.conf'));
  });

  test(`includes nested deeper than ${MAX_INCLUDE_DEPTH} stop there`, async () => {
    const files: Record<string, string> = { 'nginx.conf': nginxConf({ http: ['include d0.conf;'] }) };
    for (let i = 0; i < MAX_INCLUDE_DEPTH + 4; i++) files[`d${i}.conf`] = `include d${i + 1}.conf;\n`;
    files[`d${MAX_INCLUDE_DEPTH + 4}.conf`] = '';
    const dir = tree('nginx-deep', files);
    const [a] = await auditFiles({ files: [path.join(dir, 'nginx.conf')] });
    assert.ok(a?.findings.some((f) => /nested deeper than/.test(f.text)));
    assert.ok(a.files.length <= MAX_INCLUDE_DEPTH + 2);
  });

  test('a 100 MB included file is refused without being read, a binary one is named; the rest is judged', async () => {
    const dir = tree('nginx-bad', {
      'nginx.conf': nginxConf({ http: ['include huge.conf;', 'include random.bin;'] }),
      'random.bin': new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256),
    });
    fs.writeFileSync(path.join(dir, 'huge.conf'), '');
    fs.truncateSync(path.join(dir, 'huge.conf'), 100 * 1024 * 1024);
    const audits = await auditFiles({ files: [path.join(dir, 'nginx.conf')] });
    const texts = audits[0]?.findings.map((f) => f.text).join('\n') ?? '';
    assert.match(texts, /huge\.conf: the files together pass 8 MiB/);
    assert.equal(audits[0]?.verdicts[0]?.answer, 'no');
    assert.equal(auditExitCode(audits), 2);
  });
});

describe('OpenSSL .include', () => {
  test('a folder gives its .cnf and .conf files; Options there count, with their file and line', async () => {
    const main = opensslConf(undefined, '.include conf.d');
    const extra = '[system_default_sect]\nOptions = UnsafeLegacyRenegotiation\n';
    const dir = tree('openssl', { 'openssl.cnf': main, 'conf.d/10-unsafe.cnf': extra, 'conf.d/notes.txt': 'x = y\n' });
    const [a] = await auditFiles({ files: [path.join(dir, 'openssl.cnf')] });
    const s = a?.settings.find((x) => x.name === 'UnsafeLegacyRenegotiation');
    assert.equal(s?.value, 'set');
    assert.deepEqual([s?.source?.file, s?.source?.line], [path.join(dir, 'conf.d/10-unsafe.cnf'), 2]);
    assert.equal(a?.files.length, 2);
  });
});

describe('stunnel include = DIRECTORY', () => {
  test('every file of the folder, in alphabetical order, services and all', async () => {
    const dir = tree('stunnel', {
      'stunnel.conf': 'foreground = yes\ninclude = conf.d\n',
      'conf.d/00-global.conf': 'options = ALLOW_CLIENT_RENEGOTIATION\n',
      'conf.d/10-service.conf': stunnelConf()
        .replace(/^.*foreground.*$/m, '')
        .replace(/^pid =$/m, ''),
    });
    const [a] = await auditFiles({ files: [path.join(dir, 'stunnel.conf')] });
    assert.equal(a?.stack, 'stunnel');
    assert.equal(a.verdicts.find((v) => v.id === 'CVE-2011-1473')?.answer, 'yes');
    const s = a.settings.find((x) => x.name === '[tls] options ALLOW_CLIENT_RENEGOTIATION');
    assert.equal(s?.source?.file, path.join(dir, 'conf.d/00-global.conf'));
  });
});
