/**
 * The servers under test, each on a free port of 127.0.0.1 in its own process group: `renego
 * server` (the CLI, as a user runs it) and `openssl s_server` as the reference, both with
 * `--www`/`-www` (tlsfuzzer sends `GET / HTTP/1.0` and expects a reply) and the same certificate.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PkiFiles } from '../src/pki/throwaway.ts';
import { which } from '../test/peers/binaries.ts';
import { startOpensslServer } from '../test/peers/openssl-server.ts';
import { spawnPeer, withFreePort } from '../test/peers/peer-process.ts';
import { PROTECTED_PATH, type ServerConfig } from './plan.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const READY_TIMEOUT_MS = 30_000;
/** tlsfuzzer's slowest conversations (huge hellos, hundreds of aborts) must not be cut off by our own handshake timeout. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

export interface RunningServer {
  readonly port: number;
  stop(): Promise<void>;
}

export function startRenego(config: ServerConfig, pki: PkiFiles): Promise<RunningServer> {
  return withFreePort('127.0.0.1', async (port) => {
    const peer = await spawnPeer({
      name: `renego server (${config.id})`,
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src', 'cli', 'main.ts'),
        'server',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--cert',
        pki.serverCert,
        '--key',
        pki.serverKey,
        '--client-ca',
        pki.ca,
        '--www',
        '--protected-path',
        PROTECTED_PATH,
        '--handshake-timeout',
        String(HANDSHAKE_TIMEOUT_MS),
        ...config.renego,
      ],
      host: '127.0.0.1',
      port,
      cwd: REPO_ROOT,
      readyPattern: /^listening /m,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    return { port, stop: peer.stop };
  });
}

export function opensslAvailable(): boolean {
  return which('openssl') !== undefined;
}

export async function startOpenssl(config: ServerConfig, pki: PkiFiles): Promise<RunningServer | undefined> {
  if (config.openssl === undefined || !opensslAvailable()) return undefined;
  const server = await startOpensslServer({
    cert: pki.serverCert,
    key: pki.serverKey,
    www: true,
    msg: false,
    args: config.openssl(pki),
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  return { port: server.port, stop: server.stop };
}
