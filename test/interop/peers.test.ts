/**
 * Smoke tests of the real-peer helpers in test/peers/ and of the throwaway PKI: each peer starts,
 * takes a TLS connection, shows renegotiation in its output the way its helper documents, and
 * leaves no process behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { createTestPki, writePkiFiles, type PkiFiles, type TestPki } from '../../src/pki/throwaway.ts';
import { skipReason, which } from '../peers/binaries.ts';
import { startGnutlsServer } from '../peers/gnutls-server.ts';
import { startJavaServer } from '../peers/java-server.ts';
import { startNodeTlsServer } from '../peers/node-server.ts';
import { countRenegotiationAttempts, runOpensslClient } from '../peers/openssl-client.ts';
import { countClientHellos, startOpensslServer } from '../peers/openssl-server.ts';
import { processGroupAlive, type TlsPeer } from '../peers/peer-process.ts';
import { openLineClient, type LineClient } from '../peers/node-tls-client.ts';
import { freePort } from '../peers/ports.ts';

const execFileAsync = promisify(execFile);
const WAIT_MS = 10_000;

let dir: string;
let rsa: TestPki;
let rsaFiles: PkiFiles;
let ecdsaFiles: PkiFiles;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'renego-peers-test-'));
  rsa = await createTestPki({ keyType: 'rsa' });
  rsaFiles = await writePkiFiles(join(dir, 'rsa'), rsa);
  ecdsaFiles = await writePkiFiles(join(dir, 'ecdsa'), await createTestPki({ keyType: 'ecdsa' }));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A node:tls client trusting the RSA CA (options override), for line-based echo peers. */
function openTlsClient(peer: TlsPeer, options: ConnectionOptions = {}): Promise<LineClient> {
  return openLineClient(peer, { ca: rsa.ca.certPem, ...options }, WAIT_MS).catch((error: Error) => {
    throw new Error(`${error.message}\n${peer.output()}`);
  });
}

function httpsGet(peer: TlsPeer, path: string, options: ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: peer.host, port: peer.port, path, ca: rsa.ca.certPem, agent: false, timeout: WAIT_MS, ...options },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path} within ${WAIT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function assertStoppedCleanly(peer: TlsPeer & { readonly pid: number }): Promise<void> {
  await peer.stop();
  assert.equal(processGroupAlive(peer.pid), false, `process group ${peer.pid} still alive after stop()`);
  await peer.stop();
}

describe('throwaway PKI', () => {
  test('writes PKCS#8 keys and PEM certificates', async () => {
    const key = await readFile(rsaFiles.serverKey, 'utf8');
    assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(await readFile(ecdsaFiles.clientKey, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(await readFile(rsaFiles.ca, 'utf8'), /^-----BEGIN CERTIFICATE-----\n/);
  });

  test('certificates pass openssl verify for their purpose', { skip: skipReason('openssl') }, async () => {
    for (const files of [rsaFiles, ecdsaFiles]) {
      const server = await execFileAsync('openssl', [
        'verify',
        '-CAfile',
        files.ca,
        '-purpose',
        'sslserver',
        '-x509_strict',
        files.serverCert,
      ]);
      assert.match(server.stdout, /: OK$/m);
      const client = await execFileAsync('openssl', [
        'verify',
        '-CAfile',
        files.ca,
        '-purpose',
        'sslclient',
        '-x509_strict',
        files.clientCert,
      ]);
      assert.match(client.stdout, /: OK$/m);
    }
  });

  test('node:tls accepts the server certificate for 127.0.0.1 and localhost', async (t) => {
    const server = await startNodeTlsServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    t.after(() => server.stop());
    assert.match(await httpsGet(server, '/'), /^handshakes: 1$/m);
    assert.match(await httpsGet(server, '/', { servername: 'localhost' }), /^handshakes: 1$/m);
  });

  test('node:tls accepts the server certificate for ::1', async (t) => {
    const ipv6 = await freePort('::1').then(
      () => true,
      () => false,
    );
    if (!ipv6) {
      t.skip('no IPv6 loopback');
      return;
    }
    const server = await startNodeTlsServer({ cert: ecdsaFiles.serverCert, key: ecdsaFiles.serverKey, host: '::1' });
    t.after(() => server.stop());
    assert.match(await httpsGet(server, '/', { ca: await readFile(ecdsaFiles.ca, 'utf8') }), /^handshakes: 1$/m);
  });
});

describe('ports and binaries', () => {
  test('freePort returns an unprivileged port that a listener then holds, and a taken port is refused', async (t) => {
    const port = await freePort();
    assert.ok(Number.isInteger(port) && port >= 1024 && port <= 65535, `port ${port}`);
    const server = createServer();
    t.after(() => new Promise((resolve) => server.close(resolve)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
    });
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    assert.equal(address.port, port);
    // The port is now taken: a second exclusive listener on it fails, so the first one really holds it.
    const second = createServer();
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        second.once('error', reject);
        second.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
      }),
      /EADDRINUSE/,
    );
    assert.notEqual(await freePort(), port, 'freePort does not hand out a port that is in use');
  });

  test('skipReason names the Debian package of a missing program', () => {
    assert.equal(skipReason('node'), undefined);
    assert.equal(typeof which('node'), 'string');
    assert.equal(skipReason('renego-no-such-program'), 'renego-no-such-program not installed');
  });
});

