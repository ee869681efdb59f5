/**
 * One probe connection: the transport (transport.ts), then a handshake on the
 * renego client engine with every record and message in an evidence log, and
 * the session the probes share (application data inbox, renegotiation
 * classified). Every wait is bounded by the probe timeout; `close()` always
 * releases the socket.
 */
import type * as net from 'node:net';
import { RenegoSocket, type ConnectOptions, type RenegotiateOptions } from '../adapter/tls-socket.ts';
import type { RenegotiationResult } from '../adapter/engine-socket.ts';
import { suiteName } from '../crypto/suites.ts';
import type { ConnectionEvent, HandshakeSummary } from '../handshake/events.ts';
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  ExtensionType,
  HandshakeType,
  ProtocolVersion,
  versionName,
} from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import { encodeRecord } from '../wire/record.ts';
import { EvidenceLog } from './evidence-log.ts';
import { classifyRenegotiation, handshakeReach } from './outcome.ts';
import { nudgeFor } from './starttls.ts';
import { openTransport, RESET_CODES, TransportError } from './transport.ts';
import type { Reachability, RenegotiationAttempt, ScanOptions, ScanTarget } from './types.ts';

/** The server said nothing while we had other connections open to it. */
class QueuedError extends Error {}

export type ProbeConnectOptions = Omit<ConnectOptions, 'host' | 'port' | 'socket'>;

/** Why a handshake did not complete, in the scanner's words. */
export interface HandshakeFailure {
  error: string;
  kind: string;
  /** The alert the server sent, e.g. `fatal handshake_failure`. */
  alert?: string;
  /** How far the server got: did it send a ServerHello? */
  serverHello: boolean;
  /** The suite the ServerHello chose, when it got that far. */
  chosenSuite?: number;
  /** TCP or STARTTLS failed: TLS never started. */
  transport: boolean;
  /** How far the connection got towards a TLS server. */
  reach: Reachability;
  ms: number;
  transcript: string[];
}

/** What a probe keeps of the server's application data: status lines and short bodies fit, the rest is dropped. */
export const MAX_INBOX_BYTES = 1 << 20;

/** A completed handshake with the inbox of application data and helpers the probes share. */
export class ProbeSession {
  readonly log: EvidenceLog;
  private inbox: Buffer[] = [];
  private inboxBytes = 0;
  private wake: (() => void) | undefined;
  private closedFlag = false;
  private readonly onClosed: (() => void)[] = [];
  closeReason: string | undefined;

  constructor(
    readonly sock: RenegoSocket,
    readonly summary: HandshakeSummary,
    log: EvidenceLog,
    readonly handshakeMs: number,
    private readonly target: ScanTarget,
  ) {
    this.log = log;
    sock.on('data', (d: Buffer) => {
      const keep = d.subarray(0, Math.max(0, MAX_INBOX_BYTES - this.inboxBytes));
      if (keep.length > 0) {
        this.inbox.push(keep);
        this.inboxBytes += keep.length;
      }
      this.wake?.();
    });
    sock.on('close', () => {
      this.closedFlag = true;
      this.wake?.();
      this.runOnClosed();
    });
    sock.on('error', (e: Error) => {
      this.closeReason ??= e.message;
    });
  }

  get closed(): boolean {
    return this.closedFlag || this.sock.destroyed;
  }

  get version(): string {
    return versionName(this.summary.version);
  }

  get cipher(): string {
    return suiteName(this.summary.cipherSuite);
  }

