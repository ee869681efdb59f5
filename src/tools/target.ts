/** `renego client`'s target: the endpoint syntax of src/syntax/endpoint.ts, its errors as UsageErrors. */
import { EndpointError, formatEndpoint, parseEndpoint, splitUrl, type Endpoint } from '../syntax/endpoint.ts';
import { UsageError } from './usage.ts';

/** HOST:PORT, [IPv6]:PORT, a bare IPv6 address or a host alone (port 443). */
export function parseTarget(text: string): Endpoint {
  try {
    return parseEndpoint(text, { defaultPort: 443 });
  } catch (e) {
    throw e instanceof EndpointError ? new UsageError(e.message) : e;
  }
}

/**
 * HOST:PORT, [IPv6]:PORT, or an https:// URL as `renego scan` accepts (its path is ignored), as
 * `host:port`. Other schemes need STARTTLS, which the client does not speak.
 */
export function clientTarget(text: string): string {
  const { scheme, authority } = splitUrl(text);
  if (scheme !== undefined && scheme !== 'https') {
    throw new UsageError(`${scheme}:// needs STARTTLS, which renego client does not speak: use renego scan ${text}`);
  }
  return formatEndpoint(parseTarget(authority));
}
