/**
 * The engine of a golden session, as the recorder and the replay both build and drive it.
 *
 * Every session uses the one certificate of this folder (server-cert.pem, server-key.pem): a
 * self-signed RSA 2048 key made once for these transcripts with
 *   openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/O=…/CN=localhost" …
 * and published with them; it protects nothing and is never a secret. The server engine signs
 * its ServerKeyExchange with it, so its bytes depend on it (a key made per run would change
 * them every run); s_server presents it to the client engine too.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientConnection } from '../../../src/connection/client-connection.ts';
import { ServerConnection, createServerContext } from '../../../src/connection/server-connection.ts';
import type { ConnectionEvent } from '../../../src/handshake/events.ts';
import { loadCertificate } from '../../../src/pki/credentials.ts';
import type { GoldenEngine, Step } from './transcript.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The fixture certificate and key (PEM files). */
export const GOLDEN_CERT_FILE = join(HERE, 'server-cert.pem');
export const GOLDEN_KEY_FILE = join(HERE, 'server-key.pem');

export type GoldenConnection = ClientConnection | ServerConnection;

/**
 * A fresh engine for a session. Call it with the seeded random source installed: the server's
 * session store draws its ticket key when it is made.
 */
export function createEngine(engine: GoldenEngine): GoldenConnection {
  if (engine.role === 'client') return new ClientConnection(engine.config);
  const certificate = loadCertificate(readFileSync(GOLDEN_CERT_FILE), readFileSync(GOLDEN_KEY_FILE));
  return new ServerConnection(createServerContext({ ...engine.config, certificates: [certificate] }));
}

/** Makes a transcript's `!` call on the engine. */
export function callEngine(conn: GoldenConnection, step: Exclude<Step, { kind: 'record' }>): ConnectionEvent[] {
  switch (step.kind) {
    case 'start':
      if (!(conn instanceof ClientConnection)) throw new Error('! start is a call on a client engine');
      return conn.start();
    case 'renegotiate':
      return conn instanceof ClientConnection ? conn.renegotiate() : conn.requestRenegotiation();
    case 'write':
      conn.write(step.data);
      return [];
  }
}
