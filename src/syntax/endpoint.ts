/**
 * The one endpoint syntax of every command and config file: `HOST:PORT`,
 * `[IPv6]:PORT`, a bare IPv6 address, a host alone when the caller has a
 * default port, and the authority of a URL (`https://host:8443/path`). The
 * callers are the client, the scanner's targets, the guard's listeners and
 * upstreams, and the audit's `--scan`: each words the error for its own user
 * from the problem this module names.
 */

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface EndpointSyntax {
  /** The port when the text names none (`host`, `[v6]`, a bare IPv6 address); without one the port is required. */
  readonly defaultPort?: number;
  /** Accept port 0 (a listener that lets the system choose); otherwise ports run from 1 to 65535. */
  readonly portZero?: boolean;
}

/**
 * What is wrong with an endpoint: `form` when the text is not an endpoint at
 * all (or names no port and there is no default), `port` when the port is not
 * a number in range (`host:`, `host:abc`, `host:70000`); `portText` is the port
 * as written.
 */
export class EndpointError extends Error {
  override readonly name = 'EndpointError';
  constructor(
    readonly text: string,
    readonly problem: 'form' | 'port',
    readonly portText?: string,
  ) {
    super(
      problem === 'port'
        ? `bad port in ${text}: want HOST:PORT with a port from 1 to 65535`
        : `expected HOST:PORT or [IPv6]:PORT, got ${text}`,
    );
  }
}

/** Reads `HOST:PORT`, `[IPv6]:PORT`, a bare IPv6 address or (with a default port) a host alone; throws EndpointError. */
export function parseEndpoint(text: string, syntax: EndpointSyntax = {}): Endpoint {
  if (text === '') throw new EndpointError(text, 'form');
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (v6) return { host: v6[1]!, port: portOf(v6[2], text, syntax) };
  const parts = text.split(':');
  if (parts.length > 2) {
    // A bare IPv6 address: its colons leave no room for a port.
    if (syntax.defaultPort === undefined) throw new EndpointError(text, 'form');
    return { host: text, port: syntax.defaultPort };
  }
  return { host: parts[0]!, port: portOf(parts[1], text, syntax) };
}

function portOf(s: string | undefined, text: string, syntax: EndpointSyntax): number {
  if (s === undefined) {
    if (syntax.defaultPort === undefined) throw new EndpointError(text, 'form');
    return syntax.defaultPort;
  }
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < (syntax.portZero ? 0 : 1) || n > 65535) throw new EndpointError(text, 'port', s);
  return n;
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/**
 * Splits `scheme://authority/path?query#fragment` into its scheme (lower case)
 * and authority; text without `scheme://` comes back whole as the authority.
 * The caller picks the default port for the scheme and reads the authority
 * with parseEndpoint.
 */
export function splitUrl(text: string): { scheme: string | undefined; authority: string } {
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(text);
  if (url === null) return { scheme: undefined, authority: text };
  return { scheme: url[1]!.toLowerCase(), authority: url[2]! };
}
