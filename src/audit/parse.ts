/** One file's text → its parsed settings, by kind (pure; src/tools/audit.ts reads the bytes). */
import { parseApacheConf } from './apache.ts';
import { AuditInputError, decodeText, detectKind } from './input.ts';
import { parseGnutlsPriority } from './gnutls.ts';
import { parseIisConfig } from './iis.ts';
import { parseJavaProperties } from './java.ts';
import { parseNetsh } from './netsh.ts';
import { parseOpensslConf } from './openssl.ts';
import { parseRegExport } from './schannel.ts';
import { INPUT_KINDS, type InputKind, type ParsedInput } from './types.ts';

export function parseInput(file: string, bytes: Uint8Array, kind?: InputKind): ParsedInput {
  const { text, encoding } = decodeText(bytes);
  const k = kind ?? detectKind(text);
  if (k === undefined) {
    throw new AuditInputError(`kind of file not recognised; name it with --kind (${INPUT_KINDS.join(', ')})`);
  }
  switch (k) {
    case 'schannel-reg':
      return parseRegExport(file, text, encoding === 'utf-16le' || encoding === 'utf-16be' ? 'utf-16le' : 'utf-8');
    case 'netsh-sslcert':
      return parseNetsh(file, text);
    case 'iis-config':
      return parseIisConfig(file, text);
    case 'openssl-conf':
      return parseOpensslConf(file, text);
    case 'gnutls-priority':
      return parseGnutlsPriority(file, text);
    case 'java-properties':
      return parseJavaProperties(file, text);
    case 'apache-conf':
      return parseApacheConf(file, text);
  }
}
