/**
 * The TLS pseudo-random function and the key schedule built on it, and the
 * running handshake transcript hash.
 *
 * TLS 1.0/1.1 (RFC 2246 §5, RFC 4346 §5): PRF = P_MD5(S1, ...) XOR P_SHA1(S2, ...).
 * TLS 1.2 (RFC 5246 §5): PRF = P_<hash>(secret, ...) with the suite's PRF hash.
 */
import { createHash, createHmac, type Hash } from 'node:crypto';
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

/**
 * RFC 5246 §5: P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
 * with A(0) = seed and A(i) = HMAC(secret, A(i-1)).
 */
function pHash(alg: string, secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a: Uint8Array = seed;
  for (let off = 0; off < length;) {
    a = createHmac(alg, secret).update(a).digest();
    const block = createHmac(alg, secret).update(a).update(seed).digest();
    const n = Math.min(block.length, length - off);
    out.set(n === block.length ? block : block.subarray(0, n), off);
    off += n;
  }
  return out;
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
 * The running handshake transcript. Every candidate hash runs from the first
 * message because the version and suite are unknown until ServerHello; each
 * `hash()` digests a copy, so it can be taken at any point, any number of times
 * (CertificateVerify, the RFC 7627 session hash, both Finished messages).
 */
export class HandshakeHash {
  private readonly md5: Hash = createHash('md5');
  private readonly sha1: Hash = createHash('sha1');
  private readonly sha256: Hash = createHash('sha256');
  private readonly sha384: Hash = createHash('sha384');
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /**
   * Adds one handshake message, header included (RFC 5246 §7.4.9). Kept by
   * reference, not copied: a received message is a buffer of its own
   * (HandshakeJoiner), a sent one is freshly encoded, and neither is written again.
   */
  append(message: Uint8Array): void {
    this.md5.update(message);
    this.sha1.update(message);
    this.sha256.update(message);
    this.sha384.update(message);
    this.chunks.push(message);
    this.length += message.length;
  }

  hash(version: number, hash: PrfHash): Uint8Array {
    checkVersion(version);
    if (version < ProtocolVersion['TLSv1.2']) return join(this.md5.copy().digest(), this.sha1.copy().digest());
    return (hash === 'sha256' ? this.sha256 : this.sha384).copy().digest();
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