describe('openssl s_server', { skip: skipReason('openssl') }, () => {
  test('echoes over TLS 1.2 and stops with its process group', async (t) => {
    const server = await startOpensslServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    t.after(() => server.stop());
    const client = await openTlsClient(server, { maxVersion: 'TLSv1.2' });
    t.after(() => client.close());
    client.send('hello from node');
    await server.waitForOutput(/^hello from node$/m, WAIT_MS);
    assert.equal(server.countClientHellos(), 1);
    client.close();
    await assertStoppedCleanly(server);
  });

  test('reports the output of a server that fails to start', async () => {
    await assert.rejects(
      startOpensslServer({ cert: rsaFiles.serverCert, key: join(dir, 'missing.key'), readyTimeoutMs: WAIT_MS }),
      /openssl s_server did not become ready[\s\S]*missing\.key/,
    );
  });

  test('refuses client-initiated renegotiation by default (OpenSSL 3)', async (t) => {
    const server = await startOpensslServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    t.after(() => server.stop());
    const result = await runOpensslClient({
      port: server.port,
      args: ['-tls1_2', '-CAfile', rsaFiles.ca],
      stdin: 'hello\nR\n',
      until: /no renegotiation|alert/,
      timeoutMs: WAIT_MS,
    });
    assert.ok(result.connected, result.output);
    assert.equal(countRenegotiationAttempts(result.output), 1);
    await server.waitForOutput(/warning no_renegotiation/, WAIT_MS);
    assert.equal(server.countClientHellos(), 2);
  });

  test('accepts client-initiated renegotiation with -client_renegotiation', async (t) => {
    const server = await startOpensslServer({
      cert: rsaFiles.serverCert,
      key: rsaFiles.serverKey,
      args: ['-client_renegotiation'],
    });
    t.after(() => server.stop());
    const result = await runOpensslClient({
      port: server.port,
      args: ['-tls1_2', '-CAfile', rsaFiles.ca],
      stdin: 'before\nR\nafter\n',
      timeoutMs: WAIT_MS,
    });
    assert.ok(result.connected, result.output);
    assert.equal(result.timedOut, false);
    await server.waitForOutput(/^after$/m, WAIT_MS);
    assert.equal(server.countClientHellos(), 2);
    assert.doesNotMatch(server.output(), /no_renegotiation/);
  });

  test('renegotiates from the server side on the r command', async (t) => {
    const server = await startOpensslServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    t.after(() => server.stop());
    const client = await openTlsClient(server, { maxVersion: 'TLSv1.2' });
    t.after(() => client.close());
    client.send('first');
    await server.waitForOutput(/^first$/m, WAIT_MS);
    server.command('r');
    await server.waitForOutput(/HelloRequest[\s\S]*<<< [^\n]*ClientHello/, WAIT_MS);
    client.send('second');
    await server.waitForOutput(/^second$/m, WAIT_MS);
    assert.equal(countClientHellos(server.output()), 2);
  });

  test('speaks TLS 1.0 with legacyVersions', async (t) => {
    const server = await startOpensslServer({
      cert: rsaFiles.serverCert,
      key: rsaFiles.serverKey,
      legacyVersions: true,
    });
    t.after(() => server.stop());
    const client = await openTlsClient(server, {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    t.after(() => client.close());
    assert.equal(client.socket.getProtocol(), 'TLSv1');
  });

  test('serves a status page with -www', async (t) => {
    const server = await startOpensslServer({ cert: ecdsaFiles.serverCert, key: ecdsaFiles.serverKey, www: true });
    t.after(() => server.stop());
    const body = await httpsGet(server, '/', { ca: await readFile(ecdsaFiles.ca, 'utf8') });
    assert.match(body, /Ciphers supported in s_server binary/);
  });
});

describe('gnutls-serv', { skip: skipReason('gnutls-serv') }, () => {
  test('echoes over TLS and stops with its process group', async (t) => {
    const server = await startGnutlsServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    t.after(() => server.stop());
    const client = await openTlsClient(server);
    t.after(() => client.close());
    client.send('hello gnutls');
    await client.waitFor(/^hello gnutls$/m);
    assert.equal(server.countConnections(), 1);
    client.close();
    await assertStoppedCleanly(server);
  });

  test(
    'shows a client-initiated renegotiation as "Received hello message"',
    { skip: skipReason('openssl') },
    async (t) => {
      const server = await startGnutlsServer({ cert: ecdsaFiles.serverCert, key: ecdsaFiles.serverKey });
      t.after(() => server.stop());
      const result = await runOpensslClient({
        port: server.port,
        args: ['-tls1_2', '-CAfile', ecdsaFiles.ca],
        stdin: 'hello\nR\nafter\n',
        until: /^after$/m,
        timeoutMs: WAIT_MS,
      });
      assert.ok(result.connected, result.output);
      assert.equal(server.countRehandshakes(), 1);
      assert.doesNotMatch(server.output(), /Error in rehandshake/);
    },
  );

  test('answers HTTP with --http', async (t) => {
    const server = await startGnutlsServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey, http: true });
    t.after(() => server.stop());
    assert.match(await httpsGet(server, '/'), /GnuTLS/i);
  });
});

