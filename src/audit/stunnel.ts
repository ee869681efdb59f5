/**
 * stunnel configuration (stunnel(8)): `key = value` lines, `;` or `#` comments, `[service]`
 * sections; the lines before the first section are global, and service-level options there are
 * every service's defaults. `include = DIRECTORY` is spliced in by src/audit/includes.ts.
 */
import { lineSource, type SourceLine } from './input.ts';
import type { ParseNote, StunnelConf, StunnelEntry } from './types.ts';

export function parseStunnelConf(file: string, lines: readonly SourceLine[]): StunnelConf {
  const entries: StunnelEntry[] = [];
  const notes: ParseNote[] = [];
  let section = '';
  for (const l of lines) {
    const text = l.text.trim();
    if (text === '' || text.startsWith(';') || text.startsWith('#')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(text);
    if (header) {
      section = header[1]!;
      continue;
    }
    const kv = /^([\w.-]+)\s*=\s*(.*)$/.exec(text);
    if (!kv) {
      notes.push({ source: lineSource(l), message: 'not a `key = value` line: damaged or truncated' });
      continue;
    }
    entries.push({ section, key: kv[1]!.toLowerCase(), value: kv[2]!.trim(), source: lineSource(l) });
  }
  return { kind: 'stunnel-conf', file, entries, notes };
}
