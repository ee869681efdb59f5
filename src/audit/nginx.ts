/**
 * nginx configuration read for what governs renegotiation: the `ssl_*` directives (above all
 * `ssl_verify_client` and `ssl_conf_command`), `listen … ssl`, and the upstream side
 * (`proxy_pass https://…`, `proxy_ssl_*`). nginx's syntax: words, `'…'`/`"…"` quoting, `#`
 * comments, a directive ends at `;`, a block opens at `{` and closes at `}`. Each directive keeps
 * the line its first word is on, across included files once src/audit/includes.ts has spliced
 * them in.
 */
import { lineSource, type SourceLine } from './input.ts';
import type { NginxConf, NginxDirective, ParseNote, Source } from './types.ts';

/** Directives the rules read; the rest of the file is skipped. */
const KEPT = /^(ssl_\w+|proxy_ssl_\w+|grpc_ssl_\w+|uwsgi_ssl_\w+|listen|proxy_pass|grpc_pass|include|ssl)$/;

interface Word {
  readonly text: string;
  readonly source: Source;
}

export function parseNginxConf(file: string, lines: readonly SourceLine[]): NginxConf {
  const directives: NginxDirective[] = [];
  const notes: ParseNote[] = [];
  const blocks: { name: string; source: Source }[] = [];
  let words: Word[] = [];
  let word = '';
  let wordSource: Source | undefined;
  let quote: string | undefined;
  const endWord = () => {
    if (wordSource !== undefined) words.push({ text: word, source: wordSource });
    word = '';
    wordSource = undefined;
  };
  const statement = (end: ';' | '{', source: Source) => {
    endWord();
    const [head, ...args] = words;
    words = [];
    if (head === undefined) {
      if (end === '{') notes.push({ source, message: 'a block without a name: damaged configuration' });
      return;
    }
    if (end === '{') {
      blocks.push({ name: [head.text, ...args.map((a) => a.text)].join(' '), source: head.source });
      return;
    }
    if (!KEPT.test(head.text)) return;
    directives.push({
      name: head.text,
      args: args.map((a) => a.text),
      blocks: blocks.map((b) => b.name),
      source: head.source,
    });
  };
  for (const l of lines) {
    const source = lineSource(l);
    const t = l.text;
    for (let i = 0; i < t.length; i++) {
      const c = t[i]!;
      if (quote !== undefined) {
        if (c === '\\' && i + 1 < t.length) word += t[++i];
        else if (c === quote) quote = undefined;
        else word += c;
        continue;
      }
      if (c === '#') break;
      if (c === '"' || c === "'") {
        quote = c;
        wordSource ??= source;
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
        endWord();
        continue;
      }
      if (c === ';' || c === '{') {
        statement(c, source);
        continue;
      }
      if (c === '}') {
        endWord();
        if (words.length > 0) {
          notes.push({ source, message: `"${words[0]!.text}" has no closing ";": damaged configuration` });
          words = [];
        }
        if (blocks.pop() === undefined) notes.push({ source, message: '"}" closes no block: damaged configuration' });
        continue;
      }
      word += c;
      wordSource ??= source;
    }
    if (quote !== undefined) word += '\n';
    else endWord();
  }
  const last = lines.at(-1);
  const end: Source = last ? lineSource(last) : { file, line: 1, text: '' };
  if (quote !== undefined)
    notes.push({ source: end, message: 'a quoted string is never closed: truncated configuration' });
  if (words.length > 0 || word !== '') {
    notes.push({ source: end, message: 'the last directive has no closing ";": truncated configuration' });
  }
  if (blocks.length > 0) {
    notes.push({
      source: blocks.at(-1)!.source,
      message: `"${blocks.at(-1)!.name} {" is never closed: truncated configuration`,
    });
  }
  return { kind: 'nginx-conf', file, directives, notes };
}