describe('JSSE server', { skip: skipReason('java', 'javac') }, () => {
  test('echoes, renegotiates from the server side for a client certificate, and stops', async (t) => {
    const server = await startJavaServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey, ca: rsaFiles.ca });
    t.after(() => server.stop());
    const client = await openTlsClient(server, {
      maxVersion: 'TLSv1.2',
      cert: rsa.client.certPem,
      key: rsa.client.keyPem,
    });
    t.after(() => client.close());
    client.send('hello java');
    await client.waitFor(/^hello java$/m);
    client.send('whoami');
    await client.waitFor(/^PEER none$/m);
    client.send('renegotiate');
    await client.waitFor(/^RENEGOTIATE started$/m);
    client.send('whoami');
    await client.waitFor(/^PEER CN=renego test client$/m);
    assert.equal(server.countHandshakes(1), 2);
    client.close();
    await assertStoppedCleanly(server);
  });

  test('loads an ECDSA key and speaks TLS 1.0 with legacyVersions', async (t) => {
    const server = await startJavaServer({
      cert: ecdsaFiles.serverCert,
      key: ecdsaFiles.serverKey,
      legacyVersions: true,
    });
    t.after(() => server.stop());
    const client = await openTlsClient(server, {
      ca: await readFile(ecdsaFiles.ca, 'utf8'),
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    t.after(() => client.close());
    assert.equal(client.socket.getProtocol(), 'TLSv1');
    await server.waitForOutput(/^HANDSHAKE conn=1 n=1 protocol=TLSv1 /m, WAIT_MS);
  });

  test('rejects client-initiated renegotiation when told to', { skip: skipReason('openssl') }, async (t) => {
    const server = await startJavaServer({
      cert: rsaFiles.serverCert,
      key: rsaFiles.serverKey,
      rejectClientInitiatedRenegotiation: true,
    });
    t.after(() => server.stop());
    const result = await runOpensslClient({
      port: server.port,
      args: ['-tls1_2', '-CAfile', rsaFiles.ca],
      stdin: 'hello\nR\n',
      until: /alert handshake failure/,
      timeoutMs: WAIT_MS,
    });
    assert.ok(result.connected, result.output);
    await server.waitForOutput(/Client initiated renegotiation is not allowed/, WAIT_MS);
    assert.equal(server.countHandshakes(), 1);
  });
});

describe('node https server', () => {
  test('renegotiates for a client certificate on the renegotiate path', async (t) => {
    const server = await startNodeTlsServer({
      cert: rsaFiles.serverCert,
      key: rsaFiles.serverKey,
      ca: rsaFiles.ca,
      renegotiatePath: '/renegotiate',
    });
    t.after(() => server.stop());
    const plain = await httpsGet(server, '/');
    assert.match(plain, /^client: none$/m);
    const body = await httpsGet(server, '/renegotiate', { cert: rsa.client.certPem, key: rsa.client.keyPem });
    assert.match(body, /^client: renego test client$/m);
    assert.match(body, /^handshakes: 2$/m);
    assert.match(body, /^authorized: true$/m);
  });

  test('accepts client-initiated renegotiation by default (Node 20)', { skip: skipReason('openssl') }, async (t) => {
    const server = await startNodeTlsServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    t.after(() => server.stop());
    const result = await runOpensslClient({
      port: server.port,
      args: ['-CAfile', rsaFiles.ca],
      stdin: 'R\nafter\n',
      timeoutMs: WAIT_MS,
    });
    assert.ok(result.connected, result.output);
    await server.waitForOutput(/^handshake n=2 /m, WAIT_MS);
    assert.equal(server.countHandshakes(), 2);
  });

  test('stop() closes open connections', async () => {
    const server = await startNodeTlsServer({ cert: rsaFiles.serverCert, key: rsaFiles.serverKey });
    const client = await openTlsClient(server);
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    await server.stop();
    await closed;
    await assert.rejects(openTlsClient(server), /ECONNREFUSED/);
  });
});
