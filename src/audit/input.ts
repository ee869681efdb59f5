/**
 * From a file's bytes to text and a kind: the audit's only defence against hostile input.
 * Files are bounded in size before they are read (src/tools/audit.ts), decoded by their byte
 * order mark (reg export writes UTF-16LE with one; REGEDIT4 and most configs are ANSI or
 * UTF-8), and refused when they look binary, so no parser ever sees arbitrary bytes.
 */
import type { InputKind, Source } from './types.ts';

/** Larger inputs are refused: a whole SCHANNEL export or applicationHost.config is far smaller. */
export const MAX_INPUT_BYTES = 8 * 1024 * 1024;

/** An input the audit cannot read; the message says what is wrong and what to do. */
export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
}

export type TextEncoding = 'utf-16le' | 'utf-16be' | 'utf-8' | 'latin1';

export interface DecodedText {
  readonly text: string;
  readonly encoding: TextEncoding;
}

function utf16WithoutBom(bytes: Uint8Array): boolean {
  // ASCII text in UTF-16LE has a zero in every odd byte.
  const n = Math.min(bytes.length, 512) & ~1;
  if (n < 4) return false;
  let zeros = 0;
  for (let i = 1; i < n; i += 2) if (bytes[i] === 0) zeros++;
  return zeros > (n / 2) * 0.9;
}

export function decodeText(bytes: Uint8Array): DecodedText {
  if (bytes.length > MAX_INPUT_BYTES) {
    throw new AuditInputError(`larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB: not a configuration file`);
  }
  if (bytes.length === 0) throw new AuditInputError('empty file');
  let decoded: DecodedText;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    // A file cut after an odd number of bytes ends in half a character: drop it, the parser
    // then sees a truncated last line.
    const whole = bytes.subarray(2, bytes.length - (bytes.length % 2));
    decoded = { text: new TextDecoder('utf-16le').decode(whole), encoding: 'utf-16le' };
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    decoded = { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'utf-16be' };
  } else if (utf16WithoutBom(bytes)) {
    decoded = { text: new TextDecoder('utf-16le').decode(bytes), encoding: 'utf-16le' };
  } else {
    const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    try {
      decoded = { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start)), encoding: 'utf-8' };
    } catch {
      // REGEDIT4 and older configuration files are in the ANSI code page.
      decoded = { text: new TextDecoder('latin1').decode(bytes), encoding: 'latin1' };
    }
  }
  if (looksBinary(decoded.text)) throw new AuditInputError('binary data, not a text configuration file');
  return decoded;
}

function looksBinary(text: string): boolean {
  const sample = text.slice(0, 65536);
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c === 0 || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0xfffd) control++;
  }
  return control > 0 && control >= Math.max(1, sample.length / 200);
}

/** The text as lines with their 1-based numbers (CRLF, LF or CR line ends). */
export function linesOf(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

export function sourceAt(file: string, line: number, text: string): Source {
  return { file, line, text: text.trim().slice(0, 200) };
}

/** The kind an input's content shows, or undefined: the caller asks for --kind. */
export function detectKind(text: string): InputKind | undefined {
  const head = text.slice(0, 4096).replace(/^\uFEFF/, '');
  if (/^\s*(Windows Registry Editor Version 5\.00|REGEDIT4)\s*$/m.test(head.split(/\r?\n/, 3).join('\n'))) {
    return 'schannel-reg';
  }
  if (
    /SSL Certificate bindings/i.test(head) ||
    /^\s*(IP:port|Hostname:port|Central Certificate Store)\s*:/im.test(head)
  ) {
    return 'netsh-sslcert';
  }
  // A localized netsh: a dashed rule, then a key line whose value is an address:port.
  if (
    /^-{5,}\s*$/m.test(head) &&
    /^\s*\S[^:\n]*:\S*\s*:\s*(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]|[\w.-]+):\d+\s*$/m.test(head)
  ) {
    return 'netsh-sslcert';
  }
  if (
    /\bCLIENT_RENEG_(LIMIT|WINDOW)\b|\bNODE_OPTIONS\s*=|\brequire\(\s*['"](node:)?(tls|https|http2)['"]\s*\)|\bfrom\s+['"](node:)?(tls|https|http2)['"]/.test(
      text,
    )
  ) {
    return 'node-source';
  }
  if (/<configuration[\s>]/.test(head) || /<system\.(webServer|applicationHost)[\s>]/.test(text)) return 'iis-config';
  if (/(^|[\s"'])(-D)?(sun\.security\.ssl\.|jdk\.tls\.)/m.test(text)) return 'java-properties';
  if (/^\s*(SSLEngine|SSLVerifyClient|SSLInsecureRenegotiation|SSLCertificateFile)\b|^\s*<VirtualHost\b/im.test(text)) {
    return 'apache-conf';
  }
  if (
    /^\s*(http|events|stream|mail)\s*\{|^\s*(ssl_certificate|ssl_verify_client|ssl_protocols)\s[^;\n]*;|^\s*listen\s[^;\n]*\bssl\b[^;\n]*;/m.test(
      text,
    )
  ) {
    return 'nginx-conf';
  }
  if (
    /^\s*(global|defaults)\s*$/m.test(head) ||
    /^\s*(ssl-default-(bind|server)-\S+|(frontend|backend|listen)\s+\S+\s*$|bind\s+\S+.*\sssl(\s|$))/m.test(head)
  ) {
    return 'haproxy-conf';
  }
  if (
    /^\s*(accept|connect|renegotiation|foreground|include|chroot|setuid|setgid)\s*=/im.test(head) &&
    !/^\s*(openssl_conf|ssl_conf|system_default)\s*=/m.test(head)
  ) {
    return 'stunnel-conf';
  }
  if (/^\s*\[\s*[\w.$-]+\s*\]\s*$/m.test(head) || /^\s*(openssl_conf|ssl_conf|system_default)\s*=/m.test(head)) {
    return 'openssl-conf';
  }
  if (
    /%[A-Z_]*RENEGOTIATION\b/.test(text) ||
    /^\s*"?(NORMAL|SECURE(128|192|256)?|PERFORMANCE|LEGACY|NONE|PFS|SUITEB(128|192)|@SYSTEM|SYSTEM)(:|"?\s*$)/m.test(
      head,
    )
  ) {
    return 'gnutls-priority';
  }
  return undefined;
}

/** One line of configuration with the file it came from (includes splice other files' lines in). */
export interface SourceLine {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly text: string;
}

export function textLines(file: string, text: string): SourceLine[] {
  return linesOf(text.replace(/^\uFEFF/, '')).map((t, i) => ({ file, line: i + 1, text: t }));
}

export const lineSource = (l: SourceLine): Source => sourceAt(l.file, l.line, l.text);
