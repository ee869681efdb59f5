/**
 * The realistic-configuration verdicts of docs/audit.md, from actual runs of the CLI: writes each
 * host's files with the test fixtures' builders (test/audit/fixtures.ts) into a temporary folder,
 * runs `renego audit FILES --json` (src/cli/main.ts under tsx, as `npm run renego` does), and
 * prints the table as Markdown. `npm run audit-examples` (also with --files DIR to keep them).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StackAudit } from '../src/audit/types.ts';
import {
  applicationHost,
  dword,
  haproxyConf,
  netshOutput,
  nginxConf,
  nodeServer,
  opensslConf,
  regExport,
  stunnelConf,
  type BindingSpec,
} from '../test/audit/fixtures.ts';

interface Example {
  readonly name: string;
  readonly files: Record<string, string | Uint8Array>;
  /** Where test/audit-live*.test.ts compares this configuration with a scan of the real program. */
  readonly live: string;
}

const binding = (negotiate: BindingSpec['negotiate']): string =>
  netshOutput([{ key: 'IP:port', address: '0.0.0.0:443', negotiate }]);
const APACHE_HOST = ['<VirtualHost *:443>', '  SSLEngine on', '  SSLCertificateFile server.pem'];
const APACHE_SECURE = ['  <Location /secure>', '    SSLVerifyClient require', '  </Location>', '</VirtualHost>', ''];
const NO_LIVE_WINDOWS = 'no (no SChannel here)';

export const EXAMPLES: readonly Example[] = [
  {
    name: 'IIS 2009: client certificates on /secure by renegotiation (Negotiate Client Certificate: Disabled)',
    files: {
      'schannel.reg': regExport([]),
      'sslcert.txt': binding('Disabled'),
      'applicationHost.config': applicationHost(),
    },
    live: NO_LIVE_WINDOWS,
  },
  {
    name: 'the same after advisory 977377 (DisableRenegoOnServer=1)',
    files: {
      'schannel.reg': regExport([dword('DisableRenegoOnServer', 1)]),
      'sslcert.txt': binding('Disabled'),
      'applicationHost.config': applicationHost(),
    },
    live: NO_LIVE_WINDOWS,
  },
  {
    name: 'the same after KB980436 strict mode (AllowInsecureRenegoClients=0)',
    files: {
      'schannel.reg': regExport([dword('AllowInsecureRenegoClients', 0)]),
      'sslcert.txt': binding('Disabled'),
      'applicationHost.config': applicationHost(),
    },
    live: NO_LIVE_WINDOWS,
  },
  {
    name: '977377 with clientcertnegotiation=enable (Negotiate Client Certificate: Enabled)',
    files: {
      'schannel.reg': regExport([dword('DisableRenegoOnServer', 1)]),
      'sslcert.txt': binding('Enabled'),
      'applicationHost.config': applicationHost(),
    },
    live: NO_LIVE_WINDOWS,
  },
  { name: 'OpenSSL 3 defaults', files: { 'openssl.cnf': opensslConf(undefined) }, live: 'openssl s_server' },
  {
    name: 'OpenSSL: Options = UnsafeLegacyRenegotiation, ClientRenegotiation',
    files: { 'openssl.cnf': opensslConf('UnsafeLegacyRenegotiation, ClientRenegotiation') },
    live: 'openssl s_server',
  },
  {
    name: 'Apache: SSLVerifyClient require at the host',
    files: { 'ssl.conf': [...APACHE_HOST, '  SSLVerifyClient require', '</VirtualHost>', ''].join('\n') },
    live: 'no (no Apache here)',
  },
  {
    name: 'Apache: SSLInsecureRenegotiation on, SSLVerifyClient require in <Location /secure>',
    files: { 'ssl.conf': [...APACHE_HOST, '  SSLInsecureRenegotiation on', ...APACHE_SECURE].join('\n') },
    live: 'no (no Apache here)',
  },
  { name: 'nginx defaults', files: { 'nginx.conf': nginxConf() }, live: 'nginx' },
  {
    name: 'nginx: ssl_conf_command Options UnsafeLegacyRenegotiation,ClientRenegotiation,-NoRenegotiation',
    files: {
      'nginx.conf': nginxConf({
        server: ['ssl_conf_command Options UnsafeLegacyRenegotiation,ClientRenegotiation,-NoRenegotiation;'],
      }),
    },
    live: 'nginx',
  },
  { name: 'Java (JSSE) defaults', files: { 'java.properties': 'jdk.tls.namedGroups=secp256r1\n' }, live: 'JSSE' },
  {
    name: 'Java: -Dsun.security.ssl.allowUnsafeRenegotiation=true',
    files: { 'java.properties': 'java -Dsun.security.ssl.allowUnsafeRenegotiation=true -jar app.jar\n' },
    live: 'JSSE',
  },
  { name: 'HAProxy defaults', files: { 'haproxy.cfg': haproxyConf() }, live: 'haproxy' },
  { name: 'stunnel defaults', files: { 'stunnel.conf': stunnelConf() }, live: 'stunnel' },
  {
    name: 'stunnel: renegotiation = no, ALLOW_UNSAFE_LEGACY_RENEGOTIATION, ALLOW_CLIENT_RENEGOTIATION',
    files: {
      'stunnel.conf': stunnelConf({
        service: [
          'renegotiation = no',
          'options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION',
          'options = ALLOW_CLIENT_RENEGOTIATION',
        ],
      }),
    },
    live: 'stunnel',
  },
  { name: 'Node 20 defaults', files: { 'server.mjs': nodeServer() }, live: 'node' },
  {
    name: 'Node: SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION, CLIENT_RENEG_LIMIT = Infinity',
    files: {
      'server.mjs': nodeServer({
        before: ['tls.CLIENT_RENEG_LIMIT = Infinity;'],
        options: ['secureOptions: constants.SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION,'],
      }),
    },
    live: 'node',
  },
];

const answer = (a: StackAudit, id: string) => a.verdicts.find((v) => v.id === id)?.answer ?? '';

function row(e: Example, dir: string): string {
  const names = Object.keys(e.files).map((name) => path.join(dir, name));
  for (const [name, content] of Object.entries(e.files)) fs.writeFileSync(path.join(dir, name), content);
  const repo = path.join(import.meta.dirname, '..');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', ...names, '--json'], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status === null || run.status > 2) throw new Error(`${e.name}: renego audit failed: ${run.stderr}`);
  const [a] = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StackAudit);
  if (a === undefined) throw new Error(`${e.name}: no audit printed`);
  const notable = a.findings
    .filter((f) => f.kind === 'vulnerable' || f.kind === 'breaks' || f.kind === 'costs' || f.kind === 'unreadable')
    .map((f) => f.kind);
  const findings = [...new Set(notable)].join(', ') || 'none';
  return `| ${e.name} | ${answer(a, 'CVE-2009-3555')} | ${answer(a, 'CVE-2011-1473')} | ${a.decision.renegotiationNeeded} | ${findings} | ${run.status} | ${e.live} |`;
}

export function exampleTable(keep?: string): string {
  const base = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'renego-audit-examples-'));
  try {
    const rows = EXAMPLES.map((e, i) => {
      const dir = path.join(base, String(i + 1).padStart(2, '0'));
      fs.mkdirSync(dir, { recursive: true });
      return row(e, dir);
    });
    return [
      '| configuration | CVE-2009-3555 | CVE-2011-1473 | renegotiation needed | findings | exit | compared live with a scan |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
  } finally {
    if (keep === undefined) fs.rmSync(base, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--files');
  process.stdout.write(exampleTable(i > 0 ? process.argv[i + 1] : undefined) + '\n');
}
