/**
 * The guard between real TLS peers on 127.0.0.1: openssl s_client/s_server with the `R` command,
 * a node:tls server that renegotiates for a client certificate, gnutls-serv with and without
 * RFC 5746, TLS 1.3, resumption and a 100 MiB transfer. Every peer is stopped even on failure.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:https';
import type * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import * as tls from 'node:tls';
import type { PolicyMode } from '../../src/guard/policy.ts';
import { skipReason } from '../peers/binaries.ts';
import { startGnutlsServer, type GnutlsServer } from '../peers/gnutls-server.ts';
import { startNodeTlsServer } from '../peers/node-server.ts';
import { countRenegotiationAttempts, runOpensslClient } from '../peers/openssl-client.ts';
import { startOpensslServer, type OpensslServer } from '../peers/openssl-server.ts';
import { recordingRelay, sentBy } from '../peers/recording-relay.ts';
import { useTempPki } from '../peers/temp-pki.ts';
import { listenerConfig, startTestGuard, type TestGuard } from './support.ts';

const WAIT_MS = 10_000;

const env = useTempPki('renego-guard-test-', 'ecdsa');

async function waitUntil(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Runs body with a guard in front of upstreamPort, closing the guard whatever happens. */
async function withGuard<T>(upstreamPort: number, mode: PolicyMode, body: (g: TestGuard) => Promise<T>): Promise<T> {
  const g = await startTestGuard([listenerConfig(upstreamPort, mode)]);
  try {
    return await body(g);
  } finally {
    await g.close();
  }
}

function blockReasons(g: TestGuard): string[] {
  return g.recorded.events.flatMap(({ event }) => (event.type === 'blocked' ? [event.block.reason] : []));
}

function renegotiationEvents(g: TestGuard): string[] {
  return g.recorded.events.flatMap(({ event }) =>
    event.type === 'renegotiation' || event.type === 'renegotiation-complete'
      ? [`${event.type}:${event.initiator}`]
      : [],
  );
}

/** A node:tls client through the guard; resolves once the handshake is done. */
function tlsConnect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: env.pki.ca.certPem,
      ...options,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('TLS handshake through the guard timed out'));
    }, WAIT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe(
  'openssl s_client R through the guard to openssl s_server -client_renegotiation',
  { skip: skipReason('openssl') },
  () => {
    async function renegotiateThrough(
      mode: PolicyMode,
    ): Promise<{ server: OpensslServer; g: TestGuard; output: string }> {
      const server = await startOpensslServer({
        cert: env.files.serverCert,
        key: env.files.serverKey,
        args: ['-client_renegotiation', '-tls1_2'],
      });
      try {
        return await withGuard(server.port, mode, async (g) => {
          const client = await runOpensslClient({
            port: g.port,
            args: ['-tls1_2', '-CAfile', env.files.ca, '-servername', 'localhost'],
            stdin: 'hello\nR\nafter\n',
            timeoutMs: 15_000,
          });
          assert.ok(client.connected, client.output);
          assert.equal(countRenegotiationAttempts(client.output), 1);
          await g.recorded.waitClosed(1, WAIT_MS);
          return { server, g, output: client.output };
        });
      } finally {
        await server.stop();
      }
    }

    test('allow: the renegotiation reaches the server and completes', async () => {
      const { server, g } = await renegotiateThrough('allow');
      assert.equal(server.countClientHellos(), 2, server.output());
      assert.deepEqual(renegotiationEvents(g), ['renegotiation:client', 'renegotiation-complete:client']);
      assert.deepEqual(blockReasons(g), []);
    });

    for (const mode of ['deny', 'deny-client-initiated'] as const) {
      test(`${mode}: the connection is closed before the server receives the renegotiation ClientHello`, async () => {
        const { server, g, output } = await renegotiateThrough(mode);
        assert.equal(server.countClientHellos(), 1, server.output());
        assert.deepEqual(blockReasons(g), ['client-initiated-renegotiation-denied']);
        assert.equal(g.recorded.closed[0]?.summary.reason, 'blocked');
        // The data typed before R went through; the line after it never could.
        assert.match(server.output(), /hello/);
        assert.doesNotMatch(server.output(), /after/);
        assert.match(output, /RENEGOTIATING/);
      });
    }
  },
);

