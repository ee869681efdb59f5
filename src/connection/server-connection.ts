/**
 * The server connection: the sans-I/O core plus the server's renegotiation
 * policy, applied in one place (`onHandshakeInTraffic` for a client's
 * ClientHello, `requestRenegotiation` for our HelloRequest).
 */
import { SUPPORTED_GROUPS } from '../crypto/key-exchange.ts';
import { SUPPORTED_SCHEMES } from '../crypto/signatures.ts';
import { DEFAULT_CLIENT_SUITES } from '../crypto/suites.ts';
import type { ConnectionEvent } from '../handshake/events.ts';
import { ServerHandshake } from '../handshake/server.ts';
import {
  SAFE_SERVER_RENEGOTIATION,
  type ServerConfig,
  type ServerRenegotiationPolicy,
} from '../handshake/server-config.ts';
import { RenegotiationRateLimiter } from '../handshake/rate-limit.ts';
import { REFUSAL_TEXT, refusalAnswer, serverDecision, type RenegotiationDecision } from '../handshake/renegotiation.ts';
import { SessionStore } from '../handshake/server-sessions.ts';
import { AlertDescription, AlertLevel, HandshakeType, ProtocolVersion } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import {
  MAX_CLIENT_HELLO_LENGTH,
  encodeHandshake,
  type HandshakeMessage,
  type UnknownHandshake,
} from '../wire/handshake.ts';
import { Connection } from './connection.ts';

export type ServerConfigInput = Partial<Omit<ServerConfig, 'renegotiation' | 'certificates'>> &
  Pick<ServerConfig, 'certificates'> & {
    renegotiation?: Partial<ServerRenegotiationPolicy>;
  };

/** A resolved configuration plus what all connections of one server share. */
export interface ServerContext {
  config: ServerConfig;
  sessions: SessionStore | undefined;
}

export function createServerContext(input: ServerConfigInput): ServerContext {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as ServerConfigInput;
  const config: ServerConfig = {
    minVersion: ProtocolVersion.TLSv1,
    maxVersion: ProtocolVersion['TLSv1.2'],
    cipherSuites: DEFAULT_CLIENT_SUITES,
    groups: SUPPORTED_GROUPS,
    signatureSchemes: SUPPORTED_SCHEMES,
    clientCertificate: 'none',
    clientCertificateRequired: false,
    extendedMasterSecret: true,
    sessionCache: true,
    sessionTickets: true,
    sessionLifetimeMs: 2 * 60 * 60 * 1000,
    // RFC 5246 §7.4.1.2's largest ClientHello (65 KB of padding, 16,383 empty extensions, a full
    // cipher list): a smaller bound would refuse ClientHellos OpenSSL accepts.
    maxHandshakeMessageSize: MAX_CLIENT_HELLO_LENGTH,
    ...defined,
    renegotiation: { ...SAFE_SERVER_RENEGOTIATION, ...input.renegotiation },
  };
  if (config.certificates.length === 0) throw new TlsError('InternalError', 'a server needs a certificate');
  const sessions =
    config.sessionCache || config.sessionTickets
      ? new SessionStore(config.sessionLifetimeMs, config.ticketKey)
      : undefined;
  return { config, sessions };
}

export interface ServerConnectionOptions {
  observe?: boolean;
}

export class ServerConnection extends Connection<ServerHandshake> {
  readonly config: ServerConfig;
  /** We sent HelloRequest and wait for the client's ClientHello. */
  private helloRequestPending = false;
  private requestCertOnRenegotiation = false;
  private refusals = 0;
  /** CVE-2011-1473: client-initiated renegotiations in a sliding window, as Node's CLIENT_RENEG_LIMIT. */
  private readonly clientLimit: RenegotiationRateLimiter;

  constructor(ctx: ServerContext, options: ServerConnectionOptions = {}) {
    super(
      { maxHandshakeMessageSize: ctx.config.maxHandshakeMessageSize, observe: options.observe ?? false },
      new ServerHandshake(ctx.config, ctx.sessions),
    );
    this.config = ctx.config;
    this.clientLimit = new RenegotiationRateLimiter(ctx.config.renegotiation.clientLimit, 1);
  }

