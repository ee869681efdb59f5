/**
 * A fixed random source and a fixed clock for the engine, without a seam in it: the engine
 * draws its randomness from node:crypto (hello randoms, session ids, ephemeral keys, RSA
 * premasters, CBC IVs) and its gmt_unix_time from Date.now(), so for the time of one replay
 * those functions are replaced, in the builtin module, by ones that draw from a SHA-256 counter
 * stream of the seed (as Go's tests set Config.Rand and Config.Time). The same seed gives the
 * same ClientHello, the same key shares, the same bytes. Everything is put back by restore().
 *
 * node:crypto's ESM exports are synced from the CommonJS module object with
 * module.syncBuiltinESMExports(), which is what makes the replacement reach `import * as crypto`
 * and named imports alike. Signatures are not covered: RSA PKCS#1 v1.5 is deterministic, PSS
 * and ECDSA are not (the golden sessions avoid them).
 *
 * The seam this stands in for: a `random(n)` and a `now()` in the client and server configs,
 * read by randomWithTime and the session ids in src/handshake, and handed to the key shares
 * (src/crypto/key-exchange.ts: ecdheKeyShare, dheKeyShare, rsaKeyTransport, the RSA fallback
 * premaster), the session tickets (src/handshake/server-sessions.ts) and the CBC IVs
 * (src/crypto/record-protection.ts); ephemeral keys would then be built from drawn bytes, as here.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type * as NodeCrypto from 'node:crypto';

const nodeCrypto = createRequire(import.meta.url)('node:crypto') as typeof NodeCrypto;

/** PKCS#8 prefixes of RFC 8410 §7 private keys: the raw key follows. */
const PKCS8_PREFIX = {
  x25519: { prefix: Buffer.from('302e020100300506032b656e04220420', 'hex'), length: 32 },
  x448: { prefix: Buffer.from('3046020100300506032b656f043a0438', 'hex'), length: 56 },
} as const;

/** Private scalar lengths of the NIST curves the engine offers. */
const EC_SCALAR_LENGTH: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

class CounterStream {
  private counter = 0;
  private pool = Buffer.alloc(0);

  constructor(private readonly seed: string) {}

  take(n: number): Buffer {
    while (this.pool.length < n) {
      const block = nodeCrypto.createHash('sha256').update(`${this.seed}:${this.counter++}`).digest();
      this.pool = Buffer.concat([this.pool, block]);
    }
    const out = this.pool.subarray(0, n);
    this.pool = this.pool.subarray(n);
    return Buffer.from(out);
  }
}

export interface SeededRandom {
  restore(): void;
}

/** Replaces node:crypto's random sources and Date.now() until restore(). */
export function installSeededRandom(seed: string, nowMs: number): SeededRandom {
  const stream = new CounterStream(seed);
  const original = {
    randomBytes: nodeCrypto.randomBytes,
    randomFillSync: nodeCrypto.randomFillSync,
    createECDH: nodeCrypto.createECDH,
    createDiffieHellman: nodeCrypto.createDiffieHellman,
    generateKeyPairSync: nodeCrypto.generateKeyPairSync,
    now: Date.now,
  };
  const patched = nodeCrypto as unknown as Record<string, unknown>;

  // The engine only calls the synchronous form; a callback gets the same bytes, asynchronously.
  patched.randomBytes = (size: number, callback?: (e: Error | null, b: Buffer) => void): Buffer | undefined => {
    const bytes = stream.take(size);
    if (callback === undefined) return bytes;
    queueMicrotask(() => callback(null, bytes));
    return undefined;
  };
  patched.randomFillSync = <T extends NodeJS.ArrayBufferView>(buf: T, offset = 0, size?: number): T => {
    const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = size ?? view.length - offset;
    view.set(stream.take(n), offset);
    return buf;
  };
  patched.createECDH = (curve: string): NodeCrypto.ECDH => {
    const ecdh = original.createECDH(curve);
    const length = EC_SCALAR_LENGTH[curve];
    if (length === undefined) throw new Error(`seeded-random: no scalar length for ${curve}`);
    ecdh.generateKeys = ((encoding?: NodeCrypto.BinaryToTextEncoding, format?: NodeCrypto.ECDHKeyFormat) => {
      const scalar = stream.take(length);
      if (curve === 'secp521r1') scalar[0]! &= 0x01;
      ecdh.setPrivateKey(scalar);
      return encoding === undefined ? ecdh.getPublicKey() : ecdh.getPublicKey(encoding, format);
    }) as NodeCrypto.ECDH['generateKeys'];
    return ecdh;
  };
  patched.createDiffieHellman = (...args: unknown[]): NodeCrypto.DiffieHellman => {
    const dh = (original.createDiffieHellman as (...a: unknown[]) => NodeCrypto.DiffieHellman)(...args);
    const generate = dh.generateKeys.bind(dh);
    dh.generateKeys = ((encoding?: NodeCrypto.BinaryToTextEncoding) => {
      // A private value one byte shorter than p is below p - 1; OpenSSL derives the public value from it.
      dh.setPrivateKey(stream.take(dh.getPrime().length - 1));
      return encoding === undefined ? generate() : generate(encoding);
    }) as NodeCrypto.DiffieHellman['generateKeys'];
    return dh;
  };
  patched.generateKeyPairSync = (type: string, ...rest: unknown[]): unknown => {
    if (type !== 'x25519' && type !== 'x448') {
      return (original.generateKeyPairSync as (...a: unknown[]) => unknown)(type, ...rest);
    }
    const { prefix, length } = PKCS8_PREFIX[type];
    const privateKey = nodeCrypto.createPrivateKey({
      key: Buffer.concat([prefix, stream.take(length)]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = nodeCrypto.createPublicKey(privateKey);
    // As node:crypto does: with publicKeyEncoding, the public key comes back encoded.
    const encoding = (rest[0] as { publicKeyEncoding?: NodeCrypto.KeyExportOptions<'der'> } | undefined)
      ?.publicKeyEncoding;
    return { privateKey, publicKey: encoding ? publicKey.export(encoding) : publicKey };
  };
  Date.now = () => nowMs;
  syncBuiltinESMExports();

  return {
    restore() {
      Object.assign(patched, {
        randomBytes: original.randomBytes,
        randomFillSync: original.randomFillSync,
        createECDH: original.createECDH,
        createDiffieHellman: original.createDiffieHellman,
        generateKeyPairSync: original.generateKeyPairSync,
      });
      Date.now = original.now;
      syncBuiltinESMExports();
    },
  };
}
