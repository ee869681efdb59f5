/**
 * Handshake messages (RFC 5246 §7.4) as read-only data with an encode/decode
 * pair. Decoding takes the negotiated version because CertificateRequest and
 * CertificateVerify differ between TLS 1.0/1.1 and 1.2 (§7.4.4, §7.4.8);
 * ServerKeyExchange and ClientKeyExchange stay opaque until the suite is known.
 */
import { Reader, Writer } from './codec.ts';
import { HandshakeType, ProtocolVersion, handshakeTypeName } from './enums.ts';
import { TlsError } from './errors.ts';
import { decodeExtensions, encodeExtensions, type Extension } from './extensions.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];

/**
 * The longest ClientHello body RFC 5246 §7.4.1.2 allows: client_version (2),
 * random (32), session_id<0..32> (1 + 32), cipher_suites<2..2^16-2> (2 + 65534),
 * compression_methods<1..2^8-1> (1 + 255) and extensions<0..2^16-1> (2 + 65535).
 * OpenSSL's CLIENT_HELLO_MAX_LENGTH is the same number.
 */
export const MAX_CLIENT_HELLO_LENGTH = 2 + 32 + (1 + 32) + (2 + 65534) + (1 + 255) + (2 + 65535);

/**
 * struct { ProtocolVersion client_version; Random random; SessionID session_id;
 *   CipherSuite cipher_suites<2..2^16-2>; CompressionMethod compression_methods<1..2^8-1>;
 *   select (extensions_present) { case true: Extension extensions<0..2^16-1>; }; } ClientHello;
 * `extensions` is null when the block is absent (an SSLv3-style or UseScsvForTls hello).
 */
export interface ClientHello {
  readonly type: typeof HandshakeType.client_hello;
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: Uint8Array;
  readonly extensions: readonly Extension[] | null;
}

export interface ServerHello {
  readonly type: typeof HandshakeType.server_hello;
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions: readonly Extension[] | null;
}

/** opaque ASN.1Cert<1..2^24-1>; struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate; */
export interface Certificate {
  readonly type: typeof HandshakeType.certificate;
  readonly certificates: readonly Uint8Array[];
}

/** Opaque until the key exchange is known; see parseServerKeyExchange in crypto/key-exchange. */
export interface ServerKeyExchange {
  readonly type: typeof HandshakeType.server_key_exchange;
  readonly body: Uint8Array;
}

/**
 * struct { ClientCertificateType certificate_types<1..2^8-1>;
 *   SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;  (TLS 1.2 only)
 *   DistinguishedName certificate_authorities<0..2^16-1>; } CertificateRequest;
 */
export interface CertificateRequest {
  readonly type: typeof HandshakeType.certificate_request;
  readonly certificateTypes: readonly number[];
  readonly signatureAlgorithms: readonly number[] | null;
  readonly certificateAuthorities: readonly Uint8Array[];
}

export interface ServerHelloDone {
  readonly type: typeof HandshakeType.server_hello_done;
}

/** Opaque: its shape depends on the key exchange (RFC 5246 §7.4.7). */
export interface ClientKeyExchange {
  readonly type: typeof HandshakeType.client_key_exchange;
  readonly body: Uint8Array;
}

/** TLS 1.2: digitally-signed struct, with its SignatureAndHashAlgorithm; 1.0/1.1: the signature alone. */
export interface CertificateVerify {
  readonly type: typeof HandshakeType.certificate_verify;
  readonly scheme: number | null;
  readonly signature: Uint8Array;
}

/** struct { opaque verify_data[verify_data_length]; } Finished; */
export interface Finished {
  readonly type: typeof HandshakeType.finished;
  readonly verifyData: Uint8Array;
}

export interface HelloRequest {
  readonly type: typeof HandshakeType.hello_request;
}

/** RFC 5077 §3.3: struct { uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>; } NewSessionTicket; */
export interface NewSessionTicket {
  readonly type: typeof HandshakeType.new_session_ticket;
  readonly lifetimeHint: number;
  readonly ticket: Uint8Array;
}

/** A message type we do not handle, kept so it can be reported (and rejected by the state machine). */
export interface UnknownHandshake {
  readonly type: number;
  readonly unknown: true;
  readonly body: Uint8Array;
}

export type HandshakeMessage =
  | ClientHello
  | ServerHello
  | Certificate
  | ServerKeyExchange
  | CertificateRequest
  | ServerHelloDone
  | ClientKeyExchange
  | CertificateVerify
  | Finished
  | HelloRequest
  | NewSessionTicket;

