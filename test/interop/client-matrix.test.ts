/**
 * The interop matrix of the client engine: every protocol version (TLS 1.0, 1.1, 1.2) × every
 * cipher suite the engine runs that exists in that version (AEAD and SHA-256/384 MAC suites are
 * TLS 1.2 only, RFC 5246 §1.2) completes a handshake and echoes 100 KiB byte for byte.
 *
 * GnuTLS runs the whole matrix: it is the one peer here with every suite, 3DES included, and it
 * echoes. `gnutls-serv` serves an RSA and an ECDSA certificate at once and picks by suite; its
 * echo mode treats data as C strings (a NUL byte ends it) and turns CRLF into LF unless --crlf, so
 * the payload has no NUL. JSSE cross-checks the RSA suites in every version: in TLS 1.0 CBC it
 * sends 1-byte records among the full ones (its 1/n-1 BEAST countermeasure), which GnuTLS does not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { RenegoSocket } from '../../src/adapter/tls-socket.ts';
import { ALL_SUITES, suiteAllowsVersion, suiteByName, type CipherSuiteInfo } from '../../src/crypto/suites.ts';
import { createTestPki, writePkiFiles, type PkiFiles } from '../../src/pki/throwaway.ts';
import { trustStoreFromPem, type TrustStore } from '../../src/pki/verify.ts';
import { ProtocolVersion } from '../../src/wire/enums.ts';
import { skipReason } from '../peers/binaries.ts';
import { startGnutlsServer, type GnutlsServer } from '../peers/gnutls-server.ts';
import { startJavaServer, type JavaServer } from '../peers/java-server.ts';
import { openConnection, sharedPeer } from '../peers/interop-client-support.ts';
import type { TlsPeer } from '../peers/peer-process.ts';

const WAIT_MS = 10_000;
const PAYLOAD_BYTES = 100 * 1024;
/** Debian's NORMAL has TLS 1.0/1.1 and DHE, but neither 3DES nor the CBC suites with SHA-256/384 MACs. */
const GNUTLS_ALL_SUITES = 'NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+3DES-CBC:+SHA256:+SHA384';

const VERSIONS = [
  ['TLS 1.0', ProtocolVersion.TLSv1],
  ['TLS 1.1', ProtocolVersion['TLSv1.1']],
  ['TLS 1.2', ProtocolVersion['TLSv1.2']],
] as const;

/** One suite of each RSA family JSSE runs, per version (the TLS 1.2-only ones are dropped below). */
const JSSE_SUITES = [
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES256-SHA',
  'DHE-RSA-AES128-GCM-SHA256',
  'AES128-SHA',
  'AES128-GCM-SHA256',
  'AES256-SHA256',
  'DES-CBC3-SHA',
];

let dir: string;
let rsaFiles: PkiFiles;
let ecdsaFiles: PkiFiles;
let trust: TrustStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'renego-interop-matrix-'));
  const [rsa, ecdsa] = await Promise.all([createTestPki({ keyType: 'rsa' }), createTestPki({ keyType: 'ecdsa' })]);
  rsaFiles = await writePkiFiles(join(dir, 'rsa'), rsa);
  ecdsaFiles = await writePkiFiles(join(dir, 'ecdsa'), ecdsa);
  trust = trustStoreFromPem(`${rsa.ca.certPem}\n${ecdsa.ca.certPem}`);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Connects offering only this suite at exactly this version; the socket is destroyed when the test ends. */
async function open(t: TestContext, peer: TlsPeer, suite: CipherSuiteInfo, version: number): Promise<RenegoSocket> {
  const { sock } = await openConnection(t, peer, trust, {
    cipherSuites: [suite],
    minVersion: version,
    maxVersion: version,
  });
  return sock;
}

function assertNegotiated(sock: RenegoSocket, suite: CipherSuiteInfo, version: number): void {
  const summary = sock.getHandshakeSummary();
  assert.equal(summary?.version, version);
  assert.equal(summary?.cipherSuite, suite.id);
  assert.equal(summary?.peerVerified, true);
  assert.equal(summary?.secureRenegotiation, true);
  const issuer = sock.getPeerCertificate().issuer ?? '';
  assert.match(issuer, suite.auth === 'ECDSA' ? /\(ecdsa\)/ : /\(rsa\)/);
}

/** Writes payload and resolves with the first payload.length bytes that come back (bounded). */
function echo(sock: RenegoSocket, payload: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).subarray(0, payload.length));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= payload.length) finish();
    };
    const onClose = (): void => finish(new Error(`connection closed after ${length} of ${payload.length} bytes`));
    const timer = setTimeout(
      () => finish(new Error(`${length} of ${payload.length} bytes echoed within ${WAIT_MS} ms`)),
      WAIT_MS,
    );
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(payload);
  });
}

/** 100 KiB of random bytes, none of them NUL. */
function binaryPayload(): Buffer {
  return Buffer.from(randomBytes(PAYLOAD_BYTES).map((byte) => (byte === 0 ? 1 : byte)));
}

/** A 100 KiB line of random printable ASCII (JSSE echoes lines, decoded as UTF-8). */
function linePayload(): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';
  const line = randomBytes(PAYLOAD_BYTES - 1).map((byte) => alphabet.charCodeAt(byte % alphabet.length));
  return Buffer.concat([Buffer.from(line), Buffer.from('\n')]);
}

function assertSameBytes(actual: Buffer, expected: Buffer): void {
  if (actual.equals(expected)) return;
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assert.fail(`echo differs from byte ${at} of ${expected.length}`);
}

describe('version × cipher suite matrix with GnuTLS', { skip: skipReason('gnutls-serv') }, () => {
  const server = sharedPeer(
    (): Promise<GnutlsServer> =>
      startGnutlsServer({
        cert: rsaFiles.serverCert,
        key: rsaFiles.serverKey,
        priority: GNUTLS_ALL_SUITES,
        args: ['--x509certfile', ecdsaFiles.serverCert, '--x509keyfile', ecdsaFiles.serverKey, '--crlf'],
      }),
    'the peer did not start',
  );

  for (const [versionName, version] of VERSIONS) {
    for (const suite of ALL_SUITES.filter((s) => suiteAllowsVersion(s, version))) {
      test(`${versionName} ${suite.opensslName} with GnuTLS`, async (t) => {
        const sock = await open(t, server(), suite, version);
        assertNegotiated(sock, suite, version);
        const payload = binaryPayload();
        assertSameBytes(await echo(sock, payload), payload);
      });
    }
  }
});

describe('version × cipher suite cross-check with JSSE', { skip: skipReason('java', 'javac') }, () => {
  const server = sharedPeer(
    (): Promise<JavaServer> =>
      startJavaServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey, legacyVersions: true }),
    'the peer did not start',
  );

  for (const [versionName, version] of VERSIONS) {
    for (const name of JSSE_SUITES) {
      const suite = suiteByName(name);
      if (suite !== undefined && !suiteAllowsVersion(suite, version)) continue;
      const skip = suite === undefined ? `${name} is not available in this Node build` : undefined;
      test(`${versionName} ${name} with JSSE`, { skip }, async (t) => {
        assert.ok(suite);
        const sock = await open(t, server(), suite, version);
        assertNegotiated(sock, suite, version);
        const payload = linePayload();
        assertSameBytes(await echo(sock, payload), payload);
      });
    }
  }
});
