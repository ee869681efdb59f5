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
