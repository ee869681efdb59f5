/**
 * `openssl s_server` as a real peer.
 *
 * Facts about OpenSSL 3.0 (Debian 12) that the renegotiation tests rely on:
 * - Client-initiated renegotiation is refused by default since 3.0: s_server answers the new
 *   ClientHello with a warning no_renegotiation alert. `-client_renegotiation` allows it,
 *   `-no_renegotiation` refuses renegotiation in both directions, `-legacy_renegotiation`
 *   allows unsafe (pre-RFC 5746) renegotiation.
 * - s_server prints nothing when a renegotiation happens. With `-msg` (on by default here) every
 *   handshake message is printed, received ones as `<<< TLS 1.2, Handshake [length 00c6], ClientHello`,
 *   so the number of received ClientHellos counts the handshakes on the server's connections
 *   (countClientHellos). A refused renegotiation shows as a second ClientHello followed by
 *   `>>> … Alert [length 0002], warning no_renegotiation`.
 * - The default security level (1) rules out TLS 1.0/1.1 signatures; `legacyVersions: true`
 *   adds `-cipher ALL:@SECLEVEL=0`, which brings back TLS 1.0/1.1 and the CBC-SHA suites.
 *   Debian's build offers no 3DES suites at any level (`openssl ciphers ALL:@SECLEVEL=0` lists
 *   none): use GnuTLS (`+3DES-CBC`) or Java for 3DES.
 * - s_server reads commands from stdin, one letter alone on a line (see `command`); stdin is
 *   kept open, because EOF on it makes s_server shut down.
 */
import { which } from './binaries.ts';
import { countMatches, hostPort, spawnPeer, withFreePort, type TlsPeer } from './peer-process.ts';

export interface OpensslServerOptions {
  /** PEM certificate (chain) file. */
  readonly cert: string;
  /** PEM private key file. */
  readonly key: string;
  /** Extra s_server arguments, after ours, e.g. ['-client_renegotiation'] or ['-Verify', '1', '-CAfile', ca]. */
  readonly args?: readonly string[];
  /** Answer HTTP GETs with a status page (`-www`) instead of echoing stdin/stdout. */
  readonly www?: boolean;
  /** Add `-cipher ALL:@SECLEVEL=0` (TLS 1.0/1.1, CBC-SHA); a later `-cipher` in args wins. */
  readonly legacyVersions?: boolean;
  /** Print handshake messages (`-msg`), needed by countClientHellos. Default true. */
  readonly msg?: boolean;
  readonly host?: string;
  /** A fixed port (e.g. inside a network namespace, where the host's free ports mean nothing); default: a free one. */
  readonly port?: number;
  /** A command to run s_server under, e.g. ['ip', 'netns', 'exec', 'ns1'] (test/peers/netns.ts). */
  readonly prefix?: readonly string[];
  /** Working directory (s_server -WWW serves files from it). */
  readonly cwd?: string;
  readonly readyTimeoutMs?: number;
}

/**
 * s_server's connected commands, written alone on a line:
 * q quit, Q close connection but keep accepting, r renegotiate, R renegotiate requesting a
 * client certificate (r and R: TLS 1.2 and below), P send plain text (protocol violation),
 * S print session cache statistics, k/K TLS 1.3 key update (without/with update requested),
 * c TLS 1.3 post-handshake authentication.
 */
export type OpensslServerCommand = 'q' | 'Q' | 'r' | 'R' | 'P' | 'S' | 'k' | 'K' | 'c';

export interface OpensslServer extends TlsPeer {
  readonly pid: number;
  /** Sends an s_server command; it acts on the current connection (echo mode only). */
  command(letter: OpensslServerCommand): void;
  /** Writes to s_server's stdin: in echo mode a whole line goes to the client as application data. */
  write(text: string): void;
  /** ClientHellos received so far, over all connections (needs msg, the default). */
  countClientHellos(): number;
}

const RECEIVED_CLIENT_HELLO = /^<<< [^\n]*Handshake \[length [0-9a-f]+\], ClientHello$/gm;

/** ClientHellos received, read from s_server (or s_client) `-msg` output. */
export function countClientHellos(output: string): number {
  return countMatches(output, RECEIVED_CLIENT_HELLO);
}

export function opensslBinary(): string {
  return which('openssl') ?? 'openssl';
}

export async function startOpensslServer(options: OpensslServerOptions): Promise<OpensslServer> {
  const host = options.host ?? '127.0.0.1';
  const onPort =
    options.port === undefined
      ? withFreePort<OpensslServer>
      : (_h: string, f: (p: number) => Promise<OpensslServer>) => f(options.port!);
  return onPort(host, async (port) => {
    const args = [
      's_server',
      '-accept',
      hostPort(host, port),
      '-cert',
      options.cert,
      '-key',
      options.key,
      ...(options.msg === false ? [] : ['-msg']),
      ...(options.www === true ? ['-www'] : []),
      ...(options.legacyVersions === true ? ['-cipher', 'ALL:@SECLEVEL=0'] : []),
      ...(options.args ?? []),
    ];
    const [command = opensslBinary(), ...prefixArgs] = [...(options.prefix ?? []), opensslBinary()];
    const peer = await spawnPeer({
      name: 'openssl s_server',
      command,
      args: [...prefixArgs, ...args],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      host,
      port,
      // Printed right after listen(); see SpawnPeerOptions.readyPattern for why not a TCP probe.
      readyPattern: /^ACCEPT$/m,
      ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    });
    return {
      host,
      port,
      pid: peer.pid,
      stop: peer.stop,
      output: peer.output,
      waitForOutput: peer.waitForOutput,
      command: (letter) => peer.write(`${letter}\n`),
      write: (text) => peer.write(text),
      countClientHellos: () => countClientHellos(peer.output()),
    };
  });
}
