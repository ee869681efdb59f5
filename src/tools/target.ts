/** HOST:PORT and [IPv6]:PORT parsing shared by the tools. */
import { UsageError } from './usage.ts';

export interface Target {
  host: string;
  port: number;
}

export function parseTarget(text: string, defaultPort = 443): Target {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1]!, port: portOf(v6[2], defaultPort, text) };
  const parts = text.split(':');
  if (parts.length > 2) return { host: text, port: defaultPort }; // a bare IPv6 address
  return { host: parts[0]!, port: portOf(parts[1], defaultPort, text) };
}

function portOf(s: string | undefined, dflt: number, text: string): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (s === '' || !/^\d+$/.test(s) || n < 1 || n > 65535) {
    throw new UsageError(`bad port in ${text}: want HOST:PORT with a port from 1 to 65535`);
  }
  return n;
}

export function formatTarget(t: Target): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/**
 * `renego client`'s target: HOST:PORT, [IPv6]:PORT, or an https:// URL as `renego scan` accepts
 * (its path is ignored). Other schemes need STARTTLS, which the client does not speak.
 */
export function clientTarget(text: string): string {
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]+)/i.exec(text);
  if (url === null) return formatTarget(parseTarget(text));
  if (url[1]!.toLowerCase() !== 'https') {
    throw new UsageError(`${url[1]}:// needs STARTTLS, which renego client does not speak: use renego scan ${text}`);
  }
  return formatTarget(parseTarget(url[2]!));
}
