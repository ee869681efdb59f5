/**
 * node:tls clients against `renego server`: a TLSSocket in echo mode, including Node's own
 * client-side TLSSocket.renegotiate(), and `https.get` against --www, with a client
 * certificate obtained by the server's renegotiation on a protected path.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { describe, test } from 'node:test';
import type * as tls from 'node:tls';
import { withRenegoServer } from '../peers/interop-server-support.ts';
import { openLineClient, type LineClient } from '../peers/node-tls-client.ts';
import type { RenegoServerPeer } from '../peers/renego-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;

let ca: string;
let clientCert: string;
let clientKey: string;
const env = useTempPki('renego-interop-node-', 'rsa', async ({ files }) => {
  ca = await readFile(files.ca, 'utf8');
  clientCert = await readFile(files.clientCert, 'utf8');
  clientKey = await readFile(files.clientKey, 'utf8');
});

function tlsConnect(server: RenegoServerPeer, options: tls.ConnectionOptions = {}): Promise<LineClient> {
  return openLineClient({ host: '127.0.0.1', port: server.port }, { servername: 'localhost', ca, ...options }, WAIT_MS);
}

function renegotiate(
  socket: tls.TLSSocket,
  options: { rejectUnauthorized?: boolean; requestCert?: boolean } = {},
): Promise<Error | null> {
  return new Promise((resolve) => {
    // A failed renegotiation reaches node:tls as a socket 'error', not through the callback.
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      socket.off('error', finish);
      resolve(err);
    };
    const timer = setTimeout(() => finish(new Error('renegotiation timed out')), WAIT_MS);
    socket.on('error', finish);
    const ok = socket.renegotiate(options, (err) => finish(err ?? null));
    if (!ok) finish(new Error('renegotiate() returned false'));
  });
}

function get(
  server: RenegoServerPeer,
  path: string,
  options: RequestOptions = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: server.port,
        path,
        ca,
        agent: false,
        timeout: WAIT_MS,
        ...options,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('node:tls', () => {
  test('connects with TLS 1.2, RFC 5746 and the chain verified, and data is echoed', async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default' }, async (server) => {
      const c = await tlsConnect(server);
      try {
        assert.equal(c.socket.getProtocol(), 'TLSv1.2');
        assert.equal(c.socket.authorized, true);
        assert.equal(c.socket.getCipher().name, 'ECDHE-RSA-AES128-GCM-SHA256');
        c.socket.write('hello node\n');
        await c.waitFor(/^hello node$/m);
      } finally {
        c.socket.destroy();
      }
    });
  });

  test("node's client-side renegotiate() completes against rfc5746", async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      const c = await tlsConnect(server);
      try {
        assert.equal(await renegotiate(c.socket), null);
        c.socket.write('after\n');
        await c.waitFor(/^after$/m);
        await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=true/m, WAIT_MS);
      } finally {
        c.socket.destroy();
      }
    });
  });

  test("node's client-side renegotiate() is refused by openssl3-default", async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default' }, async (server) => {
      const c = await tlsConnect(server);
      try {
        const err = await renegotiate(c.socket);
        assert.ok(err, 'renegotiation failed');
        assert.match(String(err), /no renegotiation|NO_RENEGOTIATION|handshake failure/i);
        await server.waitForOutput(/^renegotiation-refused .*client-initiated renegotiation is not allowed/m, WAIT_MS);
      } finally {
        c.socket.destroy();
      }
    });
  });

  test('is refused at the handshake by a server without RFC 5746 (Node clients are OpenSSL 3 clients)', async () => {
    await withRenegoServer(env.files, { preset: 'iis-default' }, async (server) => {
      await assert.rejects(tlsConnect(server), /unsafe legacy renegotiation disabled/i);
      await server.waitForOutput(/^error .*fatal alert handshake_failure/m, WAIT_MS);
    });
  });
});

describe('https.get against --www', () => {
  test('names the request, no renegotiation and no client certificate', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true }, async (server) => {
      const r = await get(server, '/index.html?x=1');
      assert.equal(r.status, 200);
      assert.match(r.body, /^GET \/index\.html\?x=1 HTTP\/1\.1$/m);
      assert.match(r.body, /^renegotiations: 0$/m);
      assert.match(r.body, /^client certificate: none$/m);
    });
  });

  test('gets the protected path after the server renegotiates for its client certificate', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const r = await get(server, '/secure/report', { cert: clientCert, key: clientKey });
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /^renegotiations: 1$/m);
      assert.match(r.body, /^client certificate: CN=renego test client$/m);
      await server.waitForOutput(/^renegotiation .*clientCertificate=CN=renego test client/m, WAIT_MS);
    });
  });

  test('gets 403 on the protected path without a certificate', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const r = await get(server, '/secure/report');
      assert.equal(r.status, 403);
      assert.match(r.body, /client certificate: none \(required for \/secure\)/);
    });
  });

  test('sends its certificate at the initial handshake when the server asks then (clientCertificate initial)', async () => {
    await withRenegoServer(
      env.files,
      { preset: 'rfc5746', clientCert: 'initial', www: true, protectedPath: '/secure' },
      async (server) => {
        const r = await get(server, '/secure/x', { cert: clientCert, key: clientKey });
        assert.equal(r.status, 200);
        assert.match(r.body, /^renegotiations: 0$/m);
        assert.match(r.body, /^client certificate: CN=renego test client$/m);
      },
    );
  });

  test('keep-alive: several requests on one connection, the protected one renegotiating once', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const { Agent } = await import('node:https');
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, cert: clientCert, key: clientKey });
      try {
        const a = await get(server, '/open', { agent });
        const b = await get(server, '/secure/1', { agent });
        const c = await get(server, '/secure/2', { agent });
        assert.match(a.body, /^renegotiations: 0$/m);
        assert.match(b.body, /^renegotiations: 1$/m);
        assert.match(c.body, /^renegotiations: 1$/m, 'the certificate is kept: no second renegotiation');
        assert.equal(server.count(/^handshake /m), 1, 'one connection');
      } finally {
        agent.destroy();
      }
    });
  });
});
