/** Inputs for the audit tests, generated here: registry exports, netsh output, IIS configs. */

export const SCHANNEL_KEY = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL';

/** A `reg export` file: UTF-16LE with a BOM and CRLF (as reg.exe writes it), or UTF-8. */
export function regExport(
  valueLines: readonly string[],
  o: { encoding?: 'utf-16le' | 'utf-8'; header?: string; key?: string; extra?: string } = {},
): Uint8Array {
  const text = [
    o.header ?? 'Windows Registry Editor Version 5.00',
    '',
    `[${o.key ?? SCHANNEL_KEY}]`,
    ...valueLines,
    '',
    `[${SCHANNEL_KEY}\\Protocols]`,
    '',
    `[${SCHANNEL_KEY}\\Protocols\\TLS 1.2\\Server]`,
    '"Enabled"=dword:00000001',
    '',
    o.extra ?? '',
  ].join('\r\n');
  if (o.encoding === 'utf-8') return new TextEncoder().encode(text);
  const bytes = Buffer.from('\ufeff' + text, 'utf16le');
  return new Uint8Array(bytes);
}

export const dword = (name: string, v: number): string => `"${name}"=dword:${v.toString(16).padStart(8, '0')}`;

export interface BindingSpec {
  key: 'IP:port' | 'Hostname:port' | 'Central Certificate Store';
  address: string;
  negotiate: 'Enabled' | 'Disabled';
  newer?: boolean;
}

function block(b: BindingSpec, i: number): string[] {
  const pad = (label: string) => `    ${label.padEnd(29)}: `;
  return [
    `${pad(b.key)}${b.address}`,
    `${pad('Certificate Hash')}${'ab12'.repeat(9)}0${i}cd`,
    `${pad('Application ID')}{4dc3e181-e14b-4a21-b022-59fc669b0914}`,
    `${pad('Certificate Store Name')}My`,
    '    Verify Client Certificate Revocation : Enabled',
    '    Verify Revocation Using Cached Client Certificate Only : Disabled',
    `${pad('Usage Check')}Enabled`,
    `${pad('Revocation Freshness Time')}0`,
    `${pad('URL Retrieval Timeout')}0`,
    `${pad('Ctl Identifier')}(null)`,
    `${pad('Ctl Store Name')}(null)`,
    `${pad('DS Mapper Usage')}Disabled`,
    `    Negotiate Client Certificate : ${b.negotiate}`,
    ...(b.newer
      ? [
          `${pad('Reject Connections')}Disabled`,
          `${pad('Disable HTTP2')}Not Set`,
          `${pad('Disable QUIC')}Not Set`,
          `${pad('Disable Legacy TLS Versions')}Set`,
        ]
      : []),
  ];
}

export function netshOutput(bindings: readonly BindingSpec[]): string {
  return [
    '',
    'SSL Certificate bindings:',
    '-------------------------',
    '',
    ...bindings.flatMap((b, i) => [...block(b, i), '']),
    '',
  ].join('\r\n');
}

/** German netsh output: labels the audit must not guess at. */
export const NETSH_GERMAN = [
  '',
  'SSL-Zertifikatbindungen:',
  '-------------------------',
  '',
  '    IP:Port                      : 0.0.0.0:443',
  '    Zertifikathash               : ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12',
  '    Anwendungs-ID                : {4dc3e181-e14b-4a21-b022-59fc669b0914}',
  '    Clientzertifikat aushandeln  : Deaktiviert',
  '',
].join('\r\n');

export function applicationHost(
  o: { secureFlags?: string; rootFlags?: string; site?: string; binding?: string } = {},
): string {
  const site = o.site ?? 'Default Web Site';
  return `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="${site}" id="1">
        <bindings>
          <binding protocol="http" bindingInformation="*:80:" />
          <binding protocol="https" bindingInformation="${o.binding ?? '*:443:'}" sslFlags="0" />
        </bindings>
      </site>
    </sites>
  </system.applicationHost>
  <system.webServer>
    <security>
      <access sslFlags="${o.rootFlags ?? 'None'}" />
    </security>
  </system.webServer>
  <!-- <location path="${site}/commented"><system.webServer><security><access sslFlags="SslRequireCert" /></security></system.webServer></location> -->
  <location path="${site}/secure" overrideMode="Allow">
    <system.webServer>
      <security>
        <access sslFlags="${o.secureFlags ?? 'Ssl, SslNegotiateCert'}" />
      </security>
    </system.webServer>
  </location>
  <location path="${site}/public">
    <system.webServer>
      <security>
        <access sslFlags="Ssl" />
      </security>
    </system.webServer>
  </location>
</configuration>
`;
}

