/**
 * One error type for the whole engine, with a closed set of kinds (rustls style).
 * Misbehaviour kinds read as sentences so tools can print them; `alertFor` is the
 * single place that decides which alert a local error sends (RFC 5246 §7.2.2).
 */
import { AlertDescription } from "./enums.js";
export class TlsError extends Error {
    kind;
    /** The alert the peer sent, for PeerSentFatalAlert. */
    peerAlert;
    constructor(kind, message, peerAlert) {
        super(`${kind}: ${message}`);
        this.name = 'TlsError';
        this.kind = kind;
        this.peerAlert = peerAlert;
    }
}
export function isTlsError(e) {
    return e instanceof TlsError;
}
/** The alert we send for a local error; undefined when none is sent. */
export function alertFor(kind) {
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
            return AlertDescription.no_renegotiation;
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
//# sourceMappingURL=errors.js.map