/**
 * A TLSSocket-like Duplex on a net.Socket, driving the sans-I/O ClientConnection:
 * socket bytes in, engine events out as stream data and socket events. Every
 * wait has a timeout. This is the only place the client engine meets I/O.
 */
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { ClientConnection, type ClientConfigInput } from '../connection/client-connection.ts';
import type { ClientHelloOptions, RenegotiationInfoChoice } from '../handshake/client.ts';
import type { ClientSession } from '../handshake/client-config.ts';
import type { ConnectionEvent, HandshakeSummary } from '../handshake/events.ts';
import { suiteById, suiteName } from '../crypto/suites.ts';
import { alertName, versionName } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';

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

export type RenegotiationOutcome = 'completed' | 'refused-alert' | 'closed' | 'timeout';

export interface RenegotiationResult {
  outcome: RenegotiationOutcome;
  /** The alert that refused or closed it, by name. */
  alert?: string;
  error?: string;
  summary?: HandshakeSummary;
}

export interface PeerCertificate {
  subject: string;
  issuer: string;
  subjectaltname: string | undefined;
  valid_from: string;
  valid_to: string;
  fingerprint256: string;
  serialNumber: string;
  raw: Buffer;
}

export interface RenegotiateOptions {
  timeoutMs?: number;
  /** Misbehave on purpose (scanner): send a wrong, empty or missing renegotiated_connection, or the SCSV. */
  renegotiationInfo?: RenegotiationInfoChoice;
  raw?: Uint8Array;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

export class RenegoSocket extends Duplex {
  readonly engine: ClientConnection;
  readonly socket: net.Socket;
  private summary: HandshakeSummary | undefined;
  private session: ClientSession | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly handshakeTimeout: number;
  private waiters: ((e: ConnectionEvent | { type: 'socket-closed' } | { type: 'timeout' }) => void)[] = [];
  private pendingWrites: { chunk: Buffer; cb: (err?: Error | null) => void }[] = [];
  private secure = false;

  constructor(options: ConnectOptions) {
    super({ allowHalfOpen: false });
    this.engine = new ClientConnection(options);
    this.handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (options.socket) {
      this.socket = options.socket;
      queueMicrotask(() => this.onConnect());
    } else {
      this.socket = net.connect({ host: options.host ?? 'localhost', port: options.port ?? 443 });
      this.socket.setTimeout(options.connectTimeout ?? 10_000, () =>
        this.abort(new TlsError('Timeout', 'TCP connect timed out')),
      );
      this.socket.once('connect', () => {
        this.socket.setTimeout(0);
        this.onConnect();
      });
    }
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.handle(this.engine.receive(d)));
    // A reset after we closed our side is the end of the conversation, not a failure.
    this.socket.on('error', (e) => (this.writableEnded ? this.destroy() : this.destroy(e)));
    this.socket.on('close', () => this.onSocketClose());
  }

  private onConnect(): void {
    this.armTimer('handshake');
    this.handle(this.engine.start());
  }

