/** Helpers shared by the client interop tests (test/interop-client-*.test.ts). */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, type TestContext } from 'node:test';
import { connect, type ConnectOptions, type RenegoSocket } from '../../src/adapter/tls-socket.ts';
import type { TestPki } from '../../src/pki/throwaway.ts';
import { parsePemCertificates, type TrustStore } from '../../src/pki/verify.ts';
import type { TlsPeer } from './peer-process.ts';

/** How long our client waits for a handshake. */
export const HANDSHAKE_WAIT_MS = 10_000;

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
