/**
 * Handshake messages (RFC 5246 §7.4) as read-only data with an encode/decode
 * pair. Decoding takes the negotiated version because CertificateRequest and
 * CertificateVerify differ between TLS 1.0/1.1 and 1.2 (§7.4.4, §7.4.8);
 * ServerKeyExchange and ClientKeyExchange stay opaque until the suite is known.
 */
import { Reader, Writer } from "./codec.js";
import { HandshakeType, ProtocolVersion, handshakeTypeName } from "./enums.js";
import { TlsError } from "./errors.js";
import { decodeExtensions, encodeExtensions } from "./extensions.js";
import { HANDSHAKE_HEADER_LEN } from "./record.js";
const TLS12 = ProtocolVersion['TLSv1.2'];
export function isUnknown(m) {
    return 'unknown' in m;
}
// --- encoding ------------------------------------------------------------------
/** The whole message with its 4-byte header: HandshakeType msg_type; uint24 length; body. */
export function encodeHandshake(m, w = new Writer(512)) {
    w.u8(m.type, `msg_type ${handshakeTypeName(m.type)}`);
    w.prefixed(3, (b) => encodeBody(b, m), 'length');
    return w.finish();
}
function encodeBody(w, m) {
    switch (m.type) {
        case HandshakeType.client_hello:
            w.u16(m.version, 'client_version').bytes(m.random, 'random').vec8(m.sessionId, 'session_id');
            w.prefixed(2, (l) => m.cipherSuites.forEach((s) => l.u16(s)), 'cipher_suites');
            w.vec8(m.compressionMethods, 'compression_methods');
            if (m.extensions)
                encodeExtensions(w, m.extensions);
            return;
        case HandshakeType.server_hello:
            w.u16(m.version, 'server_version').bytes(m.random, 'random').vec8(m.sessionId, 'session_id');
            w.u16(m.cipherSuite, 'cipher_suite').u8(m.compressionMethod, 'compression_method');
            if (m.extensions)
                encodeExtensions(w, m.extensions);
            return;
        case HandshakeType.certificate:
            w.prefixed(3, (l) => m.certificates.forEach((c) => l.vec24(c, 'ASN.1Cert')), 'certificate_list');
            return;
        case HandshakeType.server_key_exchange:
        case HandshakeType.client_key_exchange:
            w.bytes(m.body);
            return;
        case HandshakeType.certificate_request:
            w.vec8(Uint8Array.from(m.certificateTypes), 'certificate_types');
            if (m.signatureAlgorithms) {
                w.prefixed(2, (l) => m.signatureAlgorithms.forEach((s) => l.u16(s)), 'supported_signature_algorithms');
            }
            w.prefixed(2, (l) => m.certificateAuthorities.forEach((dn) => l.vec16(dn)), 'certificate_authorities');
            return;
        case HandshakeType.certificate_verify:
            if (m.scheme !== null)
                w.u16(m.scheme, 'signature_algorithm');
            w.vec16(m.signature, 'signature');
            return;
        case HandshakeType.finished:
            w.bytes(m.verifyData, 'verify_data');
            return;
        case HandshakeType.new_session_ticket:
            w.u32(m.lifetimeHint, 'ticket_lifetime_hint').vec16(m.ticket, 'ticket');
            return;
        case HandshakeType.hello_request:
        case HandshakeType.server_hello_done:
            return;
    }
}
// --- decoding ------------------------------------------------------------------
/**
 * Decodes one whole message (header included). `version` is the negotiated
 * version, or undefined before ServerHello. Throws TlsError('DecodeError') on
 * any malformed or trailing byte.
 */
export function decodeHandshake(raw, version, notes) {
    const r = new Reader(raw, 0, raw.length, notes);
    const type = r.u8(`msg_type ${handshakeTypeName(raw[0] ?? 0)}`);
    const body = r.sub24('length');
    r.expectEnd('handshake message');
    const m = decodeBody(type, body, version ?? TLS12);
    body.expectEnd(handshakeTypeName(type));
    return m;
}
function decodeBody(type, r, version) {
    switch (type) {
        case HandshakeType.hello_request:
        case HandshakeType.server_hello_done:
            return { type };
        case HandshakeType.client_hello: {
            const clientVersion = r.u16('client_version');
            const random = r.bytes(32, 'random');
            const sessionId = readSessionId(r);
            const suites = r.sub16('cipher_suites');
            if (suites.remaining < 2 || suites.remaining % 2 !== 0)
                throw new TlsError('DecodeError', 'bad cipher_suites length');
            const cipherSuites = [];
            while (suites.remaining > 0)
                cipherSuites.push(suites.u16());
            const compressionMethods = r.vec8('compression_methods', 1);
            const extensions = r.remaining > 0 ? decodeExtensions(r) : null;
            return { type, version: clientVersion, random, sessionId, cipherSuites, compressionMethods, extensions };
        }
        case HandshakeType.server_hello: {
            const serverVersion = r.u16('server_version');
            const random = r.bytes(32, 'random');
            const sessionId = readSessionId(r);
            const cipherSuite = r.u16('cipher_suite');
            const compressionMethod = r.u8('compression_method');
            const extensions = r.remaining > 0 ? decodeExtensions(r) : null;
            return { type, version: serverVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
        }
        case HandshakeType.certificate: {
            const list = r.sub24('certificate_list');
            const certificates = [];
            while (list.remaining > 0)
                certificates.push(list.vec24('ASN.1Cert', 1));
            return { type, certificates };
        }
        case HandshakeType.server_key_exchange:
        case HandshakeType.client_key_exchange:
            return { type, body: r.rest() };
        case HandshakeType.certificate_request: {
            const certificateTypes = Array.from(r.vec8('certificate_types', 1));
            let signatureAlgorithms = null;
            if (version >= TLS12) {
                const l = r.sub16('supported_signature_algorithms');
                if (l.remaining < 2 || l.remaining % 2 !== 0)
                    throw new TlsError('DecodeError', 'bad signature_algorithms');
                signatureAlgorithms = [];
                while (l.remaining > 0)
                    signatureAlgorithms.push(l.u16());
            }
            const cas = r.sub16('certificate_authorities');
            const certificateAuthorities = [];
            while (cas.remaining > 0)
                certificateAuthorities.push(cas.vec16('DistinguishedName', 1));
            return { type, certificateTypes, signatureAlgorithms, certificateAuthorities };
        }
        case HandshakeType.certificate_verify: {
            const scheme = version >= TLS12 ? r.u16('signature_algorithm') : null;
            return { type, scheme, signature: r.vec16('signature') };
        }
        case HandshakeType.finished:
            return { type, verifyData: r.rest('verify_data') };
        case HandshakeType.new_session_ticket:
            return { type, lifetimeHint: r.u32('ticket_lifetime_hint'), ticket: r.vec16('ticket') };
        default:
            return { type, unknown: true, body: r.rest() };
    }
}
/** opaque SessionID<0..32> */
function readSessionId(r) {
    const id = r.vec8('session_id');
    if (id.length > 32)
        throw new TlsError('DecodeError', `session_id of ${id.length} bytes`);
    return id;
}
/** The message type and body length from a raw message's header. */
export function handshakeHeader(raw) {
    return { type: raw[0], length: raw.length - HANDSHAKE_HEADER_LEN };
}
//# sourceMappingURL=handshake.js.map