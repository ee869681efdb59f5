/**
 * The public key of a certificate that is not verified (a scanner's or `-k`
 * client's), parsed once per distinct certificate: a scan meets the same
 * server certificate in every one of its ~25 handshakes, and parsing the X.509
 * structure cost more than the handshake's own public-key operations. The key is
 * found by the whole DER, so two certificates never share an entry; the cache is
 * bounded (least recently used first out).
 */
import * as crypto from 'node:crypto';
import { TlsError } from '../wire/errors.ts';

const MAX_ENTRIES = 64;
const keys = new Map<string, crypto.KeyObject>();

export function certificatePublicKey(der: Uint8Array): crypto.KeyObject {
  const id = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const cached = keys.get(id);
  if (cached) {
    keys.delete(id);
    keys.set(id, cached);
    return cached;
  }
  let key: crypto.KeyObject;
  try {
    key = new crypto.X509Certificate(Buffer.from(der)).publicKey;
  } catch {
    throw new TlsError('BadCertificate', 'server certificate does not parse');
  }
  keys.set(id, key);
  if (keys.size > MAX_ENTRIES) keys.delete(keys.keys().next().value!);
  return key;
}
