/**
 * Scan targets from the command line or a file: HOST, HOST:PORT, [IPv6]:PORT,
 * optionally with a scheme naming the protocol (`https://`, `smtp://`,
 * `imap://`…: STARTTLS for the mail, directory and database ones). Blank lines
 * and `#` comments are skipped; `--shard K/N` keeps every N-th line from the K-th.
 */
import { formatEndpoint, parseEndpoint, splitUrl } from '../syntax/endpoint.ts';
import { STARTTLS_DEFAULT_PORT, isStartTlsProtocol } from './starttls.ts';
import type { ScanTarget, StartTlsProtocol } from './types.ts';

export interface TargetDefaults {
  starttls?: StartTlsProtocol;
  serverName?: string;
  family?: 4 | 6;
}

export function parseScanTarget(text: string, defaults: TargetDefaults = {}): ScanTarget {
  const { scheme, authority: rest } = splitUrl(text.trim());
  let starttls = defaults.starttls;
  if (scheme !== undefined) {
    if (isStartTlsProtocol(scheme)) starttls = scheme;
    else if (scheme !== 'https' && scheme !== 'tls')
      throw new Error(`unknown scheme ${scheme}:// in ${text} (https, smtp, imap, pop3, ftp, xmpp, ldap, postgres)`);
  }
  if (rest === '') throw new Error(`empty target ${JSON.stringify(text)}`);
  const t = parseEndpoint(rest, { defaultPort: starttls ? STARTTLS_DEFAULT_PORT[starttls] : 443 });
  const isIp = /^[\d.]+$/.test(t.host) || t.host.includes(':');
  const serverName = defaults.serverName ?? (isIp ? undefined : t.host);
  return {
    label: `${starttls ? `${starttls}://` : ''}${formatEndpoint(t)}`,
    host: t.host,
    port: t.port,
    serverName,
    starttls,
    family: defaults.family,
  };
}

/** The lines of a targets file that name a target. */
export function targetLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
}

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new Error(`--shard wants K/N with 1 ≤ K ≤ N, got ${text}`);
  return { index, count };
}

/** Whether the n-th target (0-based, in input order) belongs to this shard. */
export function inShard(n: number, shard: Shard | undefined): boolean {
  return shard === undefined || n % shard.count === shard.index - 1;
}
