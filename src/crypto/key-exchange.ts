/**
 * Key agreement for TLS 1.0–1.2: ECDHE (RFC 8422 §5.4, §5.7), DHE (RFC 5246
 * §7.4.3, §7.4.7.2, §8.1.2) and RSA key transport (§7.4.7.1), on node:crypto.
 * The ServerKeyExchange params are parsed here because their shape depends on
 * the suite's key exchange, which the wire layer does not know.
 */
import * as crypto from 'node:crypto';
import { Reader, Writer } from '../wire/codec.ts';
import { ECCurveType, NamedGroup, ProtocolVersion, groupName } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];

/** What the server signs and what the client needs from ServerKeyExchange. */
export interface ServerKeyExchangeParams {
  kind: 'ECDHE' | 'DHE';
  /** The ServerECDHParams / ServerDHParams bytes exactly as sent: the signature covers them. */
  params: Uint8Array;
  group?: number;
  /** ECDHE: the server's point; DHE: dh_Ys. */
  publicKey: Uint8Array;
  dhP?: Uint8Array;
  dhG?: Uint8Array;
  /** TLS 1.2's SignatureAndHashAlgorithm; null before 1.2. */
  scheme: number | null;
  signature: Uint8Array;
}

export function parseServerKeyExchange(
  body: Uint8Array,
  kind: 'ECDHE' | 'DHE',
  version: number,
): ServerKeyExchangeParams {
  const r = new Reader(body);
  const start = r.offset;
  let group: number | undefined;
  let publicKey: Uint8Array;
  let dhP: Uint8Array | undefined;
  let dhG: Uint8Array | undefined;
  if (kind === 'ECDHE') {
    // struct { ECCurveType curve_type; NamedCurve namedcurve; opaque point<1..2^8-1>; } ServerECDHParams
    const curveType = r.u8('curve_type');
    if (curveType !== ECCurveType.named_curve) {
      throw new TlsError('IllegalParameter', `ECDHE curve_type ${curveType} is not named_curve`);
    }
    group = r.u16('namedcurve');
    publicKey = r.vec8('point', 1);
  } else {
    // struct { opaque dh_p<1..2^16-1>; opaque dh_g<1..2^16-1>; opaque dh_Ys<1..2^16-1>; } ServerDHParams
    dhP = r.vec16('dh_p', 1);
    dhG = r.vec16('dh_g', 1);
    publicKey = r.vec16('dh_Ys', 1);
  }
  const params = body.subarray(start, r.offset);
  const scheme = version >= TLS12 ? r.u16('signature_algorithm') : null;
  const signature = r.vec16('signature', 1);
  r.expectEnd('ServerKeyExchange');
  return { kind, params, group, publicKey, dhP, dhG, scheme, signature } as ServerKeyExchangeParams;
}

export const SUPPORTED_GROUPS: readonly number[] = [
  NamedGroup.x25519,
  NamedGroup.secp256r1,
  NamedGroup.x448,
  NamedGroup.secp384r1,
];

const ECDH_CURVE: Record<number, string> = {
  [NamedGroup.secp256r1]: 'prime256v1',
  [NamedGroup.secp384r1]: 'secp384r1',
};

/**
 * The Montgomery curves of RFC 7748 (RFC 8422 §5.1.1): key length and JWK curve name (RFC 8037 §2).
 * Keys cross into node:crypto as JWK, which carries the raw key: OpenSSL 3's DER SPKI encoder and
 * decoder cost several times the X25519 operation itself, in every handshake.
 */
const MONTGOMERY: Record<number, { name: 'x25519' | 'x448'; length: number; crv: 'X25519' | 'X448' }> = {
  [NamedGroup.x25519]: { name: 'x25519', length: 32, crv: 'X25519' },
  [NamedGroup.x448]: { name: 'x448', length: 56, crv: 'X448' },
};

export interface KeyShare {
  /** Our public value as it goes on the wire (point or dh_Yc). */
  publicKey: Uint8Array;
  /** The premaster secret from the peer's public value. */
  agree(peer: Uint8Array): Uint8Array;
}

