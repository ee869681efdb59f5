/**
 * The golden sessions: the client engine renegotiating once, twice, and refused, with RFC 5746
 * (secure) and as a 2009 client that signals nothing (legacy), against `openssl s_server`.
 * `insecure` skips the chain check: the replay must not depend on a certificate's validity
 * period, and the server's ServerKeyExchange signature is still verified against its key.
 */
import type { ClientConfigInput } from '../../../src/connection/client-connection.ts';

export interface GoldenSession {
  readonly name: string;
  readonly description: string;
  readonly serverArgs: readonly string[];
  readonly client: ClientConfigInput;
  readonly renegotiations: number;
  readonly seed: string;
  readonly time: number;
}

/** 2026-11-28T00:00:00Z: the clock of every session (only gmt_unix_time reads it). */
const TIME = Date.UTC(2026, 10, 28);

const SECURE: ClientConfigInput = { serverName: 'localhost', insecure: true };
const LEGACY: ClientConfigInput = {
  serverName: 'localhost',
  insecure: true,
  renegotiation: { signal: 'none', allowUnsafeLegacyRenegotiation: true },
};

function session(
  name: string,
  description: string,
  serverArgs: string[],
  client: ClientConfigInput,
  renegotiations: number,
): GoldenSession {
  return { name, description, serverArgs, client, renegotiations, seed: `renego-golden-${name}`, time: TIME };
}

export const GOLDEN_SESSIONS: readonly GoldenSession[] = [
  session(
    'secure-renegotiate-once',
    'An RFC 5746 client renegotiates once; the server accepts client-initiated renegotiation.',
    ['-client_renegotiation'],
    SECURE,
    1,
  ),
  session(
    'secure-renegotiate-twice',
    'An RFC 5746 client renegotiates twice; the server accepts client-initiated renegotiation.',
    ['-client_renegotiation'],
    SECURE,
    2,
  ),
  session(
    'secure-renegotiate-refused',
    "An RFC 5746 client asks to renegotiate; OpenSSL 3's default refuses with a warning no_renegotiation.",
    [],
    SECURE,
    1,
  ),
  session(
    'legacy-renegotiate-once',
    'A 2009 client (no renegotiation_info, no SCSV) renegotiates once; the server allows unsafe legacy renegotiation.',
    ['-legacy_renegotiation', '-client_renegotiation'],
    LEGACY,
    1,
  ),
  session(
    'legacy-renegotiate-twice',
    'A 2009 client (no renegotiation_info, no SCSV) renegotiates twice; the server allows unsafe legacy renegotiation.',
    ['-legacy_renegotiation', '-client_renegotiation'],
    LEGACY,
    2,
  ),
  session(
    'legacy-renegotiate-refused',
    "A 2009 client asks to renegotiate; OpenSSL 3's default refuses an unsafe legacy renegotiation.",
    ['-client_renegotiation'],
    LEGACY,
    1,
  ),
];
