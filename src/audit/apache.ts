/**
 * Apache httpd configuration read for mod_ssl's renegotiation triggers: SSLInsecureRenegotiation,
 * SSLVerifyClient and SSLCipherSuite (per-directory ones make mod_ssl renegotiate under
 * TLS 1.2), and SSLOpenSSLConfCmd Options. Sections are tracked by their opening and closing
 * lines, across included files once src/audit/includes.ts has spliced them in (an Include left
 * here was not followed: it is reported).
 */
import { lineSource, sourceAt, type SourceLine } from './input.ts';
import type { ApacheConf, ApacheDirective, ParseNote } from './types.ts';

const DIRECTIVES = ['SSLInsecureRenegotiation', 'SSLVerifyClient', 'SSLCipherSuite', 'SSLOpenSSLConfCmd'] as const;
const PER_DIRECTORY =
  /^(Location|LocationMatch|Directory|DirectoryMatch|Files|FilesMatch|If|ElseIf|Else|Proxy|ProxyMatch)$/i;

export function parseApacheConf(file: string, lines: readonly SourceLine[]): ApacheConf {
  const directives: ApacheDirective[] = [];
  const notes: ParseNote[] = [];
  const stack: { name: string; line: string }[] = [];
  for (const l of lines) {
    const line = l.text.trim();
    if (line === '' || line.startsWith('#')) continue;
    const source = lineSource(l);
    const open = /^<([A-Za-z]+)(\s[^>]*)?>$/.exec(line);
    if (open) {
      stack.push({ name: open[1]!, line });
      continue;
    }
    const close = /^<\/([A-Za-z]+)\s*>$/.exec(line);
    if (close) {
      if (stack.at(-1)?.name.toLowerCase() === close[1]!.toLowerCase()) stack.pop();
      else notes.push({ source, message: `</${close[1]}> closes no open section: damaged configuration` });
      continue;
    }
    const words = line.split(/\s+/);
    const head = words[0]!;
    if (/^Include(Optional)?$/i.test(head)) {
      notes.push({ source, message: `${head} ${words.slice(1).join(' ')} is not followed: audit those files too` });
      continue;
    }
    const name = DIRECTIVES.find((d) => d.toLowerCase() === head.toLowerCase());
    if (name === undefined) continue;
    const perDirectory = stack.some((s) => PER_DIRECTORY.test(s.name));
    const vhost = stack.find((s) => s.name.toLowerCase() === 'virtualhost');
    directives.push({
      name,
      args: words.slice(1),
      context: perDirectory ? 'directory' : vhost ? 'virtualhost' : 'server',
      where: stack.map((s) => s.line).join(' ') || 'server config',
      virtualHost: vhost?.line,
      source,
    });
  }
  if (stack.length > 0) {
    const end = lines.at(-1);
    notes.push({
      source: sourceAt(end?.file ?? file, end?.line ?? 1, stack.at(-1)!.line),
      message: `${stack.at(-1)!.line} is never closed: truncated configuration`,
    });
  }
  return { kind: 'apache-conf', file, directives, notes };
}