  protected negotiatingVersion(): number | undefined {
    return undefined;
  }

  /**
   * Sends HelloRequest (RFC 5246 §7.4.1.1), optionally asking for a client
   * certificate in the new handshake: IIS's way to authenticate a protected
   * path. Refused locally, with a typed error, when policy forbids it.
   */
  requestRenegotiation(opts: { requestCert?: boolean } = {}): ConnectionEvent[] {
    if (this.error) throw this.error;
    if (!this.handshakeComplete || this.isHandshaking || this.helloRequestPending) {
      throw new TlsError('InternalError', 'a renegotiation needs a completed handshake and none under way');
    }
    const decision = this.decide(true);
    if (!decision.allow) {
      const kind = decision.refusal === 'legacy-peer' ? 'InsecureRenegotiationRefused' : 'RenegotiationRefused';
      throw new TlsError(kind, REFUSAL_TEXT[decision.refusal]);
    }
    this.helloRequestPending = true;
    this.requestCertOnRenegotiation = opts.requestCert ?? false;
    // HelloRequest is not part of any transcript (RFC 5246 §7.4.1.1).
    const raw = encodeHandshake({ type: HandshakeType.hello_request });
    this.emit({ type: 'handshake-message', direction: 'out', message: { type: HandshakeType.hello_request }, raw });
    this.sendRawHandshake(raw);
    return this.drainEvents();
  }

  get awaitingRenegotiation(): boolean {
    return this.helloRequestPending;
  }

  protected onHandshakeInTraffic(msg: HandshakeMessage | UnknownHandshake, raw: Uint8Array): void {
    if (msg.type !== HandshakeType.client_hello) {
      throw new TlsError('UnexpectedMessage', `handshake message ${msg.type} after the handshake`);
    }
    const requested = this.helloRequestPending;
    const decision = this.decide(requested);
    if (!decision.allow) {
      const reason = REFUSAL_TEXT[decision.refusal];
      this.emit({ type: 'renegotiation-requested', accepted: false, reason });
      const p = this.config.renegotiation;
      switch (refusalAnswer(p.refuseWith, this.refusals++, p.maxRefusals)) {
        case 'fatal':
          throw new TlsError('RenegotiationRefused', reason);
        case 'too-many':
          throw new TlsError('TooManyRenegotiationRequests', `${this.refusals} refused renegotiations`);
        case 'warning':
          this.sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
          return;
        case 'ignore':
          // Drop the ClientHello without a word, as some servers do; the client is left waiting.
          return;
      }
    }
    if (!requested && !this.clientLimit.take('client')) {
      const { count, windowMs } = this.config.renegotiation.clientLimit;
      throw new TlsError(
        'TooManyRenegotiationRequests',
        `more than ${count} client-initiated renegotiations in ${windowMs} ms`,
      );
    }
    this.emit({
      type: 'renegotiation-requested',
      accepted: true,
      reason: requested ? 'answer to our HelloRequest' : 'client-initiated',
    });
    this.helloRequestPending = false;
    const requestClientCertificate =
      (requested && this.requestCertOnRenegotiation) ||
      this.config.clientCertificate === 'initial' ||
      this.security.peerCertificates.length > 0;
    this.machine.renegotiate(this.cx, requestClientCertificate, { kind: 'message', msg, raw });
    this.records.flushHandshake();
  }

  private decide(serverInitiated: boolean): RenegotiationDecision {
    return serverDecision(this.config.renegotiation, { serverInitiated, secure: this.security.secureRenegotiation });
  }

  /** The client declined our HelloRequest with a no_renegotiation warning: the session goes on. */
  protected override onWarningAlert(description: number): boolean {
    if (description !== AlertDescription.no_renegotiation || !this.helloRequestPending) return false;
    this.helloRequestPending = false;
    this.emit({ type: 'renegotiation-refused', alert: description });
    return true;
  }
}