describe('a node:tls server that renegotiates for a client certificate (server-initiated)', () => {
  async function getProtected(mode: PolicyMode): Promise<{ body: string | Error; handshakes: number; g: TestGuard }> {
    const server = await startNodeTlsServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      ca: env.files.ca,
      renegotiatePath: '/secure',
    });
    try {
      return await withGuard(server.port, mode, async (g) => {
        const body = await new Promise<string | Error>((resolve) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: g.port,
              path: '/secure',
              servername: 'localhost',
              ca: env.pki.ca.certPem,
              cert: env.pki.client.certPem,
              key: env.pki.client.keyPem,
              maxVersion: 'TLSv1.2',
              agent: false,
              timeout: WAIT_MS,
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (text += c));
              res.on('end', () => resolve(text));
              res.on('error', resolve);
            },
          );
          req.on('timeout', () => req.destroy(new Error('request timed out')));
          req.on('error', resolve);
          req.end();
        });
        await g.recorded.waitClosed(1, WAIT_MS);
        return { body, handshakes: server.countHandshakes(), g };
      });
    } finally {
      await server.stop();
    }
  }

  test('deny-server-initiated: the HelloRequest is blocked and the request fails', async () => {
    const { body, handshakes, g } = await getProtected('deny-server-initiated');
    assert.ok(body instanceof Error, `expected a failed request, got ${String(body)}`);
    assert.equal(handshakes, 1);
    assert.deepEqual(blockReasons(g), ['server-initiated-renegotiation-denied']);
  });

  test('deny-client-initiated: the renegotiation passes and the client certificate arrives', async () => {
    const { body, handshakes, g } = await getProtected('deny-client-initiated');
    assert.equal(typeof body, 'string', String(body));
    assert.match(body as string, /client: renego test client/);
    assert.equal(handshakes, 2);
    assert.deepEqual(renegotiationEvents(g), ['renegotiation:server', 'renegotiation-complete:server']);
  });
});

describe('gnutls-serv behind the RFC 5746 policies', { skip: skipReason('gnutls-serv', 'openssl') }, () => {
  async function withGnutls<T>(priority: string, body: (s: GnutlsServer) => Promise<T>): Promise<T> {
    const server = await startGnutlsServer({ cert: env.files.serverCert, key: env.files.serverKey, priority });
    try {
      return await body(server);
    } finally {
      await server.stop();
    }
  }

  /** s_client to a legacy server needs both legacy switches of OpenSSL 3 to even try. */
  function clientArgs(legacy: boolean): string[] {
    const base = ['-tls1_2', '-CAfile', env.files.ca, '-servername', 'localhost'];
    return legacy ? [...base, '-legacy_server_connect', '-legacy_renegotiation'] : base;
  }

  test('%DISABLE_SAFE_RENEGOTIATION behind require-rfc5746: the connection is refused at the ServerHello', async () => {
    await withGnutls('NORMAL:%DISABLE_SAFE_RENEGOTIATION', (server) =>
      withGuard(server.port, 'require-rfc5746', async (g) => {
        const client = await runOpensslClient({ port: g.port, args: clientArgs(true), timeoutMs: 10_000 });
        assert.match(client.output, /no peer certificate available/, client.output);
        await g.recorded.waitClosed(1, WAIT_MS);
        assert.deepEqual(blockReasons(g), ['legacy-peer-rfc5746-required']);
        const serverHello = g.recorded.events.find(({ event }) => event.type === 'server-hello');
        assert.equal(serverHello?.event.type === 'server-hello' && serverHello.event.hello.rfc5746, false);
      }),
    );
  });

  test('%DISABLE_SAFE_RENEGOTIATION behind secure-only: the handshake passes, the renegotiation is refused', async () => {
    await withGnutls('NORMAL:%DISABLE_SAFE_RENEGOTIATION', (server) =>
      withGuard(server.port, 'secure-only', async (g) => {
        const client = await runOpensslClient({
          port: g.port,
          args: clientArgs(true),
          stdin: 'hello\nR\nafter\n',
          timeoutMs: 15_000,
        });
        assert.ok(client.connected, client.output);
        await g.recorded.waitClosed(1, WAIT_MS);
        assert.deepEqual(blockReasons(g), ['insecure-renegotiation-denied']);
        assert.equal(server.countRehandshakes(), 0, server.output());
      }),
    );
  });

  for (const mode of ['secure-only', 'require-rfc5746'] as const) {
    test(`default GnuTLS behind ${mode}: the renegotiation passes`, async () => {
      await withGnutls('NORMAL', (server) =>
        withGuard(server.port, mode, async (g) => {
          const client = await runOpensslClient({
            port: g.port,
            args: clientArgs(false),
            stdin: 'hello\nR\nafter\n',
            until: /after/,
            timeoutMs: 15_000,
          });
          assert.ok(client.connected, client.output);
          await waitUntil('gnutls-serv to see the renegotiation', () => server.countRehandshakes() === 1);
          await g.recorded.waitClosed(1, WAIT_MS);
          assert.deepEqual(blockReasons(g), []);
          assert.deepEqual(renegotiationEvents(g), ['renegotiation:client', 'renegotiation-complete:client']);
        }),
      );
    });
  }
});