  write(text: string): boolean {
    if (this.closed || this.sock.engine.error) return false;
    try {
      this.sock.write(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Everything received so far, consumed. */
  take(): string {
    const s = Buffer.concat(this.inbox).toString('latin1');
    this.inbox = [];
    this.inboxBytes = 0;
    return s;
  }

  /** Waits until `enough` holds for the data received so far, the inbox is full, the peer closes, or timeoutMs passes. */
  async read(timeoutMs: number, enough: (text: string) => boolean = (t) => t.length > 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = Buffer.concat(this.inbox).toString('latin1');
      if (enough(text) || this.closed || this.inboxBytes >= MAX_INBOX_BYTES) return this.take();
      const left = deadline - Date.now();
      if (left <= 0) return this.take();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /**
   * A client-initiated renegotiation classified for the scanner. Servers that
   * only process records when the application reads (HTTP servers between
   * requests) get a request after `nudgeAfterMs`; silence until the timeout is
   * 'ignored', after which we check whether application data still flows.
   */
  async renegotiate(
    opts: ScanOptions,
    ri?: RenegotiateOptions['renegotiationInfo'],
    how: { nudge: boolean } = { nudge: true },
  ): Promise<RenegotiationAttempt> {
    const started = performance.now();
    const certBefore = this.sock.getHandshakeSummary()?.peerCertificates[0];
    let serverHello = false;
    let answered = false;
    let nudged = false;
    const watch = (e: ConnectionEvent): void => {
      if (
        (e.type === 'handshake-message' && e.direction === 'in') ||
        (e.type === 'alert' && e.direction === 'received')
      )
        answered = true;
      if (e.type === 'handshake-message' && e.direction === 'in' && e.message.type === HandshakeType.server_hello)
        serverHello = true;
    };
    this.sock.on('tlsEvent', watch);
    const nudge = setTimeout(
      () => {
        // Only into silence: OpenSSL servers reject application data once they have sent their ServerHello.
        if (!how.nudge || answered || this.target.starttls === 'ldap' || this.target.starttls === 'postgres') return;
        nudged = this.write(nudgeFor(this.target.starttls, this.target.serverName ?? this.target.host));
      },
      Math.min(opts.nudgeAfterMs, opts.timeoutMs / 2),
    );
    let r: RenegotiationResult;
    try {
      r = await this.sock.renegotiate({ timeoutMs: opts.timeoutMs, ...(ri ? { renegotiationInfo: ri } : {}) });
    } finally {
      clearTimeout(nudge);
      this.sock.off('tlsEvent', watch);
    }
    const attempt = classifyRenegotiation(r, Math.round(performance.now() - started), this.log.alertReceived);
    if (serverHello) attempt.serverHello = true;
    if (nudged) attempt.nudged = true;
    if (r.summary) {
      attempt.secure = r.summary.secureRenegotiation;
      const certAfter = r.summary.peerCertificates[0];
      attempt.certificateChanged =
        certBefore !== undefined && certAfter !== undefined && !sameBytes(certBefore, certAfter);
    }
    if (attempt.outcome === 'ignored') attempt.dataFlows = await this.dataFlows(opts);
    return attempt;
  }

  /** After an unanswered renegotiation: does a request still get an answer? null when the service never answers. */
  private async dataFlows(opts: ScanOptions): Promise<boolean | null> {
    if (this.closed) return false;
    const request = nudgeFor(this.target.starttls, this.target.serverName ?? this.target.host);
    if (request === '' || !this.write(request)) return null;
    const got = await this.read(Math.min(opts.timeoutMs, 2000));
    if (got.length > 0) return true;
    return this.closed ? false : null;
  }

  /** Runs fn once the connection is closed, by us or by the server. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.onClosed.push(fn);
  }

  private runOnClosed(): void {
    for (const fn of this.onClosed.splice(0)) fn();
  }

  close(): void {
    try {
      this.sock.end();
    } catch {
      // already failed
    }
    this.sock.destroy();
    this.closedFlag = true;
    this.runOnClosed();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export type OpenResult = { ok: true; session: ProbeSession } | { ok: false; failure: HandshakeFailure };

/** What a probe that needs nothing after the server's first flight keeps of it (openFirstFlight). */
export interface FirstFlight {
  serverHello: NonNullable<EvidenceLog['serverHello']>;
  /** The ServerHello carried a (valid, empty) renegotiation_info: RFC 5746 §3.4. */
  secureRenegotiation: boolean;
  log: EvidenceLog;
  ms: number;
}

export type FirstFlightResult = { ok: true; flight: FirstFlight } | { ok: false; failure: HandshakeFailure };

/**
 * RFC 5246 §7.2.1 (RFC 8446 §6.1): close_notify says the sender will send
 * nothing more on the connection; sent at once after a ClientHello it tells the
 * server it will get no next flight, as a TCP half-close would, but in-band
 * (a proxy that turns a half-close into a full close cannot lose the answer).
 */
export function closeNotify(recordVersion: number): Uint8Array {
  return encodeRecord({
    type: ContentType.alert,
    version: recordVersion,
    fragment: Uint8Array.of(AlertLevel.warning, AlertDescription.close_notify),
  });
}

/** Connects and handshakes; never throws. The caller closes the session. */
export async function openSession(
  target: ScanTarget,
  address: string,
  engine: ProbeConnectOptions,
  opts: ScanOptions,
  hooks: HandshakeHooks = {},
): Promise<OpenResult> {
  const r = await handshake(target, address, engine, opts, hooks, 'handshake');
  if (!r.ok) return r;
  const summary = r.sock.getHandshakeSummary()!;
  return { ok: true, session: new ProbeSession(r.sock, summary, r.log, r.ms, target) };
}

/**
 * Sends the ClientHello and a close_notify behind it, and reads the server's
 * first flight up to its ServerHelloDone (each message checked by the engine as
 * in a handshake: version, suite, RFC 5746, certificate, key exchange signature),
 * then closes; never throws. For probes whose question the first flight answers
 * (which version, which renegotiation_info): a server that runs one handshake at
 * a time and waits inside it for the client's next flight (gnutls-serv: measured
 * one round trip per handshake during which its other connections wait) is free
 * again as soon as it has answered, instead of a round trip later.
 */
export async function openFirstFlight(
  target: ScanTarget,
  address: string,
  engine: ProbeConnectOptions,
  opts: ScanOptions,
  hooks: HandshakeHooks = {},
): Promise<FirstFlightResult> {
  const r = await handshake(target, address, engine, opts, hooks, 'first-flight');
  if (!r.ok) return r;
  r.sock.destroy();
  const sh = r.log.serverHello!;
  const ri = sh.extensions?.some((e) => e.type === ExtensionType.renegotiation_info) ?? false;
  return { ok: true, flight: { serverHello: sh, secureRenegotiation: ri, log: r.log, ms: r.ms } };
}

/** What the target's connection gate (probes/context.ts) learns from, and steers, a handshake. */
export interface HandshakeHooks {
  /** Fail with kind 'Queued' when nothing came back within `ms` while `crowded()` (others progressing). */
  stall?: { ms: number; crowded: () => boolean };
  /** Bytes came from the server (any connection's bytes show the server is progressing). */
  activity?(): void;
  /** The ClientHello went out. */
  helloSent?(): void;
  /** The server's first bytes came, this long after the ClientHello. */
  answered?(waitMs: number): void;
  /** The handshake (or the first flight) is over, whichever way. */
  ended?(): void;
}

type Handshaken =
  { ok: true; sock: RenegoSocket; log: EvidenceLog; ms: number } | { ok: false; failure: HandshakeFailure };

async function handshake(
  target: ScanTarget,
  address: string,
  engine: ProbeConnectOptions,
  opts: ScanOptions,
  hooks: HandshakeHooks,
  until: 'handshake' | 'first-flight',
): Promise<Handshaken> {
  const started = performance.now();
  const log = new EvidenceLog();
  let socket: net.Socket;
  try {
    socket = await openTransport(target, address, opts);
  } catch (e) {
    hooks.ended?.();
    return {
      ok: false,
      failure: {
        error: (e as Error).message,
        kind: 'Transport',
        serverHello: false,
        transport: true,
        // openTransport throws only TransportErrors; anything else is a socket that failed as it opened.
        reach: e instanceof TransportError ? e.reach : 'unroutable',
        ms: elapsed(started),
        transcript: [],
      },
    };
  }
  const sock = new RenegoSocket({
    ...engine,
    socket,
    serverName: target.serverName,
    insecure: true,
    observe: true,
    handshakeTimeout: opts.timeoutMs,
  });
  sock.on('tlsEvent', (e: ConnectionEvent) => log.onEvent(e));
  // The engine sends the ClientHello as soon as it starts, on this already connected socket.
  const helloAt = performance.now();
  hooks.helloSent?.();
  return new Promise<Handshaken>((resolve) => {
    let settled = false;
    const finish = (r: Handshaken): void => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      hooks.ended?.();
      resolve(r);
    };
    /** The first bytes from the server: a failure after them is not silence, and they show whether it speaks TLS. */
    let first: Uint8Array | undefined;
    const fail = (e: Error): void => {
      sock.destroy();
      const sh = log.serverHello;
      const kind = e instanceof QueuedError ? 'Queued' : e instanceof TlsError ? e.kind : 'Error';
      const failure: HandshakeFailure = {
        error: e.message,
        kind,
        serverHello: sh !== undefined,
        transport: false,
        reach: handshakeReach({
          first,
          tls: log.heardTls,
          timedOut: kind === 'Timeout' || kind === 'Queued',
          reset: RESET_CODES.has((e as NodeJS.ErrnoException).code ?? ''),
        }),
        ms: elapsed(started),
        transcript: log.lines,
      };
      if (log.alertReceived) failure.alert = log.alertReceived;
      if (sh) failure.chosenSuite = sh.cipherSuite;
      finish({ ok: false, failure });
    };
    // The adapter bounds the handshake itself; this is a second fence in case the socket never settles.
    const guard = setTimeout(
      () => fail(new TlsError('Timeout', `handshake not finished after ${opts.timeoutMs + 1000} ms`)),
      opts.timeoutMs + 1000,
    );
    // Silence while our other connections to this server are open: probably queued behind them.
    socket.on('data', (d: Buffer) => {
      if (first === undefined) hooks.answered?.(performance.now() - helloAt);
      first ??= d.subarray(0, 2);
      hooks.activity?.();
    });
    const stall = hooks.stall;
    const stallTimer = stall
      ? setTimeout(() => {
          if (first === undefined && stall.crowded())
            fail(new QueuedError(`no answer within ${stall.ms} ms while other connections were open`));
        }, stall.ms)
      : undefined;
    sock.once('close', () => clearTimeout(stallTimer));
    sock.once('secureConnect', () => clearTimeout(stallTimer));
    sock.on('error', fail);
    sock.once('close', () => fail(new TlsError('PeerClosed', 'connection closed during the handshake')));
    const ok = (): void => {
      clearTimeout(stallTimer);
      sock.off('error', fail);
      sock.removeAllListeners('close');
      sock.on('error', () => undefined);
      finish({ ok: true, sock, log, ms: elapsed(started) });
    };
    if (until === 'first-flight') {
      // The ClientHello goes out as the socket connects (the engine's first flush, before its event).
      const recordVersion = Math.min(engine.maxVersion ?? ProtocolVersion['TLSv1.2'], ProtocolVersion['TLSv1.2']);
      const watch = (e: ConnectionEvent): void => {
        if (e.type !== 'handshake-message') return;
        if (e.direction === 'out' && e.message.type === HandshakeType.client_hello)
          socket.write(closeNotify(recordVersion));
        if (e.direction === 'in' && e.message.type === HandshakeType.server_hello_done) {
          sock.off('tlsEvent', watch);
          ok();
        }
      };
      sock.on('tlsEvent', watch);
      return;
    }
    sock.once('secureConnect', ok);
  });
}

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
