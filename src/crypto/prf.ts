/**
 * The TLS pseudo-random function and the key schedule built on it, and the
 * running handshake transcript hash.
 *
 * TLS 1.0/1.1 (RFC 2246 §5, RFC 4346 §5): PRF = P_MD5(S1, ...) XOR P_SHA1(S2, ...).
 * TLS 1.2 (RFC 5246 §5): PRF = P_<hash>(secret, ...) with the suite's PRF hash.
 */
import { createHash, hash as oneShotHash, type Hash } from 'node:crypto';
import { TlsError } from '../wire/errors.ts';
import { ProtocolVersion } from '../wire/enums.ts';

/** The TLS 1.2 PRF hash a cipher suite names (RFC 5246 §5; SHA-384 suites, RFC 5289 §3). */
export type PrfHash = 'sha256' | 'sha384';

export type FinishedLabel = 'client finished' | 'server finished';

/** RFC 5246 §8.1: the master secret is always 48 bytes. */
const MASTER_SECRET_LENGTH = 48;
/** RFC 5246 §7.4.9: verify_data_length is 12 for every suite we implement. */
const VERIFY_DATA_LENGTH = 12;

const encoder = new TextEncoder();

function checkVersion(version: number): void {
  if (version < ProtocolVersion.TLSv1 || version > ProtocolVersion['TLSv1.2']) {
    // SSLv3 derives keys with a different construction; TLS 1.3 uses HKDF.
    throw new TlsError('InternalError', `no TLS 1.0-1.2 PRF for version 0x${version.toString(16)}`);
  }
}

/** Input block and output sizes of the hashes the PRFs use (RFC 1321, FIPS 180-4). */
const HASH_SIZES: Readonly<Record<string, { block: number; digest: number }>> = {
  md5: { block: 64, digest: 16 },
  sha1: { block: 64, digest: 20 },
  sha256: { block: 64, digest: 32 },
  sha384: { block: 128, digest: 48 },
};

/**
 * RFC 5246 §5: P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
 * with A(0) = seed and A(i) = HMAC(secret, A(i-1)).
 *
 * Each HMAC is RFC 2104 §2 from two one-shot node:crypto hashes,
 * H(K ^ opad || H(K ^ ipad || text)), in buffers laid out once per call:
 * `inner` holds K ^ ipad || A(i) || seed, so both HMACs of a block hash a prefix
 * of it. `createHmac` sets up a keyed OpenSSL context for every HMAC, and
 * digests come back as new Buffers; here the digests are written in place
 * (a 'binary', i.e. latin1, string carries one byte per character), which makes a handshake's
 * dozen HMACs about 2.5 times cheaper.
 */
