/**
 * The two clients under comparison, behind one small interface: the renego adapter
 * (src/adapter/tls-socket.ts) and node:tls. Both are configured to negotiate exactly the same
 * thing against the benchmark server: TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256 over X25519, the
 * chain verified against the throwaway CA and the name checked for "localhost", extended
 * master secret and an (empty) session ticket extension offered, and no session to resume.
 */
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { connect as renegoConnect, type RenegoSocket } from '../../src/adapter/tls-socket.ts';
import { suiteByName } from '../../src/crypto/suites.ts';
import { trustStoreFromPem } from '../../src/pki/verify.ts';
import { NamedGroup, ProtocolVersion } from '../../src/wire/enums.ts';

export type ClientName = 'renego' | 'node:tls';

export const CLIENT_NAMES: readonly ClientName[] = ['renego', 'node:tls'];

export const SUITE_OPENSSL_NAME = 'ECDHE-RSA-AES128-GCM-SHA256';
export const SERVER_NAME = 'localhost';

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
}

export interface BenchConnection {
  /** Application data in and out. */
  readonly stream: Duplex;
  /** What was negotiated, to check both clients measure the same thing. */
  describe(): string;
  /**
   * Sends close_notify after everything written so far and resolves once the server has closed
   * the TCP connection; s_server does that only after reading every record before the alert.
   */
  close(timeoutMs: number): Promise<void>;
  destroy(): void;
}

export interface BenchClient {
  readonly name: ClientName;
  connect(timeoutMs: number): Promise<BenchConnection>;
}

/** Resolves when `emitter` emits `event`; rejects on 'error', on an early 'close', or after timeoutMs. */
export function waitForEvent(
  emitter: NodeJS.EventEmitter,
  event: string,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      emitter.off('error', onError);
      if (event !== 'close') emitter.off('close', onClose);
    };
    const onEvent = (): void => {
      cleanup();
      resolve();
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new Error(`${what}: ${e.message}`));
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`${what}: connection closed first`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, onEvent);
    emitter.on('error', onError);
    if (event !== 'close') emitter.on('close', onClose);
  });
}

/** Resolves once the socket is closed (at once if it already is). */
function closed(
  socket: { destroyed: boolean; once(e: 'close', f: () => void): unknown },
  timeoutMs: number,
  what: string,
): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: server did not close within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function renegoClient(target: Target): BenchClient {
  const suite = suiteByName(SUITE_OPENSSL_NAME);
  if (!suite) throw new Error(`renego does not know ${SUITE_OPENSSL_NAME}`);
  const trust = trustStoreFromPem(target.caPem);
  return {
    name: 'renego',
    async connect(timeoutMs) {
      const s: RenegoSocket = await renegoConnect({
        host: target.host,
        port: target.port,
        serverName: SERVER_NAME,
        trust,
        cipherSuites: [suite],
        groups: [NamedGroup.x25519],
        minVersion: ProtocolVersion['TLSv1.2'],
        maxVersion: ProtocolVersion['TLSv1.2'],
        handshakeTimeout: timeoutMs,
        connectTimeout: timeoutMs,
      });
      // Errors after the handshake surface through close(); an unhandled 'error' must not crash the run.
      s.on('error', () => {});
      return {
        stream: s,
        describe: () => {
          const summary = s.getHandshakeSummary();
          return `${s.getProtocol()} ${s.getCipher()?.name} ems=${summary?.extendedMasterSecret} resumed=${s.isSessionReused()}`;
        },
        close: (ms) => {
          s.resume();
          const done = closed(s.socket, ms, 'renego close');
          s.end();
          return done;
        },
        destroy: () => s.destroy(),
      };
    },
  };
}

export function nodeTlsClient(target: Target): BenchClient {
  return {
    name: 'node:tls',
    connect(timeoutMs) {
      return new Promise((resolve, reject) => {
        const s = tls.connect({
          host: target.host,
          port: target.port,
          servername: SERVER_NAME,
          ca: target.caPem,
          ciphers: SUITE_OPENSSL_NAME,
          ecdhCurve: 'X25519',
          minVersion: 'TLSv1.2',
          maxVersion: 'TLSv1.2',
          // No `session`: every connection is a full handshake (tls.connect has no session cache).
        });
        s.setNoDelay(true);
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error(`node:tls handshake: nothing within ${timeoutMs} ms`));
        }, timeoutMs);
        const onError = (e: Error): void => {
          clearTimeout(timer);
          reject(e);
        };
        s.once('error', onError);
        s.once('secureConnect', () => {
          clearTimeout(timer);
          s.off('error', onError);
          s.on('error', () => {});
          resolve({
            stream: s,
            describe: () => {
              const kx = s.getEphemeralKeyInfo();
              const group = kx && 'name' in kx ? kx.name : '?';
              return `${s.getProtocol()} ${s.getCipher().name} ${group} resumed=${s.isSessionReused()}`;
            },
            close: (ms) => {
              s.resume();
              const done = closed(s, ms, 'node:tls close');
              s.end();
              return done;
            },
            destroy: () => s.destroy(),
          });
        });
      });
    },
  };
}