export function ecdheKeyShare(group: number): KeyShare {
  const montgomery = MONTGOMERY[group];
  if (montgomery !== undefined) {
    const { name, length, crv } = montgomery;
    // The public key is encoded by the key generation itself, as SubjectPublicKeyInfo DER whose
    // last `length` bytes are the raw key (RFC 8410 §4), never by exporting it as a JWK afterwards:
    // Node 20's JWK export of an X25519/X448 key holds the key's mutex while it allocates on the V8
    // heap, and a garbage collection there that finalizes the generation's job (which takes the
    // same mutex) deadlocks the process. A scan campaign hung that way after about 9,000 targets.
    // (@types/node has no overload for an encoded public key beside a KeyObject private key.)
    const { publicKey: spki, privateKey } = crypto.generateKeyPairSync(
      name as 'x25519',
      {
        publicKeyEncoding: { type: 'spki', format: 'der' },
      } as crypto.X25519KeyPairKeyObjectOptions,
    ) as unknown as { publicKey: Buffer; privateKey: crypto.KeyObject };
    const raw = spki.subarray(spki.length - length);
    const label = name.toUpperCase();
    return {
      publicKey: new Uint8Array(raw),
      agree(peer) {
        if (peer.length !== length) throw new TlsError('IllegalParameter', `${label} point is not ${length} bytes`);
        // RFC 7748 §6.1/§6.2, RFC 8422 §5.11: a small-order share (0, 1, the low-order points,
        // p-1, …) forces an all-zero shared secret that an attacker knows; it is refused with
        // illegal_parameter, as OpenSSL does and tlsfuzzer's test-x25519 expects. OpenSSL, under
        // node, fails the derivation itself for such shares; the zero check covers any other build.
        let secret: Uint8Array;
        try {
          const x = Buffer.from(peer.buffer, peer.byteOffset, peer.byteLength).toString('base64url');
          const peerKey = crypto.createPublicKey({ key: { kty: 'OKP', crv, x }, format: 'jwk' });
          secret = new Uint8Array(crypto.diffieHellman({ privateKey, publicKey: peerKey }));
        } catch {
          throw new TlsError('IllegalParameter', `${label} share of small order (the shared secret would be zero)`);
        }
        if (secret.every((b) => b === 0)) throw new TlsError('IllegalParameter', `${label} shared secret is zero`);
        return secret;
      },
    };
  }
  const curve = ECDH_CURVE[group];
  if (!curve) throw new TlsError('IllegalParameter', `server chose unsupported group ${groupName(group)}`);
  const ecdh = crypto.createECDH(curve);
  const pub = ecdh.generateKeys();
  return {
    publicKey: new Uint8Array(pub),
    agree(peer) {
      // RFC 8422 §5.4.1: only the uncompressed point format is allowed; §5.11: the point must be
      // on the curve (OpenSSL, under computeSecret, checks it, and refuses the point at infinity).
      if (peer[0] !== 4) throw new TlsError('IllegalParameter', 'EC point is not uncompressed');
      try {
        return new Uint8Array(ecdh.computeSecret(peer));
      } catch {
        throw new TlsError('IllegalParameter', 'EC point is not on the curve');
      }
    },
  };
}

/** Smallest DH prime we accept: 1024 bits still meets 2009-era servers; Logjam-size groups are refused. */
export const MIN_DH_BITS = 1024;

export function dheKeyShare(p: Uint8Array, g: Uint8Array, minBits = MIN_DH_BITS): KeyShare {
  const pBits = bitLength(p);
  if (pBits < minBits) throw new TlsError('InsufficientSecurity', `DH prime of ${pBits} bits is below ${minBits}`);
  if (pBits > 8192) throw new TlsError('IllegalParameter', `DH prime of ${pBits} bits is unreasonably large`);
  let dh: crypto.DiffieHellman;
  try {
    dh = crypto.createDiffieHellman(Buffer.from(p), Buffer.from(g));
    dh.generateKeys();
  } catch {
    throw new TlsError('IllegalParameter', 'unusable DH group');
  }
  return { publicKey: new Uint8Array(dh.getPublicKey()), agree: (peer) => dhAgree(dh, p, peer) };
}

/**
 * Z = Ys^x mod p, with Ys checked to lie in [2, p-2] (RFC 7919 §5.1's check,
 * applied to any group) and leading zero bytes stripped (RFC 5246 §8.1.2).
 */
function dhAgree(dh: Pick<crypto.DiffieHellman, 'computeSecret'>, p: Uint8Array, peer: Uint8Array): Uint8Array {
  const y = BigInt('0x' + (Buffer.from(peer).toString('hex') || '0'));
  const pn = BigInt('0x' + Buffer.from(p).toString('hex'));
  if (y < 2n || y > pn - 2n) throw new TlsError('IllegalParameter', 'DH public value out of range');
  let secret: Buffer;
  try {
    secret = dh.computeSecret(Buffer.from(peer));
  } catch {
    throw new TlsError('IllegalParameter', 'DH public value rejected');
  }
  let i = 0;
  while (i < secret.length - 1 && secret[i] === 0) i++;
  return new Uint8Array(secret.subarray(i));
}

function bitLength(n: Uint8Array): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
}

/** ECDHE: struct { opaque point <1..2^8-1>; } ClientECDiffieHellmanPublic */
export function encodeEcdheClientKeyExchange(publicKey: Uint8Array): Uint8Array {
  return new Writer(publicKey.length + 1).vec8(publicKey, 'ecdh_Yc').finish();
}

/** DHE: opaque dh_Yc<1..2^16-1> */
export function encodeDheClientKeyExchange(publicKey: Uint8Array): Uint8Array {
  return new Writer(publicKey.length + 2).vec16(publicKey, 'dh_Yc').finish();
}

