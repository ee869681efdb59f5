/**
 * A test server of our own on a free port of 127.0.0.1, whose close() ends every connection it
 * accepted (and any other socket handed to track(), such as a relay's upstream) before the
 * server itself, so that no test waits on a peer that keeps a connection open.
 */
import type * as net from 'node:net';

export interface LocalServer {
  readonly port: number;
  /** Destroyed by close() if still open. Accepted connections are tracked already. */
  track(socket: net.Socket): void;
  close(): Promise<void>;
}

export async function listenLocal(server: net.Server): Promise<LocalServer> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  // 'connection' carries the raw socket for tls.Server too: destroying it ends the TLS socket.
  server.on('connection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    track,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
