/**
 * Reading the initial hellos, the only handshake messages of TLS ≤ 1.2 the guard parses: it
 * holds each back until it is whole (a hello may span records, RFC 5246 §6.2.1), decodes it with
 * the wire codecs, and keeps only the facts the policy needs. Bytes are never re-encoded.
 *
 * Memory, per direction while its hello is collected: one copy of the bytes held back
 * (HeldBytes; none while they are all in the chunk being read), allocated as they arrive (at most twice the bytes received, and at most
 * MAX_HELD_WHILE_COLLECTING = 128 KiB of them), never what a header claims; a collector adds
 * 4 bytes. A hello spread over several records is joined once, when it is whole, for decoding.
 */
import { Reader } from '../wire/codec.ts';
import { ExtensionType, HandshakeType, ProtocolVersion, TLS_EMPTY_RENEGOTIATION_INFO_SCSV } from '../wire/enums.ts';
import { isTlsError } from '../wire/errors.ts';
import { findExtension, parseAlpn, parseSelectedVersion, parseServerName, type Extension } from '../wire/extensions.ts';
import { decodeHandshake, isUnknown, type ClientHello, type ServerHello } from '../wire/handshake.ts';
import { HANDSHAKE_HEADER_LEN, RECORD_HEADER_LEN } from '../wire/record.ts';
import type { ClientHelloFacts, ClientRfc5746, ServerHelloFacts } from './events.ts';

/**
 * The largest hello the guard holds back. Real ClientHellos stay under a few KiB (post-quantum
 * key shares included); 64 KiB bounds the memory a slow or hostile peer can pin per connection.
 */
export const MAX_HELLO_LEN = 65536;

/**
 * The most bytes held back while one hello is collected: its records' headers and the bytes after
 * it in its last record count too. A hello cut into records of a few bytes each is legal but
 * costs 5 bytes of header per record; no real peer comes near twice the largest hello.
 */
export const MAX_HELD_WHILE_COLLECTING = 2 * MAX_HELLO_LEN;

const TLS13 = ProtocolVersion['TLSv1.3'];

export type CollectResult =
  | { readonly status: 'more' }
  | { readonly status: 'done' }
  | { readonly status: 'error'; readonly reason: 'malformed-hello' | 'hello-too-large' };

const NOTHING = new Uint8Array(0);

/** The first allocation of a HeldBytes: a whole typical ClientHello record fits after one doubling. */
const HELD_MIN_CAPACITY = 256;

/**
 * The bytes held back from one direction while its hello is collected. While they all lie in the
 * chunk being fed (the usual case: a whole hello in one read), they are a view of that chunk,
 * not a copy, and go out with the rest of it in one write; settle() copies them when the feed
 * ends with the hello still incomplete. The copy is one buffer that grows as bytes arrive
 * (doubling, so at most twice what was received and O(n) copying in all), never to the length
 * a header claims: a 9-byte hello header that claims 64 KiB costs 256 bytes. This is the only
 * copy: the collectors count, and the hello is read out of these bytes.
 */
export class HeldBytes {
  // Shared while empty: most connections hold nothing past their hellos, and an ArrayBuffer of
  // its own costs each of them about 180 bytes per direction.
  private buf = NOTHING;
  private used = 0;
  /** Held bytes still in the caller's chunk (nothing copied yet): valid only until settle(). */
  private borrowed: Uint8Array | undefined;

  get length(): number {
    return this.used + (this.borrowed?.length ?? 0);
  }

  /** Bytes allocated. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Holds `bytes`, a view of the chunk being fed: kept as a view while the held bytes are one run of that chunk. */
  append(bytes: Uint8Array): void {
    if (this.used === 0) {
      const b = this.borrowed;
      if (b === undefined) {
        this.borrowed = bytes;
        return;
      }
      if (b.buffer === bytes.buffer && b.byteOffset + b.length === bytes.byteOffset) {
        this.borrowed = new Uint8Array(b.buffer, b.byteOffset, b.length + bytes.length);
        return;
      }
      this.settle();
    }
    this.copyIn(bytes);
  }

  /** The chunk the held bytes may be a view of is done with: copy them. */
  settle(): void {
    const b = this.borrowed;
    if (b === undefined) return;
    this.borrowed = undefined;
    this.copyIn(b);
  }

  private copyIn(bytes: Uint8Array): void {
    const need = this.used + bytes.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(HELD_MIN_CAPACITY, 2 * this.buf.length, need));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
    }
    this.buf.set(bytes, this.used);
    this.used = need;
  }

  view(): Uint8Array {
    return this.borrowed ?? this.buf.subarray(0, this.used);
  }

  /** Hands the bytes over (to be written out) and starts empty. */
  take(): Uint8Array {
    const bytes = this.view();
    this.clear();
    return bytes;
  }

  clear(): void {
    this.buf = NOTHING;
    this.used = 0;
    this.borrowed = undefined;
  }
}