/** An OpenSSL configuration whose system_default section carries these Options. */
export function opensslConf(options: string | undefined, extra = ''): string {
  return [
    '# renego audit test',
    'openssl_conf = openssl_init',
    '',
    '[openssl_init]',
    'ssl_conf = ssl_sect',
    '',
    '[ssl_sect]',
    'system_default = system_default_sect',
    '',
    '[system_default_sect]',
    'CipherString = DEFAULT:@SECLEVEL=1',
    ...(options === undefined ? [] : [`Options = ${options}`]),
    extra,
    '',
  ].join('\n');
}

/** An nginx configuration with one TLS server (and, with paths, what a live test needs to run it). */
export function nginxConf(
  o: {
    port?: number;
    cert?: string;
    key?: string;
    dir?: string;
    server?: readonly string[];
    http?: readonly string[];
  } = {},
): string {
  const dir = o.dir ?? '/var/lib/nginx';
  return [
    '# renego audit test',
    'daemon off;',
    'master_process off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log notice;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir};`),
    ...(o.http ?? []).map((l) => `  ${l}`),
    '  server {',
    `    listen 127.0.0.1:${o.port ?? 443} ssl;`,
    `    ssl_certificate ${o.cert ?? 'server.pem'};`,
    `    ssl_certificate_key ${o.key ?? 'server.key'};`,
    ...(o.server ?? []).map((l) => `    ${l}`),
    '    location / { return 200 "ok\\n"; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** A HAProxy configuration with one TLS frontend that answers itself (no backend needed). */
export function haproxyConf(
  o: { port?: number; pem?: string; global?: readonly string[]; bind?: string } = {},
): string {
  return [
    '# renego audit test',
    'global',
    ...(o.global ?? []).map((l) => `  ${l}`),
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend fe',
    `  bind 127.0.0.1:${o.port ?? 443} ssl crt ${o.pem ?? 'server.pem'}${o.bind ? ` ${o.bind}` : ''}`,
    '  http-request return status 200 content-type text/plain string ok',
    '',
  ].join('\n');
}

/** A stunnel configuration with one server service in front of a TCP backend. */
export function stunnelConf(
  o: {
    port?: number;
    backend?: number;
    cert?: string;
    key?: string;
    service?: readonly string[];
    global?: readonly string[];
  } = {},
): string {
  return [
    '; renego audit test',
    'foreground = yes',
    'pid =',
    ...(o.global ?? []),
    '[tls]',
    `accept = 127.0.0.1:${o.port ?? 443}`,
    `connect = 127.0.0.1:${o.backend ?? 80}`,
    `cert = ${o.cert ?? 'server.pem'}`,
    `key = ${o.key ?? 'server.key'}`,
    ...(o.service ?? []),
    '',
  ].join('\n');
}

/**
 * A runnable node:tls server (ES module) whose renegotiation settings are the lines given: the
 * audit reads this text, and a live test runs it with `node FILE PORT CERT KEY`.
 */
export function nodeServer(o: { before?: readonly string[]; options?: readonly string[] } = {}): string {
  return [
    "import tls from 'node:tls';",
    "import { constants } from 'node:crypto';",
    "import { readFileSync } from 'node:fs';",
    '',
    'const [port, cert, key] = process.argv.slice(2);',
    ...(o.before ?? []),
    'const server = tls.createServer({',
    '  cert: readFileSync(cert),',
    '  key: readFileSync(key),',
    ...(o.options ?? []).map((l) => `  ${l}`),
    '}, (socket) => {',
    "  socket.on('error', () => socket.destroy());",
    "  socket.on('data', (d) => socket.write(d));",
    '});',
    "server.on('tlsClientError', () => {});",
    "server.listen(Number(port), '127.0.0.1', () => console.log('listening'));",
    'void constants;',
    '',
  ].join('\n');
}
