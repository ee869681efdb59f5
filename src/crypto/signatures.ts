/**
 * Handshake signatures: ServerKeyExchange (RFC 5246 §7.4.3) and CertificateVerify
 * (§7.4.8). TLS 1.2 names a SignatureAndHashAlgorithm; TLS 1.0/1.1 use fixed
 * hashes: RSA signs MD5||SHA-1 with PKCS#1 v1.5 type 1 padding and no DigestInfo
 * (RFC 2246 §7.4.3), ECDSA signs SHA-1 (RFC 4492 §5.10).
 */
import * as crypto from 'node:crypto';
import { ProtocolVersion, SignatureScheme, signatureSchemeName } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];

/** Schemes we offer in signature_algorithms, strongest first within each family. */
export const SUPPORTED_SCHEMES: readonly number[] = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
  SignatureScheme.ecdsa_secp521r1_sha512,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
  SignatureScheme.rsa_pkcs1_sha1,
  SignatureScheme.ecdsa_sha1,
];

interface SchemeInfo {
  keyType: 'rsa' | 'ec';
  hash: string;
  pss: boolean;
}

function schemeInfo(scheme: number): SchemeInfo | undefined {
  const hashByte = scheme >> 8;
  const sigByte = scheme & 0xff;
  const hashes: Record<number, string> = { 2: 'sha1', 4: 'sha256', 5: 'sha384', 6: 'sha512' };
  if (sigByte === 1 && hashes[hashByte]) return { keyType: 'rsa', hash: hashes[hashByte]!, pss: false };
  if (sigByte === 3 && hashes[hashByte]) return { keyType: 'ec', hash: hashes[hashByte]!, pss: false };
  const pss: Record<number, string> = { 0x0804: 'sha256', 0x0805: 'sha384', 0x0806: 'sha512' };
  if (pss[scheme]) return { keyType: 'rsa', hash: pss[scheme]!, pss: true };
  return undefined;
}

/** RSA-PSS with a salt as long as the hash (RFC 8446 §4.2.3), or PKCS#1 v1.5; ECDSA ignores the padding. */
function keyWithPadding(key: crypto.KeyObject, info: SchemeInfo): crypto.SignKeyObjectInput {
  return info.pss
    ? { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }
    : { key, padding: crypto.constants.RSA_PKCS1_PADDING };
}

export function keyTypeOf(key: crypto.KeyObject): 'rsa' | 'ec' | 'other' {
  const t = key.asymmetricKeyType;
  if (t === 'rsa' || t === 'rsa-pss') return 'rsa';
  if (t === 'ec') return 'ec';
  return 'other';
}

function md5sha1(data: Uint8Array): Buffer {
  return Buffer.concat([
    crypto.createHash('md5').update(data).digest(),
    crypto.createHash('sha1').update(data).digest(),
  ]);
}

/**
 * Verifies a handshake signature. `offered` is the list we advertised: TLS 1.2
 * peers must pick from it (RFC 5246 §7.4.1.4.1). Failure is decrypt_error (§7.2.2).
 */
export function verifySignature(
  version: number,
  key: crypto.KeyObject,
  scheme: number | null,
  data: Uint8Array,
  signature: Uint8Array,
  offered: readonly number[] = SUPPORTED_SCHEMES,
): void {
  const keyType = keyTypeOf(key);
  let ok = false;
  try {
    if (version >= TLS12) {
      if (scheme === null || !offered.includes(scheme)) {
        throw new TlsError(
          'IllegalParameter',
          `peer signed with ${signatureSchemeName(scheme ?? 0)}, which we did not offer`,
        );
      }
      const info = schemeInfo(scheme);
      if (!info || info.keyType !== keyType) {
        throw new TlsError('IllegalParameter', `${signatureSchemeName(scheme)} does not match the ${keyType} key`);
      }
      ok = crypto.verify(info.hash, data, keyWithPadding(key, info), signature);
    } else if (keyType === 'rsa') {
      const recovered = crypto.publicDecrypt({ key, padding: crypto.constants.RSA_PKCS1_PADDING }, signature);
      const expected = md5sha1(data);
      ok = recovered.length === expected.length && crypto.timingSafeEqual(recovered, expected);
    } else if (keyType === 'ec') {
      ok = crypto.verify('sha1', data, key, signature);
    } else {
      throw new TlsError('UnsupportedExtension', `unsupported key type ${key.asymmetricKeyType}`);
    }
  } catch (e) {
    if (e instanceof TlsError) throw e;
    ok = false;
  }
  if (!ok) throw new TlsError('DecryptError', 'handshake signature does not verify');
}

/** Picks the scheme we sign with: the first of the peer's list our key can make (TLS 1.2), or null. */
export function chooseScheme(
  version: number,
  key: crypto.KeyObject,
  peerSchemes: readonly number[] | null,
): number | null {
  if (version < TLS12) return null;
  const keyType = keyTypeOf(key);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ecScheme: Record<string, number> = {
    prime256v1: SignatureScheme.ecdsa_secp256r1_sha256,
    secp384r1: SignatureScheme.ecdsa_secp384r1_sha384,
    secp521r1: SignatureScheme.ecdsa_secp521r1_sha512,
  };
  // RFC 5246 §7.4.1.4.1: absent a list, the peer supports {sha1, the key's algorithm}.
  const peer = peerSchemes ?? [SignatureScheme.rsa_pkcs1_sha1, SignatureScheme.ecdsa_sha1];
  for (const s of peer) {
    const info = schemeInfo(s);
    if (!info || info.keyType !== keyType) continue;
    if (keyType === 'ec' && s !== SignatureScheme.ecdsa_sha1 && curve && ecScheme[curve] !== s) continue;
    return s;
  }
  throw new TlsError('HandshakeFailure', 'no signature scheme in common for our key');
}

export function sign(version: number, key: crypto.KeyObject, scheme: number | null, data: Uint8Array): Uint8Array {
  const keyType = keyTypeOf(key);
  if (version >= TLS12) {
    const info = scheme === null ? undefined : schemeInfo(scheme);
    if (!info) throw new TlsError('InternalError', 'no signature scheme chosen');
    return new Uint8Array(crypto.sign(info.hash, data, keyWithPadding(key, info)));
  }
  if (keyType === 'rsa') {
    return new Uint8Array(crypto.privateEncrypt({ key, padding: crypto.constants.RSA_PKCS1_PADDING }, md5sha1(data)));
  }
  return new Uint8Array(crypto.sign('sha1', data, key));
}