/**
 * RSA key transport (RFC 5246 §7.4.7.1): a 48-byte premaster whose first two
 * bytes are the version we offered (not the negotiated one), encrypted with
 * PKCS#1 v1.5 to the server's key.
 */
export function rsaKeyTransport(
  serverKey: crypto.KeyObject,
  offeredVersion: number,
): { premaster: Uint8Array; body: Uint8Array } {
  const premaster = new Uint8Array(48);
  crypto.randomFillSync(premaster);
  premaster[0] = offeredVersion >>> 8;
  premaster[1] = offeredVersion & 0xff;
  const encrypted = crypto.publicEncrypt({ key: serverKey, padding: crypto.constants.RSA_PKCS1_PADDING }, premaster);
  // TLS 1.0+ puts a two-byte length before EncryptedPreMasterSecret (SSLv3 did not).
  const body = new Writer(encrypted.length + 2).vec16(encrypted, 'EncryptedPreMasterSecret').finish();
  return { premaster, body };
}

/**
 * The server's side of RSA key transport, with RFC 5246 §7.4.7.1's
 * countermeasure against Bleichenbacher's attack: decrypt without padding
 * (Node refuses PKCS#1 v1.5 decryption), check the padding and the embedded
 * client_version without early exits, and on any failure carry on with a random
 * premaster secret, so the only visible effect is a Finished that does not verify.
 */
export function rsaDecryptPremaster(key: crypto.KeyObject, body: Uint8Array, clientVersion: number): Uint8Array {
  const r = new Reader(body);
  const encrypted = r.vec16('EncryptedPreMasterSecret');
  r.expectEnd('ClientKeyExchange');
  const fallback = crypto.randomBytes(48);
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 2048) / 8);
  let em: Uint8Array;
  try {
    em = crypto.privateDecrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, encrypted);
  } catch {
    // Wrong length or a value above the modulus: public facts, no oracle in rejecting them.
    em = new Uint8Array(k);
  }
  if (em.length !== k || k < 48 + 11) em = new Uint8Array(Math.max(k, 59));
  const n = em.length;
  // EM = 0x00 || 0x02 || PS (at least 8 non-zero bytes) || 0x00 || premaster (48 bytes)
  let bad = em[0]! | (em[1]! ^ 2);
  for (let i = 2; i < n - 49; i++) bad |= ((em[i]! - 1) >> 31) & 1; // a zero inside PS
  bad |= em[n - 49]!;
  bad |= em[n - 48]! ^ (clientVersion >>> 8);
  bad |= em[n - 47]! ^ (clientVersion & 0xff);
  const useFallback = ((bad | -bad) >> 31) & 0xff; // 0xff when bad != 0
  const out = new Uint8Array(48);
  for (let i = 0; i < 48; i++) out[i] = (em[n - 48 + i]! & ~useFallback) | (fallback[i]! & useFallback);
  return out;
}

/** struct { ECParameters curve_params; ECPoint public; } ServerECDHParams (RFC 8422 §5.4) */
export function encodeEcdheParams(group: number, publicKey: Uint8Array): Uint8Array {
  return new Writer(publicKey.length + 4)
    .u8(ECCurveType.named_curve, 'curve_type')
    .u16(group, 'namedcurve')
    .vec8(publicKey, 'point')
    .finish();
}

/** ServerDHParams (RFC 5246 §7.4.3) */
export function encodeDheParams(p: Uint8Array, g: Uint8Array, ys: Uint8Array): Uint8Array {
  return new Writer(p.length + g.length + ys.length + 6).vec16(p, 'dh_p').vec16(g, 'dh_g').vec16(ys, 'dh_Ys').finish();
}

/** ServerKeyExchange body: params, then the digitally-signed struct (algorithm only from TLS 1.2). */
export function encodeServerKeyExchange(params: Uint8Array, scheme: number | null, signature: Uint8Array): Uint8Array {
  const w = new Writer(params.length + signature.length + 4).bytes(params);
  if (scheme !== null) w.u16(scheme, 'signature_algorithm');
  return w.vec16(signature, 'signature').finish();
}

/** The server's DHE share on the 2048-bit MODP group of RFC 3526 §3 (node's 'modp14'): no prime check per handshake. */
export function dheServerShare(): KeyShare & { p: Uint8Array; g: Uint8Array } {
  const dh = crypto.getDiffieHellman('modp14');
  dh.generateKeys();
  const p = new Uint8Array(dh.getPrime());
  const g = new Uint8Array(dh.getGenerator());
  return { p, g, publicKey: new Uint8Array(dh.getPublicKey()), agree: (peer) => dhAgree(dh, p, peer) };
}

/** ClientECDiffieHellmanPublic / ClientDiffieHellmanPublic, explicit form. */
export function parseClientKeyExchange(body: Uint8Array, kind: 'ECDHE' | 'DHE'): Uint8Array {
  const r = new Reader(body);
  const v = kind === 'ECDHE' ? r.vec8('ecdh_Yc', 1) : r.vec16('dh_Yc', 1);
  r.expectEnd('ClientKeyExchange');
  return v;
}