function pHash(alg: string, secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const { block, digest } = HASH_SIZES[alg]!;
  // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is padded with zeros.
  const key = secret.length > block ? oneShotHash(alg, secret, 'buffer') : secret;
  const inner = Buffer.alloc(block + digest + seed.length);
  const outer = Buffer.alloc(block + digest);
  const first = Buffer.alloc(block + seed.length);
  for (let i = 0; i < block; i++) {
    const k = key[i] ?? 0;
    inner[i] = first[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  inner.set(seed, block + digest);
  first.set(seed, block);
  const hmacInto = (keyedText: Buffer, out: Buffer, at: number): void => {
    outer.write(oneShotHash(alg, keyedText, 'binary'), block, 'binary');
    out.write(oneShotHash(alg, outer, 'binary'), at, 'binary');
  };
  const out = Buffer.alloc(Math.ceil(length / digest) * digest);
  hmacInto(first, inner, block); // A(1)
  for (let off = 0; off < length; off += digest) {
    hmacInto(inner, out, off); // HMAC(secret, A(i) + seed)
    if (off + digest < length) hmacInto(inner.subarray(0, block + digest), inner, block); // A(i+1)
  }
  inner.fill(0);
  outer.fill(0);
  first.fill(0);
  out.fill(0, length);
  // A plain Uint8Array, never a Buffer: callers slice() key material out and expect copies.
  return new Uint8Array(out.buffer, out.byteOffset, length);
}

/**
 * RFC 2246 §5: the secret is split into two halves, S1 for MD5 and S2 for SHA-1;
 * with an odd length the halves share the middle byte.
 */
function prf10(secret: Uint8Array, labelAndSeed: Uint8Array, length: number): Uint8Array {
  const half = Math.ceil(secret.length / 2);
  const out = pHash('md5', secret.subarray(0, half), labelAndSeed, length);
  const sha = pHash('sha1', secret.subarray(secret.length - half), labelAndSeed, length);
  for (let i = 0; i < length; i++) out[i]! ^= sha[i]!;
  return out;
}

/** `hash` applies from TLS 1.2 on; TLS 1.0 and 1.1 always combine MD5 and SHA-1. */
export function prf(
  version: number,
  hash: PrfHash,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  checkVersion(version);
  const labelBytes = encoder.encode(label);
  const labelAndSeed = new Uint8Array(labelBytes.length + seed.length);
  labelAndSeed.set(labelBytes);
  labelAndSeed.set(seed, labelBytes.length);
  if (version < ProtocolVersion['TLSv1.2']) return prf10(secret, labelAndSeed, length);
  return pHash(hash, secret, labelAndSeed, length);
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** RFC 5246 §8.1: PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random)[0..47] */
export function masterSecret(
  version: number,
  hash: PrfHash,
  preMaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): Uint8Array {
  return prf(version, hash, preMaster, 'master secret', join(clientRandom, serverRandom), MASTER_SECRET_LENGTH);
}

/**
 * RFC 7627 §4: binds the master secret to the whole handshake (session_hash is the
 * transcript hash up to and including ClientKeyExchange), defeating the triple
 * handshake attack's synchronised master secrets.
 */
export function extendedMasterSecret(
  version: number,
  hash: PrfHash,
  preMaster: Uint8Array,
  sessionHash: Uint8Array,
): Uint8Array {
  return prf(version, hash, preMaster, 'extended master secret', sessionHash, MASTER_SECRET_LENGTH);
}

/** RFC 5246 §6.3: note the seed order, server_random first. */
export function keyBlock(
  version: number,
  hash: PrfHash,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  length: number,
): Uint8Array {
  return prf(version, hash, master, 'key expansion', join(serverRandom, clientRandom), length);
}

/** RFC 5246 §7.4.9: PRF(master_secret, finished_label, Hash(handshake_messages))[0..11] */
export function verifyData(
  version: number,
  hash: PrfHash,
  master: Uint8Array,
  label: FinishedLabel,
  handshakeHash: Uint8Array,
): Uint8Array {
  return prf(version, hash, master, label, handshakeHash, VERIFY_DATA_LENGTH);
}

/**
 * The running handshake transcript. The version and suite, and with them the
 * hash, are unknown until ServerHello, so the messages are kept and a hash
 * starts when it is first asked for, from the first message; later messages
 * go into every hash started. Each `hash()` digests a copy, so it can be taken
 * at any point, any number of times (CertificateVerify, the RFC 7627 session
 * hash, both Finished messages). A connection needs one hash, two before TLS 1.2
 * (MD5 and SHA-1), not all four.
 */
export class HandshakeHash {
  private readonly running = new Map<string, Hash>();
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /**
   * Adds one handshake message, header included (RFC 5246 §7.4.9). Kept by
   * reference, not copied: a received message is a buffer of its own
   * (HandshakeJoiner), a sent one is freshly encoded, and neither is written again.
   */
  append(message: Uint8Array): void {
    for (const h of this.running.values()) h.update(message);
    this.chunks.push(message);
    this.length += message.length;
  }

  hash(version: number, hash: PrfHash): Uint8Array {
    checkVersion(version);
    if (version < ProtocolVersion['TLSv1.2']) return join(this.digest('md5'), this.digest('sha1'));
    return this.digest(hash);
  }

  private digest(alg: string): Uint8Array {
    let h = this.running.get(alg);
    if (!h) {
      h = createHash(alg);
      for (const c of this.chunks) h.update(c);
      this.running.set(alg, h);
    }
    return h.copy().digest();
  }

  /**
   * The raw messages so far: a TLS 1.2 CertificateVerify signs them with the
   * signature scheme's own hash, which need not be the PRF hash (RFC 5246 §7.4.8).
   */
  messages(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}