/**
 * Follows the first message of one direction through the payloads it is pushed, without keeping
 * them: it counts, checks what it must decide early, and reads the message out of the held bytes
 * once it is whole.
 */
export interface HelloCollector {
  readonly format: 'tls' | 'sslv2';
  /** Takes the next payload bytes (already appended to the held bytes). */
  push(bytes: Uint8Array): CollectResult;
  /** The whole hello, out of the bytes held since the collection started; after push said 'done'. */
  message(held: Uint8Array): Uint8Array;
}

/**
 * A TLS hello joined from handshake-record payloads (a hello may span records, RFC 5246
 * §6.2.1); its type and length are checked from the 4-byte header before the body arrives.
 */
export class TlsHelloCollector implements HelloCollector {
  readonly format = 'tls';
  private readonly header = new Uint8Array(HANDSHAKE_HEADER_LEN);
  private headerHave = 0;
  /** Header plus body, once the header is read. */
  private length: number | undefined;
  private have = 0;

  constructor(private readonly expectedType: number) {}

  /** Bytes after the end of the hello (the next messages) are ignored. */
  push(bytes: Uint8Array): CollectResult {
    let at = 0;
    if (this.length === undefined) {
      const n = Math.min(HANDSHAKE_HEADER_LEN - this.headerHave, bytes.length);
      this.header.set(bytes.subarray(0, n), this.headerHave);
      this.headerHave += n;
      at = n;
      if (this.headerHave < HANDSHAKE_HEADER_LEN) return { status: 'more' };
      if (this.header[0] !== this.expectedType) return { status: 'error', reason: 'malformed-hello' };
      const length = (this.header[1]! << 16) | (this.header[2]! << 8) | this.header[3]!;
      if (length > MAX_HELLO_LEN) return { status: 'error', reason: 'hello-too-large' };
      this.length = HANDSHAKE_HEADER_LEN + length;
      this.have = HANDSHAKE_HEADER_LEN;
    }
    this.have = Math.min(this.length, this.have + bytes.length - at);
    return this.have === this.length ? { status: 'done' } : { status: 'more' };
  }

  /** `held` is whole handshake records (the last one maybe partial): their payloads, joined. */
  message(held: Uint8Array): Uint8Array {
    const length = this.length ?? 0;
    const first = recordPayload(held, 0);
    // The usual case, a hello in one record: a view, no copy.
    if (first.length >= length) return first.subarray(0, length);
    const message = new Uint8Array(length);
    let have = 0;
    for (let at = 0; have < length && at + RECORD_HEADER_LEN <= held.length;) {
      const payload = recordPayload(held, at);
      const n = Math.min(payload.length, length - have);
      message.set(payload.subarray(0, n), have);
      have += n;
      at += RECORD_HEADER_LEN + payload.length;
    }
    return message;
  }
}

function recordPayload(held: Uint8Array, at: number): Uint8Array {
  const length = (held[at + 3]! << 8) | held[at + 4]!;
  return held.subarray(at + RECORD_HEADER_LEN, Math.min(at + RECORD_HEADER_LEN + length, held.length));
}

function decodeAs<T>(raw: Uint8Array, type: number): T | undefined {
  try {
    const m = decodeHandshake(raw, undefined);
    return !isUnknown(m) && m.type === type ? (m as T) : undefined;
  } catch (e) {
    if (isTlsError(e)) return undefined;
    throw e;
  }
}

/** Parses an extension body, treating a malformed one as absent: the endpoints judge it, not us. */
function lenient<T>(ext: Extension | undefined, parse: (data: Uint8Array) => T): T | undefined {
  if (ext === undefined) return undefined;
  try {
    return parse(ext.data);
  } catch (e) {
    if (isTlsError(e)) return undefined;
    throw e;
  }
}

/** ClientHello supported_versions (RFC 8446 §4.2.1): ProtocolVersion versions<2..254>. */
function parseOfferedVersions(data: Uint8Array): number[] {
  const r = new Reader(data);
  const list = r.sub8('versions');
  r.expectEnd('supported_versions');
  const out: number[] = [];
  while (list.remaining >= 2) out.push(list.u16());
  return out;
}

/** GREASE values (RFC 8701) are {0x?A, 0x?A}: offered to keep the ecosystem honest, never chosen. */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

function rfc5746Of(hasExtension: boolean, hasScsv: boolean): ClientRfc5746 {
  if (hasExtension && hasScsv) return 'extension+scsv';
  if (hasExtension) return 'extension';
  return hasScsv ? 'scsv' : 'none';
}

