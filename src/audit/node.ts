/**
 * Node.js source (JavaScript or TypeScript), or a file with a NODE_OPTIONS line (a unit file, an
 * env file, a Dockerfile), read by static pattern matching: what the text says, line by line.
 * A value computed at run time, set in another module or passed on the command line is not
 * seen; the judge says so. Comment lines (`//`, `*`) are skipped.
 */
import { lineSource, type SourceLine } from './input.ts';
import type { NodeFact, NodeSource, ParseNote } from './types.ts';

const PATTERNS: readonly [RegExp, (m: RegExpExecArray) => NodeFact][] = [
  [
    /\bCLIENT_RENEG_(LIMIT|WINDOW)\s*=(?!=)\s*([^;,)\n]+)/g,
    (m) => ({ type: 'reneg-limit', name: `CLIENT_RENEG_${m[1]}` as 'CLIENT_RENEG_LIMIT', value: m[2]!.trim() }),
  ],
  [/\bSSL_OP_[A-Z0-9_]+/g, (m) => ({ type: 'ssl-op', name: m[0] })],
  [/\bsecureOptions\s*[:=]\s*([^,}\n]+)/g, (m) => ({ type: 'secure-options', expression: m[1]!.trim() })],
  [/\.renegotiate\s*\(/g, () => ({ type: 'renegotiate-call' })],
  [/\.disableRenegotiation\s*\(/g, () => ({ type: 'disable-renegotiation' })],
  [
    /(?:^|[\s"'=])(--tls-(?:min|max)-v1\.[0-3]|--tls-cipher-list(?:=\S+)?|--openssl-config(?:=\S+)?|--openssl-legacy-provider)\b/g,
    (m) => ({ type: 'tls-flag', flag: m[1]! }),
  ],
  [/\bminVersion\s*:\s*['"`](TLSv1(?:\.[123])?)['"`]/g, (m) => ({ type: 'min-version', value: m[1]! })],
  [
    /\b(?:tls|https|http2)\.(?:createServer|createSecureServer)\s*\(|\bcreateSecureServer\s*\(|new\s+(?:tls\.)?TLSSocket\s*\([^)]*isServer/g,
    () => ({ type: 'tls-server' }),
  ],
];

export function parseNodeSource(file: string, lines: readonly SourceLine[]): NodeSource {
  const facts: (NodeFact & { source: ReturnType<typeof lineSource> })[] = [];
  const notes: ParseNote[] = [];
  let inBlockComment = false;
  for (const l of lines) {
    let text = l.text;
    if (inBlockComment) {
      const end = text.indexOf('*/');
      if (end < 0) continue;
      text = text.slice(end + 2);
      inBlockComment = false;
    }
    text = text.replace(/\/\*.*?\*\//g, '');
    const open = text.indexOf('/*');
    if (open >= 0) {
      text = text.slice(0, open);
      inBlockComment = true;
    }
    if (/^\s*\/\//.test(text)) continue;
    // `import { CLIENT_RENEG_LIMIT } from 'node:tls'` names a constant; it sets nothing.
    if (/^\s*import\b/.test(text)) continue;
    for (const [re, make] of PATTERNS) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) facts.push({ ...make(m), source: lineSource(l) });
    }
  }
  return { kind: 'node-source', file, facts, notes };
}
