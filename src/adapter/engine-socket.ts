/**
 * The Duplex both socket adapters share: a net.Socket below, a sans-I/O
 * Connection inside, stream data and TLSSocket-like events above. Every wait has
 * a timeout. This is where the engine meets I/O, and the only place.
 */
import * as crypto from 'node:crypto';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { Connection } from '../connection/connection.ts';
import type { RecordLayer } from '../connection/record-layer.ts';
import { suiteById, suiteName } from '../crypto/suites.ts';
import type { ConnectionEvent, HandshakeSummary } from '../handshake/events.ts';
import { alertName, versionName } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';

/**
 * How a renegotiation we started ended:
 * - 'refused-alert': the peer answered with a warning no_renegotiation; the old session goes on (RFC 5246 §7.2.2).
 * - 'refused-fatal': the peer answered with a fatal alert (JSSE's handshake_failure); the connection is gone.
 * - 'refused-locally': our own policy refused before anything was sent; the connection goes on.
 * - 'closed': the connection ended without a refusal alert (close_notify, a TCP close, an error of ours),
 *   or had already ended when the renegotiation was asked for.
 */
export type RenegotiationOutcome =
  'completed' | 'refused-alert' | 'refused-fatal' | 'refused-locally' | 'closed' | 'timeout';

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

type Waiter = (e: ConnectionEvent | { type: 'socket-closed' }) => void;

export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

export abstract class EngineSocket<C extends Connection> extends Duplex {
  readonly engine: C;
  readonly socket: net.Socket;
  protected summary: HandshakeSummary | undefined;
  protected secure = false;
  private timer: NodeJS.Timeout | undefined;
  protected readonly handshakeTimeout: number;
  private waiters: Waiter[] = [];
  private pendingWrites: { chunk: Buffer; cb: (err?: Error | null) => void }[] = [];
  /** Kept from the start: net.Socket forgets its peer once destroyed, and logs need it after. */
  private peer: { address?: string; port?: number; family?: string } = {};
  /** The socket was handed over by takeOver(); it is no longer ours to close. */
  private detached = false;