export function clientHelloFacts(raw: Uint8Array): ClientHelloFacts | undefined {
  const hello = decodeAs<ClientHello>(raw, HandshakeType.client_hello);
  if (hello === undefined) return undefined;
  const exts = hello.extensions;
  const offered = lenient(findExtension(exts, ExtensionType.supported_versions), parseOfferedVersions)?.filter(
    (v) => !isGrease(v),
  );
  return {
    format: 'tls',
    version: hello.version,
    rfc5746: rfc5746Of(
      findExtension(exts, ExtensionType.renegotiation_info) !== undefined,
      hello.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV),
    ),
    // Without supported_versions, client_version is the highest version offered (RFC 5246 §7.4.1.2).
    offersLegacyVersions: offered === undefined ? true : offered.some((v) => v < TLS13),
    offersTls13: offered?.includes(TLS13) ?? false,
    ems: findExtension(exts, ExtensionType.extended_master_secret) !== undefined,
    sni: lenient(findExtension(exts, ExtensionType.server_name), parseServerName),
    alpn: lenient(findExtension(exts, ExtensionType.application_layer_protocol_negotiation), parseAlpn),
  };
}

export function serverHelloFacts(raw: Uint8Array): ServerHelloFacts | undefined {
  const hello = decodeAs<ServerHello>(raw, HandshakeType.server_hello);
  if (hello === undefined) return undefined;
  const exts = hello.extensions;
  const selected = lenient(findExtension(exts, ExtensionType.supported_versions), parseSelectedVersion);
  const version = selected ?? hello.version;
  return {
    version,
    tls13: version === TLS13,
    cipherSuite: hello.cipherSuite,
    compressionMethod: hello.compressionMethod,
    rfc5746: findExtension(exts, ExtensionType.renegotiation_info) !== undefined,
    ems: findExtension(exts, ExtensionType.extended_master_secret) !== undefined,
    alpn: lenient(findExtension(exts, ExtensionType.application_layer_protocol_negotiation), parseAlpn)?.[0],
  };
}

// --- SSL 2.0-compatible CLIENT-HELLO (RFC 5246 Appendix E.2) ------------------------------

/** The record header of an SSL 2.0 message with no padding: msb set, then a 15-bit length. */
export const SSLV2_HEADER_LEN = 2;
const SSLV2_CLIENT_HELLO = 1;
const V2_CIPHER_SPEC_LEN = 3;

export function isSslv2HeaderByte(first: number): boolean {
  return (first & 0x80) !== 0;
}

export function sslv2RecordLength(head: Uint8Array): number {
  return ((head[0]! & 0x7f) << 8) | head[1]!;
}

/** The body of an SSL 2.0 record, whose 2-byte header gives its length: held right after that header. */
export class Sslv2HelloCollector implements HelloCollector {
  readonly format = 'sslv2';
  private have = 0;

  constructor(private readonly length: number) {}

  push(bytes: Uint8Array): CollectResult {
    this.have = Math.min(this.length, this.have + bytes.length);
    return this.have === this.length ? { status: 'done' } : { status: 'more' };
  }

  message(held: Uint8Array): Uint8Array {
    return held.subarray(SSLV2_HEADER_LEN, SSLV2_HEADER_LEN + this.length);
  }
}

/**
 * struct { uint8 msg_type; Version version; uint16 cipher_spec_length; uint16 session_id_length;
 *   uint16 challenge_length; V2CipherSpec cipher_specs[cipher_spec_length];
 *   opaque session_id[session_id_length]; opaque challenge[challenge_length]; } V2ClientHello;
 * RFC 5746 §3.3 lets such a hello carry the SCSV as the cipher spec {0x00, 0x00, 0xFF}; it has
 * no room for extensions. Undefined when it does not parse.
 */
export function sslv2ClientHelloFacts(body: Uint8Array): ClientHelloFacts | undefined {
  try {
    const r = new Reader(body);
    if (r.u8('msg_type') !== SSLV2_CLIENT_HELLO) return undefined;
    const version = r.u16('version');
    const specsLen = r.u16('cipher_spec_length');
    const sessionIdLen = r.u16('session_id_length');
    const challengeLen = r.u16('challenge_length');
    if (specsLen === 0 || specsLen % V2_CIPHER_SPEC_LEN !== 0) return undefined;
    const specs = r.bytes(specsLen, 'cipher_specs');
    r.bytes(sessionIdLen, 'session_id');
    r.bytes(challengeLen, 'challenge');
    r.expectEnd('V2ClientHello');
    let scsv = false;
    for (let i = 0; i < specs.length; i += V2_CIPHER_SPEC_LEN) {
      const spec = (specs[i]! << 16) | (specs[i + 1]! << 8) | specs[i + 2]!;
      if (spec === TLS_EMPTY_RENEGOTIATION_INFO_SCSV) scsv = true;
    }
    return {
      format: 'sslv2-compatible',
      version,
      rfc5746: rfc5746Of(false, scsv),
      offersLegacyVersions: true,
      offersTls13: false,
      ems: false,
      sni: undefined,
      alpn: undefined,
    };
  } catch (e) {
    if (isTlsError(e)) return undefined;
    throw e;
  }
}
