/**
 * A server on 127.0.0.1 that never stops talking: once the client has sent something
 * (or at once), it writes the same 64 KiB block for as long as the connection lives,
 * honouring backpressure. For the "no unbounded buffer" tests of the scanner and client.
 */
import { listenLocal } from './local-server.ts';
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface FloodServerOptions {
  /** Speak TLS with these options; plain TCP when absent. */
  readonly tls?: tls.TlsOptions;
  /** Start when the client's first bytes arrive (a request); otherwise at once (a greeting). */
  readonly afterRequest: boolean;
  /** Sent once before the flood, e.g. an HTTP status line and headers. */
  readonly preamble?: string;
}

export async function startFloodServer(
  opts: FloodServerOptions,
): Promise<{ port: number; close: () => Promise<void> }> {
  const block = Buffer.alloc(64 * 1024, 0x78);
  const flood = (s: net.Socket): void => {
    if (opts.preamble) s.write(opts.preamble);
    const pump = (): void => {
      while (!s.destroyed && s.write(block));
      if (!s.destroyed) s.once('drain', pump);
    };
    pump();
  };
  const onConnection = (s: net.Socket): void => {
    s.on('error', () => undefined);
    if (opts.afterRequest) s.once('data', () => flood(s));
    else flood(s);
  };
  const server = opts.tls ? tls.createServer(opts.tls, onConnection) : net.createServer(onConnection);
  const { port, close } = await listenLocal(server);
  return { port, close };
}
