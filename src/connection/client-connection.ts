/**
 * The client connection: the sans-I/O core plus the client's renegotiation
 * policy, applied in one place (`onHandshakeInTraffic` for the server's
 * HelloRequest, `renegotiate` for our own), as Go's handleRenegotiation does.
 */
import { REFUSAL_TEXT, clientAnswer, clientMayRenegotiate, refusalAnswer } from '../handshake/renegotiation.ts';
import { DEFAULT_CLIENT_SUITES } from '../crypto/suites.ts';
import { SUPPORTED_GROUPS } from '../crypto/key-exchange.ts';
import { MIN_DH_BITS } from '../crypto/key-exchange.ts';
import { SUPPORTED_SCHEMES } from '../crypto/signatures.ts';
import { ClientHandshake } from '../handshake/client.ts';
import type { ClientHelloOptions } from '../handshake/client-hello.ts';
import {
  DEFAULT_CLIENT_RENEGOTIATION,
  type ClientConfig,
  type ClientRenegotiationPolicy,
} from '../handshake/client-config.ts';
import type { ConnectionEvent } from '../handshake/events.ts';
import { AlertDescription, AlertLevel, HandshakeType, ProtocolVersion } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import type { HandshakeMessage, UnknownHandshake } from '../wire/handshake.ts';
import { Connection } from './connection.ts';

export type ClientConfigInput = Partial<Omit<ClientConfig, 'renegotiation'>> & {
  renegotiation?: Partial<ClientRenegotiationPolicy>;
  observe?: boolean;
};

export function resolveClientConfig(input: ClientConfigInput = {}): ClientConfig {
  return {
    minVersion: ProtocolVersion['TLSv1.2'],
    maxVersion: ProtocolVersion['TLSv1.2'],
    cipherSuites: DEFAULT_CLIENT_SUITES,
    groups: SUPPORTED_GROUPS,
    signatureSchemes: SUPPORTED_SCHEMES,
    insecure: false,
    extendedMasterSecret: true,
    sessionTickets: true,
    maxHandshakeMessageSize: 64 * 1024,
    minDhBits: MIN_DH_BITS,
    ...stripUndefined(input),
    renegotiation: { ...DEFAULT_CLIENT_RENEGOTIATION, ...stripUndefined(input.renegotiation ?? {}) },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class ClientConnection extends Connection<ClientHandshake> {
  readonly config: ClientConfig;
  private acceptedRequests = 0;
  private refusedRequests = 0;
  /**
   * Low-level: the ClientHello options that answer the server's HelloRequests.
   * The scanner sets a wrong renegotiation_info here to see whether a server
   * enforces RFC 5746 in the renegotiations it starts itself.
   */
  helloRequestAnswer: ClientHelloOptions = {};

  constructor(input: ClientConfigInput = {}) {
    const config = resolveClientConfig(input);
    super(
      { maxHandshakeMessageSize: config.maxHandshakeMessageSize, observe: input.observe ?? false },
      new ClientHandshake(config),
    );
    this.config = config;
    if (config.minVersion > config.maxVersion) throw new TlsError('InternalError', 'minVersion above maxVersion');
  }

  /** Queues the initial ClientHello. */
  start(opts: ClientHelloOptions = {}): ConnectionEvent[] {
    this.guard(() => {
      this.machine.start(this.cx, opts);
      this.records.flushHandshake();
    });
    return this.drainEvents();
  }

  /**
   * The version the ServerHello chose, which the record layer agreed on: the
   * messages after it are read in that version's layout (RFC 5246 §7.4.4, a
   * TLS 1.0/1.1 CertificateRequest has no signature algorithms).
   */
  protected negotiatingVersion(): number | undefined {
    return this.records.expectedReadVersion;
  }

  /**
   * Starts a client-initiated renegotiation. Refused locally, with a typed
   * error, when the server never signalled RFC 5746 and unsafe legacy
   * renegotiation is not explicitly allowed (RFC 5746 §4.2).
   */
  renegotiate(opts: ClientHelloOptions = {}): ConnectionEvent[] {
    if (this.error) throw this.error;
    if (!this.handshakeComplete || this.isHandshaking) {
      throw new TlsError('InternalError', 'renegotiate() needs a completed handshake and no handshake under way');
    }
    this.checkRenegotiationAllowed();
    this.guard(() => this.beginRenegotiation(opts));
    return this.drainEvents();
  }

  get isRenegotiating(): boolean {
    return this.handshakeComplete && this.isHandshaking;
  }

  private checkRenegotiationAllowed(): void {
    const decision = clientMayRenegotiate(this.config.renegotiation, this.security.secureRenegotiation);
    if (!decision.allow) throw new TlsError('InsecureRenegotiationRefused', REFUSAL_TEXT[decision.refusal]);
  }

  private beginRenegotiation(opts: ClientHelloOptions): void {
    this.machine.start(this.cx, opts);
    this.records.flushHandshake();
  }

  /** RFC 5246 §7.4.1.1: a HelloRequest is answered per policy; nothing else may arrive here. */
  protected onHandshakeInTraffic(msg: HandshakeMessage | UnknownHandshake, _raw: Uint8Array): void {
    if (msg.type !== HandshakeType.hello_request) {
      throw new TlsError('UnexpectedMessage', `handshake message ${msg.type} after the handshake`);
    }
    const p = this.config.renegotiation;
    const decision = clientAnswer(p, { secure: this.security.secureRenegotiation, accepted: this.acceptedRequests });
    if (decision.allow) {
      this.acceptedRequests++;
      this.emit({ type: 'renegotiation-requested', accepted: true, reason: 'policy allows it' });
      this.beginRenegotiation(this.helloRequestAnswer);
      return;
    }
    const reason = REFUSAL_TEXT[decision.refusal];
    this.emit({ type: 'renegotiation-requested', accepted: false, reason });
    switch (refusalAnswer(p.refuseWith, this.refusedRequests++, p.maxRefusals)) {
      case 'fatal':
        throw new TlsError('RenegotiationRefused', reason);
      case 'too-many':
        throw new TlsError('TooManyRenegotiationRequests', `server asked ${this.refusedRequests} times after refusals`);
      case 'warning':
      case 'ignore':
        this.sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
    }
  }

  /** A no_renegotiation warning in answer to our renegotiation ClientHello: the old session goes on (RFC 5246 §7.2.2). */
  protected override onWarningAlert(description: number): boolean {
    if (description !== AlertDescription.no_renegotiation || !this.machine.renegotiationRefused()) return false;
    this.emit({ type: 'renegotiation-refused', alert: description });
    return true;
  }
}
