/** Helpers shared by the client interop tests (test/interop-client-*.test.ts). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type ConnectOptions, type RenegoSocket } from '../../src/adapter/tls-socket.ts';
import type { TestPki } from '../../src/pki/throwaway.ts';
import { parsePemCertificates, type TrustStore } from '../../src/pki/verify.ts';
import type { ClientReport } from '../../src/tools/client.ts';
import { hostPort, type TlsPeer } from './peer-process.ts';
import type { TempPki } from './temp-pki.ts';

/** How long our client waits for a handshake. */
export const HANDSHAKE_WAIT_MS = 10_000;
/** How long one `renego client` process may run. */
export const CLI_TIMEOUT_MS = 30_000;
/** How long our client waits for a renegotiation to end. */
export const RENEGOTIATION_TIMEOUT_MS = 5_000;
/** A 2009 client: no renegotiation_info, no SCSV, renegotiating with anyone. */
export const LEGACY_CLIENT = { signal: 'none', allowUnsafeLegacyRenegotiation: true } as const;
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Starts one peer for the enclosing describe block and stops it afterwards. The returned getter
 * asserts, with the message notStarted, that the peer did start.
 */
export function sharedPeer<P extends TlsPeer>(start: () => Promise<P>, notStarted: string): () => P {
  let peer: P | undefined;
  before(async () => {
    peer = await start();
  });
  after(async () => {
    await peer?.stop();
  });
  return () => {
    assert.ok(peer, notStarted);
    return peer;
  };
}

/** Connects our client to the peer as `localhost`, trusting trust; options override the defaults. */
export function connectTo(
  peer: Pick<TlsPeer, 'host' | 'port'>,
  trust: TrustStore,
  options: Partial<ConnectOptions> = {},
): Promise<RenegoSocket> {
  return connect({
    host: peer.host,
    port: peer.port,
    serverName: 'localhost',
    trust,
    handshakeTimeout: HANDSHAKE_WAIT_MS,
    ...options,
  });
}

/** A connection opened by openConnection. */
export interface Opened {
  readonly sock: RenegoSocket;
  /** Errors the socket emitted after the handshake. */
  readonly errors: Error[];
}

/** Connects as connectTo does, destroys the socket when the test ends, and collects its later errors. */
export async function openConnection(
  t: TestContext,
  peer: Pick<TlsPeer, 'host' | 'port'>,
  trust: TrustStore,
  options: Partial<ConnectOptions> = {},
): Promise<Opened> {
  const sock = await connectTo(peer, trust, options);
  t.after(() => sock.destroy());
  const errors: Error[] = [];
  sock.on('error', (error: Error) => errors.push(error));
  return { sock, errors };
}

/** Resolves true once the socket is closed, or false if it is still open after timeoutMs. */
export function waitForClose(sock: RenegoSocket, timeoutMs: number): Promise<boolean> {
  if (sock.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Resolves with the value of the socket's next event of that name; rejects after timeoutMs. */
export function nextEvent<T>(sock: RenegoSocket, name: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${timeoutMs} ms`)), timeoutMs);
    sock.once(name, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** The connect options that present the PKI's client certificate and key. */
export function clientCredentials(pki: TestPki): Pick<ConnectOptions, 'clientCertificates' | 'clientKey'> {
  return {
    clientCertificates: parsePemCertificates(pki.client.certPem).map((c) => new Uint8Array(c.raw)),
    clientKey: createPrivateKey(pki.client.keyPem),
  };
}

/**
 * Runs `renego client HOST:PORT … --json` through the CLI (killed after CLI_TIMEOUT_MS) and
 * resolves with its exit code and the JSON it printed; rejects when it printed none, quoting stderr.
 */
export function runCli(
  peer: Pick<TlsPeer, 'host' | 'port'>,
  args: readonly string[],
): Promise<{ code: number; report: ClientReport; stderr: string }> {
  const argv = ['--import', 'tsx', 'src/cli/main.ts', 'client', hostPort(peer.host, peer.port), ...args, '--json'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { cwd: REPO_ROOT, timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : error.code;
      if (typeof code !== 'number') {
        reject(new Error(`renego client did not exit normally (${String(error)})\n${stderr}`));
        return;
      }
      try {
        resolve({ code, report: JSON.parse(stdout) as ClientReport, stderr });
      } catch {
        reject(new Error(`renego client printed no JSON (exit ${code})\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}

/** A peer's start function, given the file's server certificate and key with the test's options. */
type Start<O, P> = (options: O & { readonly cert: string; readonly key: string }) => Promise<P>;

/**
 * The starters of one interop test file: `shared` starts one peer of this kind for the enclosing
 * describe block with the file's server certificate and key (options read once the PKI exists),
 * `open` connects our client to it trusting the file's CA, `connect` does so without the test's
 * cleanup (for connections expected to fail).
 */
export function interopPeers<O extends object, P extends TlsPeer>(
  env: TempPki,
  start: Start<O, P>,
  notStarted: string,
): {
  shared(options?: () => O): () => P;
  open(t: TestContext, peer: P, options?: Partial<ConnectOptions>): Promise<Opened>;
  connect(peer: P, options?: Partial<ConnectOptions>): Promise<RenegoSocket>;
} {
  return {
    shared: (options = () => ({}) as O) =>
      sharedPeer(() => start({ ...options(), cert: env.files.serverCert, key: env.files.serverKey }), notStarted),
    open: (t, peer, options = {}) => openConnection(t, peer, env.trust, options),
    connect: (peer, options = {}) => connectTo(peer, env.trust, options),
  };
}
