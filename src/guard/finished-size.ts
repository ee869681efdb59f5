/**
 * How long an encrypted Finished record can be. The guard expects exactly one handshake record
 * after each ChangeCipherSpec, the Finished; a longer record than any Finished could fill holds
 * more than a Finished: a renegotiation's first message coalesced into the same record, which
 * would otherwise slip past a header-only inspector.
 *
 * Finished is struct { opaque verify_data[12]; } (RFC 5246 §7.4.9; 36 bytes in SSLv3), plus the
 * 4-byte handshake header: 16 bytes of plaintext, 40 in SSLv3.
 */
import type { ServerHelloFacts } from './events.ts';

const FINISHED_PLAINTEXT = 16;
const SSL3_FINISHED_PLAINTEXT = 40;
/** TLS 1.1+ explicit IV of a 128-bit block cipher (RFC 4346 §6.2.3.2). */
const MAX_EXPLICIT_IV = 16;
/** HMAC-SHA384, the longest MAC of a TLS ≤ 1.2 suite. */
const MAX_MAC = 48;
/** Up to 255 padding bytes plus the padding_length byte (RFC 5246 §6.2.3.2). */
const MAX_CBC_PADDING = 256;
/** RFC 5246 §6.2.2: compression may add up to 1024 bytes. */
const MAX_COMPRESSION_EXPANSION = 1024;

/**
 * Any suite, any version, no compression: a CBC Finished with the longest IV, MAC and padding.
 * Used for renegotiations too, whose suite is negotiated under encryption and unknown to us.
 */
export const MAX_FINISHED_RECORD = MAX_EXPLICIT_IV + SSL3_FINISHED_PLAINTEXT + MAX_MAC + MAX_CBC_PADDING;

function inRange(v: number, lo: number, hi: number): boolean {
  return v >= lo && v <= hi;
}

/**
 * Bytes an AEAD suite adds to a TLS 1.2 record: explicit nonce + tag (IANA TLS Cipher Suites
 * registry). Undefined for everything else (CBC, stream, unknown suites).
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

/**
 * The longest record a Finished can fill. With the initial ServerHello's AEAD suite and no
 * compression the length is exact; otherwise it is the bound over every suite.
 */
export function maxFinishedRecord(server: ServerHelloFacts | undefined): number {
  if (server === undefined) return MAX_FINISHED_RECORD;
  if (server.compressionMethod !== 0) return MAX_FINISHED_RECORD + MAX_COMPRESSION_EXPANSION;
  const aead = aeadOverhead(server.cipherSuite);
  return aead === undefined ? MAX_FINISHED_RECORD : FINISHED_PLAINTEXT + aead;
}
