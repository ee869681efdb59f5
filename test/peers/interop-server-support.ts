/** Helpers shared by the server interop tests (test/interop-server-*.test.ts). */
import type { PkiFiles } from '../../src/pki/throwaway.ts';
import { startRenegoServer, type RenegoServerPeer } from './renego-server.ts';

/** Starts `renego server` on these PKI files with these options, runs fn against it, and always stops it. */
export async function withRenegoServer<T>(
  files: PkiFiles,
  options: Parameters<typeof startRenegoServer>[1],
  fn: (server: RenegoServerPeer) => Promise<T>,
): Promise<T> {
  const server = await startRenegoServer(files, options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}
