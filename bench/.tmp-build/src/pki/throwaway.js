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
const RSA_MODULUS_BITS = 2048;
const RSA_PUBLIC_EXPONENT = new Uint8Array([0x01, 0x00, 0x01]);
const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1'];
const ONE_HOUR_MS = 60 * 60 * 1000;
const VALIDITY_DAYS = 30;
function keyAlgorithm(keyType) {
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
function signingAlgorithm(issuerKeys) {
    if (issuerKeys.privateKey.algorithm.name === 'ECDSA')
        return { name: 'ECDSA', hash: 'SHA-256' };
    return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}
async function generateKeys(keyType) {
    return (await webcrypto.subtle.generateKey(keyAlgorithm(keyType), true, ['sign', 'verify']));
}
async function privateKeyPem(key) {
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
    return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}
function validity() {
    const now = Date.now();
    return { notBefore: new Date(now - ONE_HOUR_MS), notAfter: new Date(now + VALIDITY_DAYS * 24 * ONE_HOUR_MS) };
}
/** Escapes the RFC 4514 special characters so a common name cannot inject extra attributes. */
function distinguishedName(commonName) {
    return `CN=${commonName.replace(/([,+"\\<>;=#])/g, '\\$1')}`;
}
export async function createCA(options) {
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
function leafKeyUsage(keyType) {
    if (keyType === 'rsa')
        return x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
    return x509.KeyUsageFlags.digitalSignature;
}
function subjectAltNames(options) {
    const ips = options.usage === 'server'
        ? [...LOOPBACK_ADDRESSES, ...(options.ipAddresses ?? [])]
        : [...(options.ipAddresses ?? [])];
    const dns = options.dnsNames ?? (options.usage === 'server' ? [options.commonName] : []);
    return [
        ...dns.map((value) => ({ type: 'dns', value })),
        ...[...new Set(ips)].map((value) => ({ type: 'ip', value })),
    ];
}
export async function issueCertificate(ca, options) {
    const keys = await generateKeys(options.keyType);
    const names = subjectAltNames(options);
    const purpose = options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
    const extensions = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(leafKeyUsage(options.keyType), true),
        new x509.ExtendedKeyUsageExtension([purpose], false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ];
    if (names.length > 0)
        extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
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
export async function createTestPki(options) {
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
/** Writes ca.pem, server.pem, server.key, client.pem and client.key into dir (keys mode 0600). */
export async function writePkiFiles(dir, pki) {
    await mkdir(dir, { recursive: true });
    const files = {
        ca: join(dir, 'ca.pem'),
        serverCert: join(dir, 'server.pem'),
        serverKey: join(dir, 'server.key'),
        clientCert: join(dir, 'client.pem'),
        clientKey: join(dir, 'client.key'),
    };
    await writeFile(files.ca, pki.ca.certPem);
    await writeFile(files.serverCert, pki.server.certPem);
    await writeFile(files.serverKey, pki.server.keyPem, { mode: 0o600 });
    await writeFile(files.clientCert, pki.client.certPem);
    await writeFile(files.clientKey, pki.client.keyPem, { mode: 0o600 });
    return files;
}
//# sourceMappingURL=throwaway.js.map