/**
 * What an encrypted record's length says about the plaintext inside it. The guard never decrypts;
 * it only knows each record's length and, for the initial handshake, the suite the clear
 * ServerHello chose. That is enough to tell whether a record where only a Finished belongs has
 * room for one more handshake message: a renegotiation hidden behind the Finished, which a
 * header-only inspector would otherwise let through.
 *
 * Per suite family (RFC 5246 §6.2.3, RFC 4346 §6.2.3.2, RFC 7905 §2; docs/guard.md has the table):
 * - AEAD (GCM, CCM, CCM_8, ChaCha20-Poly1305) and stream/NULL ciphers with a MAC: the overhead is
 *   fixed, so the plaintext length is exact;
 * - CBC: explicit IV (TLS 1.1+), MAC and 1–256 bytes of padding: a range, 255 bytes wide;
 * - a suite negotiated under encryption (every renegotiation's) or not in the table: only the
 *   least overhead of any TLS ≤ 1.2 suite is known (16 bytes: the ChaCha20-Poly1305 tag, CCM_8's
 *   nonce and tag, HMAC-MD5), which bounds the plaintext from above;
 * - compression (RFC 5246 §6.2.2): the plaintext length is unknowable.
 */
import { suiteById } from '../crypto/suites.ts';
import { ProtocolVersion } from '../wire/enums.ts';
import type { ServerHelloFacts } from './events.ts';

/** How record length relates to plaintext length under the protection in force in one direction. */
export type RecordShape =
  | { readonly kind: 'exact'; readonly overhead: number }
  | { readonly kind: 'cbc'; readonly explicitIv: number; readonly mac: number }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'compressed' };

export interface PlaintextRange {
  readonly min: number;
  readonly max: number;
}

/** The smallest overhead of any TLS ≤ 1.2 suite (GOST's 4-byte IMIT MAC, RFC 9189, aside). */
export const LEAST_OVERHEAD = 16;
/** The largest: TLS 1.1+ explicit IV of a 128-bit block, HMAC-SHA384, 256 bytes of padding. */
const MOST_OVERHEAD = 16 + 48 + 256;
/** RFC 5246 §6.2.3.2: padding_length is one byte and counts itself out; 1 to 256 bytes in all. */
const MAX_CBC_PADDING = 256;

/**
 * The smallest handshake messages a record could hide (RFC 5246 §7.4): a HelloRequest is its
 * 4-byte header; a ClientHello is header, client_version, random, an empty session_id, one cipher
 * suite and one compression method, without extensions; a ServerHello likewise with one suite.
 */
export const HELLO_REQUEST_LEN = 4;
export const MIN_CLIENT_HELLO_LEN = 4 + 2 + 32 + 1 + 2 + 2 + 1 + 1;

/** Finished is verify_data (12 bytes; 36 in SSLv3) plus the 4-byte handshake header (RFC 5246 §7.4.9). */
export function finishedLength(version: number | undefined): number {
  return version === ProtocolVersion.SSLv3 ? 40 : 16;
}

function inRange(v: number, lo: number, hi: number): boolean {
  return v >= lo && v <= hi;
}

/**
 * Bytes an AEAD suite adds to a record: explicit nonce + tag (IANA TLS Cipher Suites registry).
 * Undefined for everything else.
 */
export function aeadOverhead(suite: number): number | undefined {
  // AES-GCM (RFC 5288, RFC 5487, RFC 5289, RFC 8442): 8-byte explicit nonce, 16-byte tag.
  if (inRange(suite, 0x009c, 0x00ad) || inRange(suite, 0xc02b, 0xc032) || suite === 0xd001 || suite === 0xd002) {
    return 8 + 16;
  }
  // AES-CCM (RFC 6655, RFC 7251, RFC 8442): 8-byte explicit nonce; 16-byte tag, 8 for CCM_8.
  if (inRange(suite, 0xc09c, 0xc09f) || inRange(suite, 0xc0a4, 0xc0a7) || inRange(suite, 0xc0ac, 0xc0ad)) return 8 + 16;
  if (suite === 0xd005) return 8 + 16;
  if (inRange(suite, 0xc0a0, 0xc0a3) || inRange(suite, 0xc0a8, 0xc0ab) || inRange(suite, 0xc0ae, 0xc0af)) return 8 + 8;
  if (suite === 0xd003) return 8 + 8;
  // ChaCha20-Poly1305 (RFC 7905 §2): the nonce is implicit, 16-byte tag.
  if (inRange(suite, 0xcca8, 0xccae)) return 16;
  return undefined;
}

/** Stream and NULL ciphers with a MAC (RFC 5246 §6.2.3.1): the overhead is the MAC. */
const STREAM_MAC: ReadonlyMap<number, number> = new Map([
  [0x0001, 16], // TLS_RSA_WITH_NULL_MD5
  [0x0002, 20], // TLS_RSA_WITH_NULL_SHA
  [0x003b, 32], // TLS_RSA_WITH_NULL_SHA256
  [0x0004, 16], // TLS_RSA_WITH_RC4_128_MD5
  [0x0005, 20], // TLS_RSA_WITH_RC4_128_SHA
  [0xc002, 20], // TLS_ECDH_ECDSA_WITH_RC4_128_SHA
  [0xc007, 20], // TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
  [0xc00c, 20], // TLS_ECDH_RSA_WITH_RC4_128_SHA
  [0xc011, 20], // TLS_ECDHE_RSA_WITH_RC4_128_SHA
]);

const MAC_LEN = { sha1: 20, sha256: 32, sha384: 48 } as const;

/** The shape of the records the initial handshake's ServerHello set up (RFC 5246 §7.4.1.3). */
export function initialShape(server: ServerHelloFacts | undefined): RecordShape {
  if (server === undefined) return { kind: 'unknown' };
  if (server.compressionMethod !== 0) return { kind: 'compressed' };
  const aead = aeadOverhead(server.cipherSuite);
  if (aead !== undefined) return { kind: 'exact', overhead: aead };
  const stream = STREAM_MAC.get(server.cipherSuite);
  if (stream !== undefined) return { kind: 'exact', overhead: stream };
  const suite = suiteById(server.cipherSuite);
  if (suite?.bulk.kind === 'cbc' && suite.mac !== null) {
    // TLS 1.0 (and SSLv3) chain the IV from the previous record; TLS 1.1 sends one per record.
    const explicitIv = server.version >= ProtocolVersion['TLSv1.1'] ? suite.bulk.blockLen : 0;
    return { kind: 'cbc', explicitIv, mac: MAC_LEN[suite.mac] };
  }
  return { kind: 'unknown' };
}

function clamp(n: number): number {
  return Math.max(0, n);
}

/** The plaintext lengths a record of `length` bytes can carry under `shape`. */
export function plaintextRange(shape: RecordShape, length: number): PlaintextRange {
  switch (shape.kind) {
    case 'exact': {
      const n = clamp(length - shape.overhead);
      return { min: n, max: n };
    }
    case 'cbc': {
      const max = clamp(length - shape.explicitIv - shape.mac - 1);
      return { min: clamp(length - shape.explicitIv - shape.mac - MAX_CBC_PADDING), max };
    }
    case 'unknown':
      return { min: clamp(length - MOST_OVERHEAD), max: clamp(length - LEAST_OVERHEAD) };
    case 'compressed':
      return { min: 0, max: Number.POSITIVE_INFINITY };
  }
}
