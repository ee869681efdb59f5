/** One file's text → its parsed settings, by kind (pure; src/tools/audit.ts reads the bytes). */
import { parseApacheConf } from './apache.ts';
import { AuditInputError, decodeText, detectKind, textLines, type SourceLine, type TextEncoding } from './input.ts';
import { parseGnutlsPriority } from './gnutls.ts';
import { parseHaproxyConf } from './haproxy.ts';
import { parseIisConfig } from './iis.ts';
import { parseJavaProperties } from './java.ts';
import { parseNetsh } from './netsh.ts';
import { parseNginxConf } from './nginx.ts';
import { parseNodeSource } from './node.ts';
import { parseOpensslConf } from './openssl.ts';
import { parseRegExport } from './schannel.ts';
import { parseStunnelConf } from './stunnel.ts';
import { INPUT_KINDS, type InputKind, type ParsedInput } from './types.ts';

export interface DecodedInput {
  readonly kind: InputKind;
  readonly text: string;
  readonly encoding: TextEncoding;
}

/** Bytes → text and kind (named, or recognised from the content). */
export function decodeInput(bytes: Uint8Array, kind?: InputKind): DecodedInput {
  const { text, encoding } = decodeText(bytes);
  const k = kind ?? detectKind(text);
  if (k === undefined) {
    throw new AuditInputError(`kind of file not recognised; name it with --kind (${INPUT_KINDS.join(', ')})`);
  }
  return { kind: k, text, encoding };
}

export function parseInput(file: string, bytes: Uint8Array, kind?: InputKind): ParsedInput {
  return parseDecoded(file, decodeInput(bytes, kind));
}

/**
 * A decoded file → its settings. `lines` replaces the file's own lines when its includes were
 * spliced in (src/audit/includes.ts); each line keeps the file and line it came from.
 */
export function parseDecoded(file: string, d: DecodedInput, lines?: readonly SourceLine[]): ParsedInput {
  const own = () => lines ?? textLines(file, d.text);
  switch (d.kind) {
    case 'schannel-reg':
      return parseRegExport(
        file,
        d.text,
        d.encoding === 'utf-16le' || d.encoding === 'utf-16be' ? 'utf-16le' : 'utf-8',
      );
    case 'netsh-sslcert':
      return parseNetsh(file, d.text);
    case 'iis-config':
      return parseIisConfig(file, d.text);
    case 'openssl-conf':
      return parseOpensslConf(file, own());
    case 'gnutls-priority':
      return parseGnutlsPriority(file, d.text);
    case 'java-properties':
      return parseJavaProperties(file, d.text);
    case 'apache-conf':
      return parseApacheConf(file, own());
    case 'nginx-conf':
      return parseNginxConf(file, own());
    case 'haproxy-conf':
      return parseHaproxyConf(file, own());
    case 'stunnel-conf':
      return parseStunnelConf(file, own());
    case 'node-source':
      return parseNodeSource(file, own());
  }
}
