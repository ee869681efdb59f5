/**
 * Server (and client) certificate chain validation on node:crypto's
 * X509Certificate: a path from the leaf through the peer's intermediates to a
 * trusted root, validity dates, CA flags, and the RFC 6125 name check.
 */
import * as crypto from 'node:crypto';
import * as tls from 'node:tls';
import { isIP } from 'node:net';
import { TlsError } from '../wire/errors.ts';

export interface TrustStore {
  roots: crypto.X509Certificate[];
}

let systemStore: TrustStore | undefined;

/** Node's bundled roots (tls.rootCertificates), parsed once. */
export function systemTrustStore(): TrustStore {
  systemStore ??= { roots: tls.rootCertificates.map((pem) => new crypto.X509Certificate(pem)) };
  return systemStore;
}

/** Parses one or more PEM certificates (a CA bundle). */
export function parsePemCertificates(pem: string | Uint8Array): crypto.X509Certificate[] {
  const text = typeof pem === 'string' ? pem : new TextDecoder().decode(pem);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new crypto.X509Certificate(b));
}

export function trustStoreFromPem(pem: string | Uint8Array): TrustStore {
  const roots = parsePemCertificates(pem);
  if (roots.length === 0) throw new TlsError('InternalError', 'no certificate in the CA file');
  return { roots };
}

const MAX_CHAIN = 10;

/**
 * Verifies `chain` (leaf first, DER) against `store`; checks `host` against the
 * leaf when given. Throws TlsError with BadCertificate, UnknownCA,
 * CertificateExpired or CertificateNameMismatch.
 */
export function verifyChain(
  chain: readonly Uint8Array[],
  store: TrustStore,
  host: string | undefined,
  now = new Date(),
): crypto.X509Certificate[] {
  if (chain.length === 0) throw new TlsError('BadCertificate', 'empty certificate chain');
  let parsed: crypto.X509Certificate[];
  try {
    parsed = chain.map((der) => new crypto.X509Certificate(Buffer.from(der)));
  } catch {
    throw new TlsError('BadCertificate', 'certificate does not parse');
  }
  const leaf = parsed[0]!;
  const path: crypto.X509Certificate[] = [leaf];
  let current = leaf;
  const pool = parsed.slice(1);
  for (let depth = 0; ; depth++) {
    checkValidity(current, now);
    if (depth > 0 && !current.ca) throw new TlsError('BadCertificate', `${current.subject} is not a CA`);
    const root = store.roots.find((r) => issuedBy(current, r));
    if (root) {
      checkValidity(root, now);
      break;
    }
    // A self-signed leaf or intermediate that is itself in the store counts as anchored.
    if (store.roots.some((r) => r.fingerprint256 === current.fingerprint256)) break;
    if (depth >= MAX_CHAIN) throw new TlsError('UnknownCA', 'certificate chain too long');
    const next = pool.find((c) => c !== current && issuedBy(current, c));
    if (!next) throw new TlsError('UnknownCA', `no trusted issuer for ${oneLine(current.issuer)}`);
    path.push(next);
    current = next;
  }
  if (host !== undefined && host !== '') checkHost(leaf, host);
  return path;
}

function issuedBy(cert: crypto.X509Certificate, issuer: crypto.X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkValidity(cert: crypto.X509Certificate, now: Date): void {
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new TlsError('CertificateExpired', `${oneLine(cert.subject)} is valid ${cert.validFrom} to ${cert.validTo}`);
  }
}

export function checkHost(leaf: crypto.X509Certificate, host: string): void {
  const ok = isIP(host) ? leaf.checkIP(host) : leaf.checkHost(host, { subject: 'default' });
  if (!ok) throw new TlsError('CertificateNameMismatch', `certificate is not valid for ${host}`);
}

export function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}
