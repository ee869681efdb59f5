/**
 * GnuTLS priority strings (`NORMAL:%SAFE_RENEGOTIATION`), one per line, `#` comments, optionally
 * quoted or as `priority = "…"`. The renegotiation keywords (gnutls doc/cha-gtls-app.texi):
 * %SAFE_RENEGOTIATION, %PARTIAL_RENEGOTIATION (default), %UNSAFE_RENEGOTIATION,
 * %DISABLE_SAFE_RENEGOTIATION. Another `%…RENEGOTIATION` word is reported, not guessed.
 */
import { AuditInputError, linesOf, sourceAt } from './input.ts';
import { GNUTLS_KEYWORDS, type GnutlsKeyword, type GnutlsPriority, type ParseNote } from './types.ts';

export function parseGnutlsPriority(file: string, text: string): GnutlsPriority {
  const strings: GnutlsPriority['strings'][number][] = [];
  const notes: ParseNote[] = [];
  linesOf(text.replace(/^\uFEFF/, '')).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const value = line
      .replace(/^[\w.-]+\s*=\s*/, '')
      .replace(/^["'](.*)["']$/, '$1')
      .trim();
    const source = sourceAt(file, i + 1, raw);
    if (!/^[@%+!\-\w.:]+$/.test(value)) {
      notes.push({ source, message: 'not a priority string: damaged or another kind of file' });
      return;
    }
    const keywords: GnutlsKeyword[] = [];
    for (const word of value.split(':')) {
      const k = GNUTLS_KEYWORDS.find((x) => x === word.toUpperCase());
      if (k !== undefined) keywords.push(k);
      else if (/^%\w*(RENEG|NEGOT)\w*$/i.test(word)) {
        notes.push({
          source,
          message: `${word} is not a GnuTLS renegotiation keyword (gnutls_priority_init would refuse the string)`,
        });
      }
    }
    if (value.startsWith('@')) {
      notes.push({
        source,
        message: `${value.split(':')[0]} takes the system-wide priorities (/etc/gnutls/config): audit that too`,
      });
    }
    strings.push({ text: value, keywords, source });
  });
  if (strings.length === 0 && notes.length === 0) throw new AuditInputError('no GnuTLS priority string in the file');
  return { kind: 'gnutls-priority', file, strings, notes };
}