  private armTimer(what: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.notify({ type: 'timeout' });
      if (!this.secure) this.abort(new TlsError('Timeout', `${what} timed out after ${this.handshakeTimeout} ms`));
    }, this.handshakeTimeout);
    this.timer.unref?.();
  }

  private abort(error: TlsError): void {
    this.engine.fail(error);
    this.flush();
    this.handle(this.engine.drainEvents());
  }

  private flush(): void {
    const out = this.engine.takeOutput();
    if (out.length > 0 && !this.socket.destroyed) this.socket.write(out);
  }

  private handle(events: ConnectionEvent[]): void {
    this.flush();
    for (const e of events) {
      this.notify(e);
      switch (e.type) {
        case 'data':
          if (!this.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength))) this.socket.pause();
          break;
        case 'handshake-complete':
          clearTimeout(this.timer);
          this.summary = e.summary;
          if (!this.secure) {
            this.secure = true;
            this.emit('secureConnect');
            this.drainPendingWrites();
          } else {
            this.emit('renegotiated', e.summary);
          }
          break;
        case 'renegotiation-requested':
          this.emit('helloRequest', e);
          if (e.accepted) this.armTimer('renegotiation');
          break;
        case 'session':
          this.session = e.session;
          this.emit('session', e.session);
          break;
        case 'close-notify':
          this.push(null);
          break;
        case 'error':
          clearTimeout(this.timer);
          if (e.error.kind === 'PeerClosed') break;
          this.destroy(e.error);
          break;
        default:
          break;
      }
      this.emit('tlsEvent', e);
    }
    this.flush();
  }

  private notify(e: ConnectionEvent | { type: 'socket-closed' } | { type: 'timeout' }): void {
    for (const w of this.waiters.slice()) w(e);
  }

  private onSocketClose(): void {
    clearTimeout(this.timer);
    this.notify({ type: 'socket-closed' });
    if (!this.secure && !this.destroyed) {
      this.destroy(new TlsError('PeerClosed', 'connection closed during the handshake'));
      return;
    }
    this.push(null);
    for (const w of this.pendingWrites) w.cb(new TlsError('PeerClosed', 'connection closed'));
    this.pendingWrites = [];
  }

  // --- Duplex ----------------------------------------------------------------

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.secure) {
      this.pendingWrites.push({ chunk, cb });
      return;
    }
    this.writeNow(chunk, cb);
  }

  private writeNow(chunk: Buffer, cb: (err?: Error | null) => void): void {
    try {
      this.engine.write(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    const out = this.engine.takeOutput();
    if (this.socket.destroyed) return cb(new TlsError('PeerClosed', 'socket closed'));
    this.socket.write(out, (err) => cb(err ?? null));
  }

  private drainPendingWrites(): void {
    const queued = this.pendingWrites;
    this.pendingWrites = [];
    for (const w of queued) this.writeNow(w.chunk, w.cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.engine.close();
    const out = this.engine.takeOutput();
    this.socket.end(out, () => cb());
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    clearTimeout(this.timer);
    this.socket.destroy();
    cb(err);
  }

  // --- TLSSocket-like API ----------------------------------------------------

  get encrypted(): true {
    return true;
  }

  get authorized(): boolean {
    return this.summary?.peerVerified ?? false;
  }

  getProtocol(): string | null {
    return this.summary ? versionName(this.summary.version) : null;
  }

  getCipher(): { name: string; standardName: string; version: string } | null {
    if (!this.summary) return null;
    const s = suiteById(this.summary.cipherSuite);
    return {
      name: s?.opensslName ?? suiteName(this.summary.cipherSuite),
      standardName: s?.name ?? suiteName(this.summary.cipherSuite),
      version: versionName(this.summary.version),
    };
  }

  getPeerCertificate(): PeerCertificate | Record<string, never> {
    const der = this.summary?.peerCertificates[0];
    if (!der) return {};
    const c = new crypto.X509Certificate(Buffer.from(der));
    return {
      subject: c.subject,
      issuer: c.issuer,
      subjectaltname: c.subjectAltName,
      valid_from: c.validFrom,
      valid_to: c.validTo,
      fingerprint256: c.fingerprint256,
      serialNumber: c.serialNumber,
      raw: c.raw,
    };
  }

  getSession(): ClientSession | undefined {
    return this.session;
  }

  isSessionReused(): boolean {
    return this.summary?.resumed ?? false;
  }

  /** The last completed handshake's facts (RFC 5746 and RFC 7627 status included). */
  getHandshakeSummary(): HandshakeSummary | undefined {
    return this.summary;
  }

  /**
   * Starts a client-initiated renegotiation and resolves with how it ended;
   * never rejects. A local policy refusal is reported as 'closed' with the error.
   */
  renegotiate(options: RenegotiateOptions = {}): Promise<RenegotiationResult> {
    const timeoutMs = options.timeoutMs ?? this.handshakeTimeout;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (r: RenegotiationResult): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(r);
      };
      const waiter = (e: ConnectionEvent | { type: 'socket-closed' } | { type: 'timeout' }): void => {
        switch (e.type) {
          case 'handshake-complete':
            return done({ outcome: 'completed', summary: e.summary });
          case 'renegotiation-refused':
            return done({ outcome: 'refused-alert', alert: alertName(e.alert) });
          case 'error':
            return done({
              outcome: 'closed',
              error: e.error.message,
              ...(e.error.peerAlert !== undefined ? { alert: alertName(e.error.peerAlert) } : {}),
            });
          case 'socket-closed':
            return done({ outcome: 'closed', error: 'connection closed' });
          default:
            return;
        }
      };
      this.waiters.push(waiter);
      timer = setTimeout(() => done({ outcome: 'timeout' }), timeoutMs);
      timer.unref?.();
      const opts: ClientHelloOptions = {};
      if (options.renegotiationInfo) opts.renegotiationInfo = options.renegotiationInfo;
      if (options.raw) opts.raw = options.raw;
      try {
        this.handle(this.engine.renegotiate(opts));
      } catch (e) {
        done({ outcome: 'closed', error: e instanceof Error ? e.message : String(e) });
      }
    });
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