/** A TLS echo server (node:tls), any version, for the pass-through tests. */
async function echoServer(options: tls.TlsOptions = {}): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: env.pki.server.chainPem, key: env.pki.server.keyPem, ...options }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  // Node keeps no server-side session cache: these events are one, for session ID resumption.
  const cache = new Map<string, Buffer>();
  server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    cache.set(id.toString('hex'), data);
    done();
  });
  server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
    done(null, cache.get(id.toString('hex')) ?? null);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function echoRoundTrip(socket: tls.TLSSocket, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => reject(new Error('echo timed out')), WAIT_MS);
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= payload.length) {
        clearTimeout(timer);
        resolve(Buffer.concat(parts));
      }
    });
    socket.write(payload);
  });
}

describe('what must pass untouched', () => {
  test('TLS 1.3 passes byte-exact under deny and require-rfc5746', async () => {
    const server = await echoServer({ minVersion: 'TLSv1.3' });
    const outer = await recordingRelay(server.port);
    try {
      for (const mode of ['deny', 'require-rfc5746'] as const) {
        outer.steps.length = 0;
        await withGuard(outer.port, mode, async (g) => {
          const inner = await recordingRelay(g.port);
          try {
            const socket = await tlsConnect(inner.port);
            assert.equal(socket.getProtocol(), 'TLSv1.3');
            const payload = Buffer.alloc(200_000, 7);
            assert.deepEqual(await echoRoundTrip(socket, payload), payload);
            socket.end();
            await g.recorded.waitClosed(1, WAIT_MS);
            assert.deepEqual(sentBy(inner.steps, 'client'), sentBy(outer.steps, 'client'));
            assert.deepEqual(sentBy(inner.steps, 'server'), sentBy(outer.steps, 'server'));
            assert.deepEqual(blockReasons(g), []);
            assert.ok(g.recorded.events.some(({ event }) => event.type === 'pass-through' && event.why === 'tls13'));
          } finally {
            await inner.stop();
          }
        });
      }
    } finally {
      await outer.stop();
      await server.stop();
    }
  });

  test('resumed TLS 1.2 sessions (ticket and session ID) pass under deny', async () => {
    const server = await echoServer({ maxVersion: 'TLSv1.2' });
    try {
      await withGuard(server.port, 'deny', async (g) => {
        for (const tickets of [true, false]) {
          const first = await tlsConnect(g.port, {
            maxVersion: 'TLSv1.2',
            ...(tickets ? {} : { secureOptions: 0x4000 /* SSL_OP_NO_TICKET */ }),
          });
          const session = await new Promise<Buffer>((resolve) => {
            const s = first.getSession();
            if (s) resolve(s);
            else first.once('session', resolve);
          });
          assert.deepEqual(await echoRoundTrip(first, Buffer.from('one')), Buffer.from('one'));
          first.end();
          const second = await tlsConnect(g.port, { maxVersion: 'TLSv1.2', session });
          assert.ok(second.isSessionReused(), `resumed (${tickets ? 'ticket' : 'session ID'})`);
          assert.deepEqual(await echoRoundTrip(second, Buffer.from('two')), Buffer.from('two'));
          second.end();
        }
        await g.recorded.waitClosed(4, WAIT_MS);
        assert.deepEqual(blockReasons(g), []);
        assert.equal(g.recorded.events.filter(({ event }) => event.type === 'handshake-complete').length, 4);
      });
    } finally {
      await server.stop();
    }
  });

  test('100 MiB down and 16 MiB up over TLS 1.2 pass intact under deny', async () => {
    const DOWN = 100 * 2 ** 20;
    const UP = 16 * 2 ** 20;
    const block = Buffer.alloc(2 ** 16);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
    const expected = createHash('sha256');
    for (let n = 0; n < DOWN; n += block.length) expected.update(block);
    const sockets = new Set<net.Socket>();
    let uploaded = 0;
    const server = tls.createServer(
      { cert: env.pki.server.chainPem, key: env.pki.server.keyPem, maxVersion: 'TLSv1.2' },
      (s) => {
        s.on('error', () => undefined);
        s.on('data', (d: Buffer) => (uploaded += d.length));
        let sent = 0;
        const pump = (): void => {
          while (sent < DOWN) {
            sent += block.length;
            if (!s.write(block)) return void s.once('drain', pump);
          }
          s.end();
        };
        pump();
      },
    );
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await withGuard((server.address() as net.AddressInfo).port, 'deny', async (g) => {
        const socket = await tlsConnect(g.port, { maxVersion: 'TLSv1.2' });
        const got = createHash('sha256');
        let received = 0;
        const done = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${received} bytes in 60 s`)), 60_000);
          socket.on('data', (d: Buffer) => {
            got.update(d);
            received += d.length;
          });
          socket.on('end', () => {
            clearTimeout(timer);
            resolve();
          });
          socket.on('error', reject);
        });
        socket.write(Buffer.alloc(UP, 1));
        await done;
        assert.equal(received, DOWN);
        assert.equal(got.digest('hex'), expected.digest('hex'));
        await waitUntil('the upload to arrive', () => uploaded === UP);
        socket.destroy();
        await g.recorded.waitClosed(1, WAIT_MS);
        assert.deepEqual(blockReasons(g), []);
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
