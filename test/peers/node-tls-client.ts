/** A node:tls client for line-based peers: it collects what it receives and waits for patterns in it. */
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { OutputLog } from './peer-process.ts';

export interface LineClient {
  readonly socket: TLSSocket;
  send(line: string): void;
  /** Resolves with everything received so far once it matches re; rejects after the wait. */
  waitFor(re: RegExp): Promise<string>;
  close(): void;
}

/** Connects to host:port and resolves after the handshake; rejects on an error or after waitMs. */
export function openLineClient(
  peer: { readonly host: string; readonly port: number },
  options: ConnectionOptions,
  waitMs: number,
): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const received = new OutputLog('node:tls client');
    const socket = connect({ host: peer.host, port: peer.port, ...options });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${peer.host}:${peer.port} within ${waitMs} ms`));
    }, waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => received.append(chunk));
    socket.on('close', () => received.end('connection closed'));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.on('error', () => undefined);
      resolve({
        socket,
        send: (line) => socket.write(`${line}\n`),
        waitFor: (re) => received.waitFor(re, waitMs),
        close: () => socket.destroy(),
      });
    });
  });
}
