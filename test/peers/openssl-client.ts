/**
 * `openssl s_client` as a scripted client for the server-side tests.
 *
 * How s_client reads stdin (OpenSSL 3.0):
 * - A line starting with R renegotiates (TLS 1.2 and below; prints `RENEGOTIATING`), Q closes,
 *   k/K request a TLS 1.3 key update; any other line is sent as application data, newline
 *   included. So text to send must not start with those letters (send `renegotiate`, not
 *   `RENEGOTIATE`).
 * - Those commands only work without `-ign_eof` (and `-quiet`, which implies it). Without it,
 *   EOF on stdin closes the connection, so this helper keeps stdin open: it waits for the
 *   handshake, writes one line every lineDelayMs, then waits for `until` (or settleMs) before
 *   closing stdin.
 * - A renegotiation refused by the server shows as `RENEGOTIATING` followed by an error line
 *   such as `…:no renegotiation:…` (warning alert) or `…alert handshake failure…` (fatal alert).
 * - OpenSSL 3 clients refuse servers without RFC 5746 support (`unsafe legacy renegotiation
 *   disabled`) unless given `-legacy_server_connect`.
 */
import { opensslBinary } from './openssl-server.ts';
import { hostPort, startProcess, type ExitStatus } from './peer-process.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OpensslClientOptions {
  readonly port: number;
  readonly host?: string;
  /** More s_client arguments, e.g. ['-tls1_2', '-CAfile', ca, '-cert', c, '-key', k]. */
  readonly args?: readonly string[];
  /** Lines to type once the handshake is done, e.g. 'hello\nR\nafter\n'. */
  readonly stdin?: string;
  /** Pause after each line, so a renegotiation finishes before the next line. Default 500 ms. */
  readonly lineDelayMs?: number;
  /** Close stdin as soon as the output matches this (instead of waiting settleMs). */
  readonly until?: RegExp;
  /** Wait after the last line before closing stdin, when until is not given. Default 1000 ms. */
  readonly settleMs?: number;
  /** Bound on the whole run; s_client's process group is killed when it is reached. */
  readonly timeoutMs: number;
  /** A command to run s_client under, e.g. ['ip', 'netns', 'exec', 'ns1'] (test/peers/netns.ts). */
  readonly prefix?: readonly string[];
}

export interface OpensslClientResult {
  /** stdout and stderr of s_client, interleaved. */
  readonly output: string;
  /** Whether the handshake completed (the session summary was printed). */
  readonly connected: boolean;
  /** Undefined when s_client had to be killed at timeoutMs. */
  readonly exit: ExitStatus | undefined;
  readonly timedOut: boolean;
}

/** The end of the session summary s_client prints after each completed initial handshake. */
const HANDSHAKE_DONE = /^\s*Verify return code: |^CONNECTION ESTABLISHED$/m;
const DEFAULT_LINE_DELAY_MS = 500;
const DEFAULT_SETTLE_MS = 1000;
const EXIT_AFTER_EOF_MS = 3000;

/** `RENEGOTIATING` lines: renegotiations s_client started (not necessarily completed). */
export function countRenegotiationAttempts(output: string): number {
  return (output.match(/^RENEGOTIATING$/gm) ?? []).length;
}

export async function runOpensslClient(options: OpensslClientOptions): Promise<OpensslClientResult> {
  const host = options.host ?? '127.0.0.1';
  const deadline = Date.now() + options.timeoutMs;
  const remaining = (): number => Math.max(0, deadline - Date.now());
  const [command = opensslBinary(), ...prefixArgs] = [...(options.prefix ?? []), opensslBinary()];
  const client = await startProcess({
    name: 'openssl s_client',
    command,
    args: [...prefixArgs, 's_client', '-connect', hostPort(host, options.port), ...(options.args ?? [])],
    host,
    port: options.port,
  });
  let connected = false;
  try {
    connected = await client.waitForOutput(HANDSHAKE_DONE, remaining()).then(
      () => true,
      () => false,
    );
    if (connected) {
      const lines = (options.stdin ?? '').split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const line of lines) {
        if (client.hasExited() || remaining() === 0) break;
        client.write(`${line}\n`);
        await sleep(Math.min(options.lineDelayMs ?? DEFAULT_LINE_DELAY_MS, remaining()));
      }
      if (options.until !== undefined) await client.waitForOutput(options.until, remaining()).catch(() => undefined);
      else await sleep(Math.min(options.settleMs ?? DEFAULT_SETTLE_MS, remaining()));
    }
    client.endInput();
    const exited = await client.waitForExit(Math.min(EXIT_AFTER_EOF_MS, remaining()));
    return { output: client.output(), connected, exit: client.exitStatus(), timedOut: !exited };
  } finally {
    await client.stop();
  }
}