export function isUnknown(m: HandshakeMessage | UnknownHandshake): m is UnknownHandshake {
  return 'unknown' in m;
}

// --- encoding ------------------------------------------------------------------

/** The whole message with its 4-byte header: HandshakeType msg_type; uint24 length; body. */
export function encodeHandshake(m: HandshakeMessage, w: Writer = new Writer(512)): Uint8Array {
  w.u8(m.type, `msg_type ${handshakeTypeName(m.type)}`);
  w.prefixed(3, (b) => encodeBody(b, m), 'length');
  return w.finish();
}

function encodeBody(w: Writer, m: HandshakeMessage): void {
  switch (m.type) {
    case HandshakeType.client_hello:
      w.u16(m.version, 'client_version').bytes(m.random, 'random').vec8(m.sessionId, 'session_id');
      w.prefixed(2, (l) => m.cipherSuites.forEach((s) => l.u16(s)), 'cipher_suites');
      w.vec8(m.compressionMethods, 'compression_methods');
      if (m.extensions) encodeExtensions(w, m.extensions);
      return;
    case HandshakeType.server_hello:
      w.u16(m.version, 'server_version').bytes(m.random, 'random').vec8(m.sessionId, 'session_id');
      w.u16(m.cipherSuite, 'cipher_suite').u8(m.compressionMethod, 'compression_method');
      if (m.extensions) encodeExtensions(w, m.extensions);
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
        w.prefixed(2, (l) => m.signatureAlgorithms!.forEach((s) => l.u16(s)), 'supported_signature_algorithms');
      }
      w.prefixed(2, (l) => m.certificateAuthorities.forEach((dn) => l.vec16(dn)), 'certificate_authorities');
      return;
    case HandshakeType.certificate_verify:
      if (m.scheme !== null) w.u16(m.scheme, 'signature_algorithm');
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
export function decodeHandshake(
  raw: Uint8Array,
  version: number | undefined,
  notes?: import('./codec.ts').Note[],
): HandshakeMessage | UnknownHandshake {
  const r = new Reader(raw, 0, raw.length, notes);
  const type = r.u8(`msg_type ${handshakeTypeName(raw[0] ?? 0)}`);
  const body = r.sub24('length');
  r.expectEnd('handshake message');
  const m = decodeBody(type, body, version ?? TLS12);
  body.expectEnd(handshakeTypeName(type));
  return m;
}

function decodeBody(type: number, r: Reader, version: number): HandshakeMessage | UnknownHandshake {
  switch (type) {
    case HandshakeType.hello_request:
    case HandshakeType.server_hello_done:
      return { type } as HelloRequest | ServerHelloDone;
    case HandshakeType.client_hello: {
      const clientVersion = r.u16('client_version');
      const random = r.bytes(32, 'random');
      const sessionId = readSessionId(r);
      const suites = r.sub16('cipher_suites');
      if (suites.remaining < 2 || suites.remaining % 2 !== 0)
        throw new TlsError('DecodeError', 'bad cipher_suites length');
      const cipherSuites: number[] = [];
      while (suites.remaining > 0) cipherSuites.push(suites.u16());
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
      const certificates: Uint8Array[] = [];
      while (list.remaining > 0) certificates.push(list.vec24('ASN.1Cert', 1));
      return { type, certificates };
    }
    case HandshakeType.server_key_exchange:
    case HandshakeType.client_key_exchange:
      return { type, body: r.rest() } as ServerKeyExchange | ClientKeyExchange;
    case HandshakeType.certificate_request: {
      const certificateTypes = Array.from(r.vec8('certificate_types', 1));
      let signatureAlgorithms: number[] | null = null;
      if (version >= TLS12) {
        const l = r.sub16('supported_signature_algorithms');
        if (l.remaining < 2 || l.remaining % 2 !== 0) throw new TlsError('DecodeError', 'bad signature_algorithms');
        signatureAlgorithms = [];
        while (l.remaining > 0) signatureAlgorithms.push(l.u16());
      }
      const cas = r.sub16('certificate_authorities');
      const certificateAuthorities: Uint8Array[] = [];
      while (cas.remaining > 0) certificateAuthorities.push(cas.vec16('DistinguishedName', 1));
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
function readSessionId(r: Reader): Uint8Array {
  const id = r.vec8('session_id');
  if (id.length > 32) throw new TlsError('DecodeError', `session_id of ${id.length} bytes`);
  return id;
}