  constructor(engine: C, socket: net.Socket, handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT) {
    super({ allowHalfOpen: false, writableHighWaterMark: 256 * 1024 });
    this.engine = engine;
    this.socket = socket;
    const rememberPeer = (): void => {
      this.peer = { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily };
    };
    if (socket.remoteAddress) rememberPeer();
    else socket.once('connect', rememberPeer);
    this.handshakeTimeout = handshakeTimeout;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.handle(this.engine.receive(d)));
    // A reset after we closed our side is the end of the conversation, not a failure.
    socket.on('error', (e) => (this.writableEnded ? this.destroy() : this.destroy(e)));
    socket.on('close', () => this.onSocketClose());
  }

  /** Bounds a handshake: the initial one aborts the connection, a renegotiation too. */
  protected armTimer(what: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.abort(new TlsError('Timeout', `${what} timed out after ${this.handshakeTimeout} ms`)),
      this.handshakeTimeout,
    );
    this.timer.unref?.();
  }

  protected abort(error: TlsError): void {
    this.engine.fail(error);
    this.handle(this.engine.drainEvents());
  }

  /** Writes what the engine queued as one vectored write; returns false when the socket buffer is full. */
  private flush(): boolean {
    const chunks = this.engine.takeOutputChunks();
    if (chunks.length === 0 || this.socket.destroyed) return true;
    if (chunks.length === 1) return this.socket.write(chunks[0]!);
    this.socket.cork();
    let room = true;
    for (const c of chunks) room = this.socket.write(c);
    this.socket.uncork();
    return room;
  }

  protected handle(events: ConnectionEvent[]): void {
    this.flush();
    for (const e of events) {
      // Copied only when someone waits: this runs once per record on the read path.
      if (this.waiters.length > 0) for (const w of this.waiters.slice()) w(e);
      this.onEvent(e);
      this.emit('tlsEvent', e);
    }
    this.flush();
  }

  protected onEvent(e: ConnectionEvent): void {
    switch (e.type) {
      case 'data':
        if (!this.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength))) this.socket.pause();
        return;
      case 'handshake-complete':
        clearTimeout(this.timer);
        this.summary = e.summary;
        if (this.secure) {
          this.emit('renegotiated', e.summary);
          return;
        }
        this.secure = true;
        this.onSecure();
        this.drainPendingWrites();
        return;
      case 'renegotiation-requested':
        this.emit('renegotiationRequested', e);
        if (e.accepted) this.armTimer('renegotiation');
        return;
      case 'renegotiation-refused':
        clearTimeout(this.timer);
        return;
      case 'close-notify':
        this.push(null);
        return;
      case 'error':
        clearTimeout(this.timer);
        if (e.error.kind !== 'PeerClosed') this.destroy(e.error);
        return;
      default:
        return;
    }
  }

  /** The first handshake completed. */
  protected abstract onSecure(): void;

  private onSocketClose(): void {
    clearTimeout(this.timer);
    for (const w of this.waiters.slice()) w({ type: 'socket-closed' });
    if (!this.secure && !this.destroyed) {
      this.destroy(new TlsError('PeerClosed', 'connection closed during the handshake'));
      return;
    }
    this.push(null);
    for (const w of this.pendingWrites) w.cb(new TlsError('PeerClosed', 'connection closed'));
    this.pendingWrites = [];
    if (!this.destroyed) this.destroy();
  }

  /**
   * Low-level: hands the TCP socket and the engine's record layer (keys in force)
   * to a tool that relays records itself, through takeOverSession in
   * record-relay.ts (the lab's attacker). This stream is finished afterwards; no
   * event or data reaches it again.
   */
  takeOver(): { socket: net.Socket; records: RecordLayer } {
    clearTimeout(this.timer);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('timeout');
    const records = this.engine.detachRecordLayer();
    this.detached = true;
    this.secure = false;
    this.pendingWrites = [];
    this.push(null);
    return { socket: this.socket, records };
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
    if (this.socket.destroyed) return cb(new TlsError('PeerClosed', 'socket closed'));
    // Encrypt the next chunk while the kernel sends this one: wait only when the socket's buffer is full.
    if (this.flush()) cb();
    else this.socket.once('drain', () => cb());
  }

  private drainPendingWrites(): void {
    const queued = this.pendingWrites;
    this.pendingWrites = [];
    for (const w of queued) this.writeNow(w.chunk, w.cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.engine.close();
    this.socket.end(this.engine.takeOutput(), () => cb());
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    clearTimeout(this.timer);
    if (!this.detached) this.socket.destroy();
    cb(err);
  }

  // --- what node:http and TLSSocket users expect of a socket ---------------------

  get encrypted(): true {
    return true;
  }

  get authorized(): boolean {
    return this.summary?.peerVerified ?? false;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress ?? this.peer.address;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort ?? this.peer.port;
  }

  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily ?? this.peer.family;
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  address(): ReturnType<net.Socket['address']> {
    return this.socket.address();
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    this.socket.removeAllListeners('timeout');
    if (ms > 0) this.socket.once('timeout', () => this.emit('timeout'));
    return this;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }

  destroySoon(): void {
    this.end();
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

  isSessionReused(): boolean {
    return this.summary?.resumed ?? false;
  }

  /** The last completed handshake's facts (RFC 5746 and RFC 7627 status included). */
  getHandshakeSummary(): HandshakeSummary | undefined {
    return this.summary;
  }

  /**
   * Runs `start` (which makes the engine send a ClientHello or HelloRequest) and
   * resolves with how the renegotiation ended; never rejects.
   */
  protected awaitRenegotiation(start: () => ConnectionEvent[], timeoutMs: number): Promise<RenegotiationResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ outcome: 'timeout' }), timeoutMs);
      timer.unref?.();
      const done = (r: RenegotiationResult): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(r);
      };
      const waiter: Waiter = (e) => {
        switch (e.type) {
          case 'handshake-complete':
            return done({ outcome: 'completed', summary: e.summary });
          case 'renegotiation-refused':
            return done({ outcome: 'refused-alert', alert: alertName(e.alert) });
          case 'error':
            // RFC 5246 §7.2.2: a fatal alert in answer to our hello is the peer refusing the renegotiation.
            if (e.error.kind === 'PeerSentFatalAlert' && e.error.peerAlert !== undefined) {
              return done({ outcome: 'refused-fatal', alert: alertName(e.error.peerAlert), error: e.error.message });
            }
            return done({ outcome: 'closed', error: e.error.message });
          case 'close-notify':
            return done({ outcome: 'closed', alert: 'close_notify', error: 'PeerClosed: peer sent close_notify' });
          case 'socket-closed':
            return done({ outcome: 'closed', error: 'connection closed' });
          default:
            return;
        }
      };
      // A connection that already ended (the peer's close_notify after a reply, a reset) is closed, not refused.
      const ended =
        this.engine.error ?? (this.socket.destroyed ? new TlsError('PeerClosed', 'connection closed') : undefined);
      if (ended !== undefined) {
        done({ outcome: 'closed', error: ended.message });
        return;
      }
      this.waiters.push(waiter);
      try {
        this.handle(start());
      } catch (e) {
        done({ outcome: 'refused-locally', error: e instanceof Error ? e.message : String(e) });
      }
    });
  }
}
