/**
 * HAProxy configuration read for its TLS lines: `bind … ssl …` (the listeners), `server … ssl …`
 * (connections to backends), `ssl-default-bind-options` and `ssl-default-server-options`.
 * Sections start at an unindented-or-not `global`, `defaults`, `frontend`, `backend` or `listen`
 * line; `#` starts a comment; words are split on blanks (HAProxy's quoting and `\` escapes are
 * kept simple: quotes removed). HAProxy has no include: it takes several `-f` files, read in
 * order, which the judge joins.
 */
import { lineSource, type SourceLine } from './input.ts';
import type { HaproxyConf, HaproxyLine, ParseNote } from './types.ts';

const SECTION =
  /^(global|defaults|frontend|backend|listen|peers|resolvers|userlist|program|http-errors|ring|mailers|cache)$/i;
const KEPT = /^(bind|server|default-server|ssl-default-bind-options|ssl-default-server-options)$/i;

export function parseHaproxyConf(file: string, lines: readonly SourceLine[]): HaproxyConf {
  const out: HaproxyLine[] = [];
  const notes: ParseNote[] = [];
  let section = '';
  for (const l of lines) {
    const text = l.text.replace(/(^|\s)#.*$/, '').trim();
    if (text === '') continue;
    const words = text.split(/\s+/).map((w) => w.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
    const head = words[0]!;
    if (SECTION.test(head)) {
      section = [head.toLowerCase(), ...words.slice(1, 2)].join(' ');
      continue;
    }
    if (!KEPT.test(head)) continue;
    if (section === '') {
      notes.push({ source: lineSource(l), message: `${head} outside any section: damaged configuration` });
      continue;
    }
    out.push({ keyword: head.toLowerCase(), args: words.slice(1), section, source: lineSource(l) });
  }
  return { kind: 'haproxy-conf', file, lines: out, notes };
}
