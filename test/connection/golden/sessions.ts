/**
 * The golden sessions, each between the engine and real OpenSSL 3:
 *
 * - the client engine against `openssl s_server`, renegotiating once, twice, and refused, with
 *   RFC 5746 (secure) and as a 2009 client that signals nothing (legacy). `insecure` skips the
 *   chain check: the replay must not depend on a certificate's validity period, and the
 *   server's ServerKeyExchange signature is still verified against its key.
 * - the server engine (names starting `server-`) against `openssl s_client`, renegotiating once
 *   and twice at the client's request (`R` on s_client's stdin) and at ours (HelloRequest),
 *   refused by our policy (a no_renegotiation warning), declined by the client, and as a 2009
 *   server. OpenSSL 3's s_client cannot be a 2009 client: it puts TLS_EMPTY_RENEGOTIATION_INFO_SCSV
 *   in every initial ClientHello and renegotiation_info in every renegotiation, and no option
 *   turns that off (-legacy_renegotiation permits unsafe renegotiation; it does not stop the
 *   signalling). So the legacy side of these sessions is the engine, with `rfc5746: false`, and
 *   s_client -legacy_server_connect, which in OpenSSL 3.0 both connects to such a server and
 *   renegotiates with it. s_client runs with `-sigalgs RSA+SHA256`: the engine signs its
 *   ServerKeyExchange with the first scheme the client offers, and RSA-PSS (OpenSSL's first)
 *   draws a random salt that the seeded random source cannot reach; PKCS#1 v1.5 is deterministic.
 *
 * Every session uses the fixture certificate of this folder (engine.ts).
 */
import type { ClientConfigInput } from '../../../src/connection/client-connection.ts';
import type { GoldenEngine, GoldenServerConfig } from './transcript.ts';

export interface GoldenSession {
  readonly name: string;
  readonly description: string;
  readonly engine: GoldenEngine;
  /** More arguments for the OpenSSL peer: s_server's when the engine is the client, s_client's when it is the server. */
  readonly peerArgs: readonly string[];
  readonly renegotiations: number;
  /**
   * Who starts each renegotiation: the engine (`! renegotiate`: the client's ClientHello, the
   * server's HelloRequest) or the OpenSSL peer (s_client's `R`; the client sessions have none).
   */
  readonly initiator: 'engine' | 'peer';
  readonly seed: string;
  readonly time: number;
}

/** 2026-11-28T00:00:00Z: the clock of every session (gmt_unix_time, session and ticket times). */
const TIME = Date.UTC(2026, 10, 28);

const SECURE_CLIENT: ClientConfigInput = { serverName: 'localhost', insecure: true };
const LEGACY_CLIENT: ClientConfigInput = {
  serverName: 'localhost',
  insecure: true,
  renegotiation: { signal: 'none', allowUnsafeLegacyRenegotiation: true },
};

/** OpenSSL 3's own default: client-initiated renegotiation refused with a no_renegotiation warning. */
const SECURE_SERVER: GoldenServerConfig = {};
const SECURE_SERVER_CLIENT_RENEGOTIATION: GoldenServerConfig = { renegotiation: { allowClientInitiated: true } };
/** A 2009 server: renegotiation_info ignored and never answered (DANGER: CVE-2009-3555). */
const LEGACY_SERVER: GoldenServerConfig = { renegotiation: { rfc5746: false } };
const LEGACY_SERVER_CLIENT_RENEGOTIATION: GoldenServerConfig = {
  renegotiation: { rfc5746: false, allowClientInitiated: true },
};

const S_CLIENT = ['-sigalgs', 'RSA+SHA256'];
/** s_client connects to a server without RFC 5746 (refused by default) and, in OpenSSL 3.0, renegotiates with it. */
const S_CLIENT_LEGACY = [...S_CLIENT, '-legacy_server_connect'];

function clientSession(
  name: string,
  description: string,
  serverArgs: string[],
  config: ClientConfigInput,
  renegotiations: number,
): GoldenSession {
  const engine: GoldenEngine = { role: 'client', config };
  return { name, description, engine, peerArgs: serverArgs, renegotiations, initiator: 'engine', ...seeded(name) };
}

function serverSession(
  name: string,
  description: string,
  clientArgs: string[],
  config: GoldenServerConfig,
  renegotiations: number,
  initiator: 'engine' | 'peer',
): GoldenSession {
  const engine: GoldenEngine = { role: 'server', config };
  return { name, description, engine, peerArgs: clientArgs, renegotiations, initiator, ...seeded(name) };
}

function seeded(name: string): { seed: string; time: number } {
  return { seed: `renego-golden-${name}`, time: TIME };
}

