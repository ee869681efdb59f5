/** Loading a certificate chain and its key from PEM into what the engine uses. */
import * as crypto from 'node:crypto';
import { TlsError } from '../wire/errors.ts';
import { oneLine, parsePemCertificates } from './verify.ts';

/** A certificate chain with its private key, as a server presents it. */
export interface ServerCertificate {
  /** DER, leaf first. */
  chain: readonly Uint8Array[];
  key: crypto.KeyObject;
  /** Names (from the leaf's subjectAltName) used for SNI selection. */
  names: readonly string[];
  keyType: 'rsa' | 'ec';
}

export function loadCertificate(chainPem: string | Uint8Array, keyPem: string | Uint8Array): ServerCertificate {
  const certs = parsePemCertificates(chainPem);
  if (certs.length === 0) throw new TlsError('InternalError', 'no certificate in the PEM');
  const key = crypto.createPrivateKey(typeof keyPem === 'string' ? keyPem : Buffer.from(keyPem));
  const leaf = certs[0]!;
  if (!leaf.checkPrivateKey(key)) throw new TlsError('InternalError', 'the key does not match the certificate');
  const t = key.asymmetricKeyType;
  if (t !== 'rsa' && t !== 'ec') throw new TlsError('InternalError', `unsupported key type ${t}`);
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
  return { chain: certs.map((c) => new Uint8Array(c.raw)), key, names, keyType: t };
}

/** The subject of a DER certificate on one line, e.g. "CN=renego test client". */
export function certificateSubject(der: Uint8Array): string {
  return oneLine(new crypto.X509Certificate(Buffer.from(der)).subject);
}
