/**
 * Hostile input to every parser: random bytes, random text and every prefix of a valid file
 * either parse or raise AuditInputError, and the judge then answers without throwing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AuditInputError } from '../../src/audit/input.ts';
import { judge } from '../../src/audit/judge.ts';
import { parseInput } from '../../src/audit/parse.ts';
import { INPUT_KINDS } from '../../src/audit/types.ts';
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
} from './fixtures.ts';

function survives(bytes: Uint8Array, kind?: (typeof INPUT_KINDS)[number]): void {
  try {
    const parsed = parseInput('fuzz', bytes, kind);
    judge([parsed]);
  } catch (e) {
    assert.ok(e instanceof AuditInputError, `${kind ?? 'detected'}: ${String((e as Error).stack)}`);
  }
}

test('random bytes only ever raise AuditInputError, whatever kind is named', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom(undefined, ...INPUT_KINDS), (bytes, kind) =>
      survives(bytes, kind),
    ),
    { numRuns: 600 },
  );
});

test('random text with the formats’ punctuation only ever raises AuditInputError', () => {
  const piece = fc.constantFrom(
    '[',
    ']',
    '=',
    '"',
    ':',
    '\\',
    '\r\n',
    '\n',
    '<location path="a">',
    '</location>',
    '<access sslFlags="',
    'dword:',
    'hex(4):',
    'IP:port : ',
    'Negotiate Client Certificate : ',
    '%UNSAFE_RENEGOTIATION',
    '-D',
    'Options = ',
    '[x]',
    'server {',
    '}',
    ';',
    'include ',
    'ssl_verify_client on;',
    'bind :443 ssl ',
    'renegotiation = ',
    'options = ',
    'secureOptions: ',
    'CLIENT_RENEG_LIMIT = ',
    '-----',
  );
  fc.assert(
    fc.property(
      fc.array(fc.oneof(piece, fc.string({ maxLength: 8 })), { maxLength: 80 }),
      fc.constantFrom(...INPUT_KINDS),
      (parts, kind) => survives(new TextEncoder().encode(parts.join('')), kind),
    ),
    { numRuns: 600 },
  );
});

test('every prefix of a valid file parses or raises AuditInputError', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const files = [
    regExport([dword('DisableRenegoOnServer', 1), '"UseScsvForTls"=hex:01,00,\\', '  00,00']),
    regExport([dword('AllowInsecureRenegoClients', 0)], { encoding: 'utf-8' }),
    enc(netshOutput([{ key: 'IP:port', address: '[::]:443', negotiate: 'Disabled', newer: true }])),
    enc(applicationHost()),
    enc(opensslConf('UnsafeLegacyRenegotiation')),
    enc(nginxConf({ server: ['ssl_verify_client on;', 'ssl_conf_command Options "UnsafeLegacyRenegotiation";'] })),
    enc(haproxyConf({ global: ['ssl-default-server-options no-renegotiate'] })),
    enc(stunnelConf({ service: ['renegotiation = no', 'options = ALLOW_CLIENT_RENEGOTIATION'] })),
    enc(
      nodeServer({
        before: ['tls.CLIENT_RENEG_LIMIT = 10;'],
        options: ['secureOptions: constants.SSL_OP_NO_RENEGOTIATION,'],
      }),
    ),
  ];
  for (const f of files) for (let n = 0; n <= f.length; n += 3) survives(f.subarray(0, n));
});

test('inputs built to make the parsers backtrack are read in linear time', () => {
  const n = 1024 * 1024;
  const cases = [
    'REGEDIT4\n[k]\n"a"=hex:' + '00,\\\n'.repeat(n / 6),
    '<configuration>' + '<a x="" '.repeat(n / 8),
    'SSL Certificate bindings:\n' + 'IP:port : '.repeat(n / 10),
    '[a]\n' + '= '.repeat(n / 2),
    'http {\n' + '"'.repeat(n),
    'http {\n' + '{ '.repeat(n / 2),
    "import tls from 'node:tls';\n" + 'CLIENT_RENEG_LIMIT ='.repeat(n / 20),
    'global\n' + 'bind '.repeat(n / 5),
  ];
  for (const text of cases) {
    const start = Date.now();
    survives(new TextEncoder().encode(text));
    assert.ok(Date.now() - start < 3000, `${text.slice(0, 20)}: ${Date.now() - start} ms`);
  }
});
