/**
 * The server adapter: `createServer(options, listener)` accepts TCP connections
 * and hands out TLSSocket-like RenegoServerSockets on the server engine. They
 * work with node:http (`httpServer.emit('connection', socket)`), so an
 * https-like server runs on the engine; `socket.renegotiate({ requestCert })`
 * asks for a client certificate mid-connection, as IIS did.
 */
import * as net from 'node:net';
import {
  ServerConnection,
  createServerContext,
  type ServerConfigInput,
  type ServerContext,
} from '../connection/server-connection.ts';
import { EngineSocket, type RenegotiationResult } from './engine-socket.ts';

export interface ServerOptions extends ServerConfigInput {
  /** Bounds every handshake, so slowloris-style clients are dropped (ms, default 30 s). */
  handshakeTimeout?: number;
  /** Emit 'tlsEvent' for every record and handshake message. */
  observe?: boolean;
}

/** Events: 'secure', 'renegotiated' (summary), 'renegotiationRequested', 'tlsEvent', and the Duplex ones. */
export class RenegoServerSocket extends EngineSocket<ServerConnection> {
  constructor(ctx: ServerContext, socket: net.Socket, options: ServerOptions) {
    super(new ServerConnection(ctx, { observe: options.observe ?? false }), socket, options.handshakeTimeout);
    this.armTimer('handshake');
  }

  protected onSecure(): void {
    this.emit('secure');
  }

  /**
   * Sends HelloRequest and resolves when the client's new handshake completes
   * (or is refused, times out, or closes). Node's TLSSocket.renegotiate shape:
   * the callback gets an error unless it completed.
   */
  renegotiate(
    options: { requestCert?: boolean; timeoutMs?: number } = {},
    callback?: (err: Error | null) => void,
  ): Promise<RenegotiationResult> {
    const p = this.awaitRenegotiation(
      () => this.engine.requestRenegotiation({ requestCert: options.requestCert ?? false }),
      options.timeoutMs ?? this.handshakeTimeout,
    );
    if (callback) {
      void p.then((r) =>
        callback(
          r.outcome === 'completed'
            ? null
            : new Error(`renegotiation ${r.outcome}${r.alert ? ` (${r.alert})` : ''}${r.error ? `: ${r.error}` : ''}`),
        ),
      );
    }
    return p;
  }
}

export interface RenegoServer extends net.Server {
  readonly context: ServerContext;
}

/**
 * Listener gets each socket once its first handshake completes ('secureConnection');
 * any socket error, during the handshake or after, is reported as 'tlsClientError' (error, socket).
 */
export function createServer(options: ServerOptions, listener?: (socket: RenegoServerSocket) => void): RenegoServer {
  const context = createServerContext(options);
  const server = net.createServer((raw) => {
    const sock = new RenegoServerSocket(context, raw, options);
    // Errors always have a listener here, so a hostile client can never crash the process.
    sock.on('error', (e: Error) => server.emit('tlsClientError', e, sock));
    sock.once('secure', () => server.emit('secureConnection', sock));
  }) as RenegoServer;
  Object.defineProperty(server, 'context', { value: context });
  if (listener) server.on('secureConnection', listener);
  return server;
}
