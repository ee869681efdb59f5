/**
 * One error type for the whole engine, with a closed set of kinds (rustls style).
 * Misbehaviour kinds read as sentences so tools can print them; `alertFor` is the
 * single place that decides which alert a local error sends (RFC 5246 §7.2.2).
 */
import { AlertDescription, AlertLevel } from './enums.ts';

export type TlsErrorKind =
  // decoding and framing
  | 'DecodeError'
  | 'RecordOverflow'
  | 'MessageTooLarge'
  | 'BadRecordMac'
  | 'UnexpectedMessage'
  | 'IllegalParameter'
  | 'ProtocolVersion'
  | 'InappropriateFallback'
  | 'UnsupportedExtension'
  // negotiation and authentication
  | 'HandshakeFailure'
  | 'InsufficientSecurity'
  | 'DecryptError'
  | 'BadCertificate'
  | 'UnknownCA'
  | 'CertificateExpired'
  | 'CertificateNameMismatch'
  | 'NoApplicationProtocol'
  // renegotiation (RFC 5746, triple handshake)
  | 'RenegotiationInfoMismatch'
  | 'InsecureRenegotiationRefused'
  | 'UnsafeLegacyServerRefused'
  | 'UnsafeLegacyClientRefused'
  | 'RenegotiationRefused'
  | 'TooManyRenegotiationRequests'
  | 'ServerIdentityChangedOnRenegotiation'
  | 'ExtendedMasterSecretDropped'
  // the peer and the connection
  | 'PeerSentFatalAlert'
  | 'PeerClosed'
  | 'Timeout'
  | 'InternalError';

/**
 * Kinds that report what the peer did, not a fault of ours: the message says it
 * all, and a stack trace would only name the socket callback that noticed. They
 * are made without one: a scanner meets them on many of the connections it
 * makes, and node:stream reads the stack of every error a stream is destroyed
 * with, which formats it (through the source maps, under tsx).
 */
const PEER_KINDS: ReadonlySet<TlsErrorKind> = new Set(['PeerSentFatalAlert', 'PeerClosed']);

export class TlsError extends Error {
  readonly kind: TlsErrorKind;
  /** The alert the peer sent, for PeerSentFatalAlert. */
  readonly peerAlert: number | undefined;

  constructor(kind: TlsErrorKind, message: string, peerAlert?: number) {
    const stackLimit = Error.stackTraceLimit;
    if (PEER_KINDS.has(kind)) Error.stackTraceLimit = 0;
    super(`${kind}: ${message}`);
    Error.stackTraceLimit = stackLimit;
    this.name = 'TlsError';
    this.kind = kind;
    this.peerAlert = peerAlert;
  }
}

export function isTlsError(e: unknown): e is TlsError {
  return e instanceof TlsError;
}

/** An alert as sent on the wire: RFC 5246 §7.2 `struct { AlertLevel level; AlertDescription description; }`. */
export interface Alert {
  level: number;
  description: number;
}

/**
 * The alert we send for a local error; undefined when none is sent. Every
 * error ends the connection, so every alert here is fatal: no_renegotiation,
 * which RFC 5246 §7.2.2 says "is always a warning", is never among them (a
 * refusal that lets the session go on is sent as a warning by the connection's
 * renegotiation policy, not through an error).
 */
export function alertFor(kind: TlsErrorKind): Alert | undefined {
  const description = fatalDescriptionFor(kind);
  return description === undefined ? undefined : { level: AlertLevel.fatal, description };
}

function fatalDescriptionFor(kind: TlsErrorKind): number | undefined {
  switch (kind) {
    case 'DecodeError':
      return AlertDescription.decode_error;
    case 'RecordOverflow':
      return AlertDescription.record_overflow;
    case 'MessageTooLarge':
      // RFC 5246 §7.4: an over-long handshake message is a decoding failure for us.
      return AlertDescription.decode_error;
    case 'BadRecordMac':
      return AlertDescription.bad_record_mac;
    case 'UnexpectedMessage':
      return AlertDescription.unexpected_message;
    case 'IllegalParameter':
      return AlertDescription.illegal_parameter;
    case 'ProtocolVersion':
      return AlertDescription.protocol_version;
    case 'InappropriateFallback':
      return AlertDescription.inappropriate_fallback;
    case 'UnsupportedExtension':
      return AlertDescription.unsupported_extension;
    case 'HandshakeFailure':
    case 'RenegotiationInfoMismatch':
    case 'InsecureRenegotiationRefused':
    case 'UnsafeLegacyServerRefused':
    case 'UnsafeLegacyClientRefused':
    case 'ServerIdentityChangedOnRenegotiation':
    case 'ExtendedMasterSecretDropped':
      // RFC 5746 §3.4/§3.7 name handshake_failure for every renegotiation_info failure.
      return AlertDescription.handshake_failure;
    case 'RenegotiationRefused':
    case 'TooManyRenegotiationRequests':
      // Refusing and closing, or closing after refusals: RFC 5246 §7.2.2 keeps no_renegotiation a
      // warning, and handshake_failure ("unable to negotiate an acceptable set of security
      // parameters given the options available") is the fatal alert for a handshake our policy
      // will not run. JSSE refuses with a fatal handshake_failure, as OpenSSL did for SSL 3.0.
      return AlertDescription.handshake_failure;
    case 'InsufficientSecurity':
      return AlertDescription.insufficient_security;
    case 'DecryptError':
      return AlertDescription.decrypt_error;
    case 'BadCertificate':
    case 'CertificateNameMismatch':
      return AlertDescription.bad_certificate;
    case 'UnknownCA':
      return AlertDescription.unknown_ca;
    case 'CertificateExpired':
      return AlertDescription.certificate_expired;
    case 'NoApplicationProtocol':
      return AlertDescription.no_application_protocol;
    case 'InternalError':
      return AlertDescription.internal_error;
    case 'PeerSentFatalAlert':
    case 'PeerClosed':
    case 'Timeout':
      return undefined;
  }
}
