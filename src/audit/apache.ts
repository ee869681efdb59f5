/**
 * Apache httpd configuration read for mod_ssl's renegotiation triggers: SSLInsecureRenegotiation,
 * SSLVerifyClient and SSLCipherSuite (per-directory ones make mod_ssl renegotiate under
 * TLS 1.2), and SSLOpenSSLConfCmd Options. Sections are tracked by their opening and closing
 * lines; Include is reported, not followed.
 */
import { linesOf, sourceAt } from './input.ts';
import type { ApacheConf, ApacheDirective, ParseNote } from './types.ts';

const DIRECTIVES = ['SSLInsecureRenegotiation', 'SSLVerifyClient', 'SSLCipherSuite', 'SSLOpenSSLConfCmd'] as const;
const PER_DIRECTORY =
  /^(Location|LocationMatch|Directory|DirectoryMatch|Files|FilesMatch|If|ElseIf|Else|Proxy|ProxyMatch)$/i;

export function parseApacheConf(file: string, text: string): ApacheConf {
  const directives: ApacheDirective[] = [];
  const notes: ParseNote[] = [];
  const stack: { name: string; line: string }[] = [];
  linesOf(text.replace(/^\uFEFF/, '')).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const source = sourceAt(file, i + 1, raw);
    const open = /^<([A-Za-z]+)(\s[^>]*)?>$/.exec(line);
    if (open) {
      stack.push({ name: open[1]!, line });
      return;
    }
    const close = /^<\/([A-Za-z]+)\s*>$/.exec(line);
    if (close) {
      if (stack.at(-1)?.name.toLowerCase() === close[1]!.toLowerCase()) stack.pop();
      else notes.push({ source, message: `</${close[1]}> closes no open section: damaged configuration` });
      return;
    }
    const words = line.split(/\s+/);
    const head = words[0]!;
    if (/^Include(Optional)?$/i.test(head)) {
      notes.push({ source, message: `${head} ${words.slice(1).join(' ')} is not followed: audit those files too` });
      return;
    }
    const name = DIRECTIVES.find((d) => d.toLowerCase() === head.toLowerCase());
    if (name === undefined) return;
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
  });
  if (stack.length > 0) {
    notes.push({
      source: sourceAt(file, linesOf(text).length, stack.at(-1)!.line),
      message: `${stack.at(-1)!.line} is never closed: truncated configuration`,
    });
  }
  return { kind: 'apache-conf', file, directives, notes };
}
