/**
 * Throwaway PKI for demos, tests and `renego server`: a CA, a server certificate for
 * localhost and a client certificate, all made in memory with WebCrypto. Nothing here
 * is meant to protect anything; keys are extractable and certificates live 30 days.
 *
 * Keys are written as PKCS#8 ("BEGIN PRIVATE KEY"), the one format that OpenSSL, GnuTLS,
 * node:tls and Java's PKCS8EncodedKeySpec all read.
 */
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type KeyType = 'rsa' | 'ecdsa';
export type CertificateUsage = 'server' | 'client';

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** The leaf followed by the CA certificate, as a server sends it. */
  readonly chainPem: string;
}

export interface TestPki {
  readonly ca: CertificateAuthority;
  readonly server: IssuedCertificate;
  readonly client: IssuedCertificate;
}

export interface CreateCaOptions {
  readonly commonName: string;
  readonly keyType: KeyType;
}

export interface IssueOptions {
  readonly commonName: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly keyType: KeyType;
  readonly usage: CertificateUsage;
}

const RSA_MODULUS_BITS = 2048;
const RSA_PUBLIC_EXPONENT = new Uint8Array([0x01, 0x00, 0x01]);
const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1'];
const ONE_HOUR_MS = 60 * 60 * 1000;
const VALIDITY_DAYS = 30;

function keyAlgorithm(keyType: KeyType): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  if (keyType === 'rsa') {
    return {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      modulusLength: RSA_MODULUS_BITS,
      publicExponent: RSA_PUBLIC_EXPONENT,
    };
  }
  return { name: 'ECDSA', namedCurve: 'P-256' };
}

/** The signature algorithm is the issuer's: an ECDSA CA signs an RSA leaf with ecdsa-with-SHA256. */
function signingAlgorithm(issuerKeys: CryptoKeyPair): webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams {
  if (issuerKeys.privateKey.algorithm.name === 'ECDSA') return { name: 'ECDSA', hash: 'SHA-256' };
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

async function generateKeys(keyType: KeyType): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyAlgorithm(keyType), true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function validity(): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - ONE_HOUR_MS), notAfter: new Date(now + VALIDITY_DAYS * 24 * ONE_HOUR_MS) };
}

/** Escapes the RFC 4514 special characters so a common name cannot inject extra attributes. */
function distinguishedName(commonName: string): string {
  return `CN=${commonName.replace(/([,+"\\<>;=#])/g, '\\$1')}`;
}

export async function createCA(options: CreateCaOptions): Promise<CertificateAuthority> {
  const keys = await generateKeys(options.keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: distinguishedName(options.commonName),
    keys,
    signingAlgorithm: signingAlgorithm(keys),
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey), cert, keys };
}

/**
 * RSA leaves also get keyEncipherment so the static-RSA key exchange suites
 * (TLS_RSA_WITH_*), which the renegotiation tests use heavily, pass key usage checks.
 */
function leafKeyUsage(keyType: KeyType): x509.KeyUsageFlags {
  if (keyType === 'rsa') return x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  return x509.KeyUsageFlags.digitalSignature;
}

function subjectAltNames(options: IssueOptions): x509.JsonGeneralName[] {
  const ips =
    options.usage === 'server'
      ? [...LOOPBACK_ADDRESSES, ...(options.ipAddresses ?? [])]
      : [...(options.ipAddresses ?? [])];
  const dns = options.dnsNames ?? (options.usage === 'server' ? [options.commonName] : []);
  return [
    ...dns.map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...[...new Set(ips)].map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
}

export async function issueCertificate(ca: CertificateAuthority, options: IssueOptions): Promise<IssuedCertificate> {
  const keys = await generateKeys(options.keyType);
  const names = subjectAltNames(options);
  const purpose = options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(leafKeyUsage(options.keyType), true),
    new x509.ExtendedKeyUsageExtension([purpose], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));

  const cert = await x509.X509CertificateGenerator.create({
    subject: distinguishedName(options.commonName),
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingAlgorithm(ca.keys),
    ...validity(),
    extensions,
  });
  const certPem = cert.toString('pem');
  return { certPem, keyPem: await privateKeyPem(keys.privateKey), chainPem: `${certPem}\n${ca.certPem}\n` };
}

/** A CA, a server certificate for localhost/127.0.0.1/::1 and a client certificate, all of one key type. */
export async function createTestPki(options: { keyType: KeyType }): Promise<TestPki> {
  const { keyType } = options;
  const ca = await createCA({ commonName: `renego throwaway CA (${keyType})`, keyType });
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    keyType,
    usage: 'server',
  });
  const client = await issueCertificate(ca, { commonName: 'renego test client', keyType, usage: 'client' });
  return { ca, server, client };
}

/** What a client of a throwaway server needs on disk to trust it and to present a certificate. */
export interface ClientPkiFiles {
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export interface PkiFiles extends ClientPkiFiles {
  readonly serverCert: string;
  readonly serverKey: string;
}

/**
 * Writes ca.pem, client.pem and client.key (mode 0600) into dir: all a client needs, and no
 * server key, which a server that holds it in memory has no reason to leave on disk.
 */
export async function writeClientPkiFiles(dir: string, pki: TestPki): Promise<ClientPkiFiles> {
  await mkdir(dir, { recursive: true });
  const files = { ca: join(dir, 'ca.pem'), clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key') };
  await writeFile(files.ca, pki.ca.certPem);
  await writeFile(files.clientCert, pki.client.certPem);
  await writeFile(files.clientKey, pki.client.keyPem, { mode: 0o600 });
  return files;
}

/** Writes the client's files and server.pem and server.key (keys mode 0600) into dir, for peers that read files. */
export async function writePkiFiles(dir: string, pki: TestPki): Promise<PkiFiles> {
  const files = {
    ...(await writeClientPkiFiles(dir, pki)),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
  };
  await writeFile(files.serverCert, pki.server.certPem);
  await writeFile(files.serverKey, pki.server.keyPem, { mode: 0o600 });
  return files;
}
