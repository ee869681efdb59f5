/** The client adapter: `connect(options)` gives a TLSSocket-like RenegoSocket on the client engine. */
import * as net from 'node:net';
import { ClientConnection, type ClientConfigInput } from '../connection/client-connection.ts';
import type { ClientHelloOptions, RenegotiationInfoChoice } from '../handshake/client-hello.ts';
import type { ClientSession } from '../handshake/client-config.ts';
import type { ConnectionEvent } from '../handshake/events.ts';
import { TlsError } from '../wire/errors.ts';
import { EngineSocket, type RenegotiationResult } from './engine-socket.ts';

export type { PeerCertificate, RenegotiationOutcome, RenegotiationResult } from './engine-socket.ts';

export interface ConnectOptions extends ClientConfigInput {
  host?: string;
  port?: number;
  /** An already connected socket (STARTTLS, a proxy) instead of host/port. */
  socket?: net.Socket;
  /** Bounds the initial handshake and each renegotiation (ms, default 30 s). */
  handshakeTimeout?: number;
  /** Bounds the TCP connect (ms, default 10 s). */
  connectTimeout?: number;
}

export interface RenegotiateOptions {
  timeoutMs?: number;
  /** Misbehave on purpose (scanner): send a wrong, empty or missing renegotiated_connection, or the SCSV. */
  renegotiationInfo?: RenegotiationInfoChoice;
  /** Send these bytes as the ClientHello (the lab relays a victim's hello). */
  raw?: Uint8Array;
}

/** Events: 'secureConnect', 'renegotiated' (summary), 'renegotiationRequested' (a HelloRequest and our answer), 'session', 'tlsEvent'. */
export class RenegoSocket extends EngineSocket<ClientConnection> {
  private session: ClientSession | undefined;

  constructor(options: ConnectOptions) {
    const socket = options.socket ?? net.connect({ host: options.host ?? 'localhost', port: options.port ?? 443 });
    super(new ClientConnection(options), socket, options.handshakeTimeout);
    if (options.socket) {
      queueMicrotask(() => this.begin());
      return;
    }
    socket.setTimeout(options.connectTimeout ?? 10_000, () =>
      this.destroy(new TlsError('Timeout', 'TCP connect timed out')),
    );
    socket.once('connect', () => {
      socket.setTimeout(0);
      this.begin();
    });
  }

  private begin(): void {
    this.armTimer('handshake');
    this.handle(this.engine.start());
  }

  protected onSecure(): void {
    this.emit('secureConnect');
  }

  protected override onEvent(e: ConnectionEvent): void {
    if (e.type === 'session') {
      this.session = e.session;
      this.emit('session', e.session);
    }
    super.onEvent(e);
  }

  getSession(): ClientSession | undefined {
    return this.session;
  }

  /**
   * Low-level: answer the server's HelloRequests with this renegotiation_info
   * instead of the correct one (the scanner's RFC 5746 enforcement check).
   */
  answerHelloRequestsWith(renegotiationInfo: RenegotiationInfoChoice): void {
    this.engine.helloRequestAnswer = { renegotiationInfo };
  }

  /** Starts a client-initiated renegotiation and resolves with how it ended; never rejects. */
  renegotiate(options: RenegotiateOptions = {}): Promise<RenegotiationResult> {
    const opts: ClientHelloOptions = {};
    if (options.renegotiationInfo) opts.renegotiationInfo = options.renegotiationInfo;
    if (options.raw) opts.raw = options.raw;
    return this.awaitRenegotiation(() => this.engine.renegotiate(opts), options.timeoutMs ?? this.handshakeTimeout);
  }
}

/** Connects and resolves once the handshake completes; rejects with the TlsError otherwise. */
export function connect(options: ConnectOptions): Promise<RenegoSocket> {
  return new Promise((resolve, reject) => {
    const s = new RenegoSocket(options);
    const onError = (e: Error): void => reject(e);
    s.once('error', onError);
    s.once('secureConnect', () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}
