/**
 * An OpenSSL configuration file read for the options that govern renegotiation. OpenSSL applies
 * SSL_CONF commands to every SSL_CTX from the section reached by `openssl_conf = A` (default
 * section) → `[A] ssl_conf = B` → `[B] system_default = C` → `[C] Options = …`; other sections
 * under B apply only to applications that load them by name. `Options` is a comma-separated
 * list; a leading `-` clears a flag (SSL_CONF_cmd(3)). Flags: UnsafeLegacyRenegotiation
 * (SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION), UnsafeLegacyServerConnect
 * (SSL_OP_LEGACY_SERVER_CONNECT), ClientRenegotiation (SSL_OP_ALLOW_CLIENT_RENEGOTIATION, 3.0),
 * NoRenegotiation (SSL_OP_NO_RENEGOTIATION, 1.1.1), ExtendedMasterSecret (RFC 7627).
 */
import { lineSource, type SourceLine } from './input.ts';
import {
  OPENSSL_FLAGS,
  type OpensslConf,
  type OpensslFlag,
  type OpensslOption,
  type ParseNote,
  type Source,
} from './types.ts';

interface Entry {
  readonly key: string;
  readonly value: string;
  readonly source: Source;
}

function sections(lines: readonly SourceLine[], notes: ParseNote[]): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>([['default', []]]);
  let current = out.get('default')!;
  for (const l of lines) {
    const line = l.text.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const header = /^\[\s*([^\]\s]+)\s*\]$/.exec(line);
    if (header) {
      current = out.get(header[1]!) ?? [];
      out.set(header[1]!, current);
      continue;
    }
    if (line.startsWith('.include') || line.startsWith('.pragma')) {
      if (line.startsWith('.include')) {
        notes.push({ source: lineSource(l), message: 'an included file is not read: audit it too' });
      }
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!kv) {
      notes.push({ source: lineSource(l), message: 'not a `name = value` line: damaged or truncated' });
      continue;
    }
    current.push({
      key: kv[1]!.trim(),
      value: kv[2]!.replace(/^"(.*)"$/, '$1').trim(),
      source: lineSource(l),
    });
  }
  return out;
}

function lookup(s: Map<string, Entry[]>, section: string, key: string): string | undefined {
  return s
    .get(section)
    ?.filter((e) => e.key.toLowerCase() === key.toLowerCase())
    .at(-1)?.value;
}

export function parseOpensslConf(file: string, lines: readonly SourceLine[]): OpensslConf {
  const notes: ParseNote[] = [];
  const s = sections(lines, notes);
  const init = lookup(s, 'default', 'openssl_conf');
  const sslConf = init !== undefined ? lookup(s, init, 'ssl_conf') : undefined;
  const systemDefault = sslConf !== undefined ? lookup(s, sslConf, 'system_default') : undefined;
  const named = new Set(sslConf !== undefined ? (s.get(sslConf) ?? []).map((e) => e.value) : []);
  const options: OpensslOption[] = [];
  for (const [section, entries] of s) {
    for (const e of entries) {
      if (e.key.toLowerCase() !== 'options') continue;
      for (const item of e.value
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        const set = !item.startsWith('-');
        const name = item.replace(/^[-+]/, '');
        const flag = OPENSSL_FLAGS.find((f) => f.toLowerCase() === name.toLowerCase());
        if (flag === undefined) continue;
        options.push({ flag: flag as OpensslFlag, set, applied: section === systemDefault, section, source: e.source });
        if (section !== systemDefault) {
          notes.push({
            source: e.source,
            message: named.has(section)
              ? `[${section}] applies only to applications that load "${section}" by name (SSL_CTX_config), not to every program`
              : `[${section}] is not reached from openssl_conf → ssl_conf → system_default: OpenSSL does not apply it`,
          });
        }
      }
    }
  }
  return { kind: 'openssl-conf', file, options, notes };
}