export const GOLDEN_SESSIONS: readonly GoldenSession[] = [
  clientSession(
    'secure-renegotiate-once',
    'An RFC 5746 client renegotiates once; the server accepts client-initiated renegotiation.',
    ['-client_renegotiation'],
    SECURE_CLIENT,
    1,
  ),
  clientSession(
    'secure-renegotiate-twice',
    'An RFC 5746 client renegotiates twice; the server accepts client-initiated renegotiation.',
    ['-client_renegotiation'],
    SECURE_CLIENT,
    2,
  ),
  clientSession(
    'secure-renegotiate-refused',
    "An RFC 5746 client asks to renegotiate; OpenSSL 3's default refuses with a warning no_renegotiation.",
    [],
    SECURE_CLIENT,
    1,
  ),
  clientSession(
    'legacy-renegotiate-once',
    'A 2009 client (no renegotiation_info, no SCSV) renegotiates once; the server allows unsafe legacy renegotiation.',
    ['-legacy_renegotiation', '-client_renegotiation'],
    LEGACY_CLIENT,
    1,
  ),
  clientSession(
    'legacy-renegotiate-twice',
    'A 2009 client (no renegotiation_info, no SCSV) renegotiates twice; the server allows unsafe legacy renegotiation.',
    ['-legacy_renegotiation', '-client_renegotiation'],
    LEGACY_CLIENT,
    2,
  ),
  clientSession(
    'legacy-renegotiate-refused',
    "A 2009 client asks to renegotiate; OpenSSL 3's default refuses an unsafe legacy renegotiation.",
    ['-client_renegotiation'],
    LEGACY_CLIENT,
    1,
  ),
  serverSession(
    'server-secure-renegotiate-once',
    'The server engine accepts one client-initiated RFC 5746 renegotiation (s_client R).',
    S_CLIENT,
    SECURE_SERVER_CLIENT_RENEGOTIATION,
    1,
    'peer',
  ),
  serverSession(
    'server-secure-renegotiate-twice',
    'The server engine accepts two client-initiated RFC 5746 renegotiations (s_client R, R).',
    S_CLIENT,
    SECURE_SERVER_CLIENT_RENEGOTIATION,
    2,
    'peer',
  ),
  serverSession(
    'server-secure-hello-request-once',
    'The server engine asks for one renegotiation (HelloRequest); s_client renegotiates with RFC 5746.',
    S_CLIENT,
    SECURE_SERVER,
    1,
    'engine',
  ),
  serverSession(
    'server-secure-hello-request-twice',
    'The server engine asks for two renegotiations (HelloRequest, HelloRequest); s_client renegotiates with RFC 5746.',
    S_CLIENT,
    SECURE_SERVER,
    2,
    'engine',
  ),
  serverSession(
    'server-secure-renegotiate-refused',
    "s_client asks to renegotiate (R); the server engine's default policy refuses client-initiated renegotiation with a warning no_renegotiation, and s_client gives up with a fatal handshake_failure.",
    S_CLIENT,
    SECURE_SERVER,
    1,
    'peer',
  ),
  serverSession(
    'server-legacy-renegotiate-once',
    'The server engine as a 2009 server (rfc5746: false) renegotiates once at the request of s_client -legacy_server_connect.',
    S_CLIENT_LEGACY,
    LEGACY_SERVER_CLIENT_RENEGOTIATION,
    1,
    'peer',
  ),
  serverSession(
    'server-legacy-renegotiate-twice',
    'The server engine as a 2009 server (rfc5746: false) renegotiates twice at the request of s_client -legacy_server_connect.',
    S_CLIENT_LEGACY,
    LEGACY_SERVER_CLIENT_RENEGOTIATION,
    2,
    'peer',
  ),
  serverSession(
    'server-legacy-renegotiate-refused',
    "s_client -legacy_server_connect asks a 2009 server engine to renegotiate (R); the engine's policy refuses client-initiated renegotiation with a warning no_renegotiation.",
    S_CLIENT_LEGACY,
    LEGACY_SERVER,
    1,
    'peer',
  ),
  serverSession(
    'server-legacy-hello-request-once',
    'The server engine as a 2009 server (rfc5746: false) asks for a renegotiation (HelloRequest); s_client -legacy_server_connect renegotiates without RFC 5746.',
    S_CLIENT_LEGACY,
    LEGACY_SERVER,
    1,
    'engine',
  ),
  serverSession(
    'server-secure-hello-request-declined',
    'The server engine asks for a renegotiation (HelloRequest); s_client -no_renegotiation declines with a warning no_renegotiation, and the session goes on.',
    [...S_CLIENT, '-no_renegotiation'],
    SECURE_SERVER,
    1,
    'engine',
  ),
];
