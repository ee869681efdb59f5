/**
 * The guard as an operated proxy: enforcement on the wire with scripted TLS byte streams, hostile
 * and broken clients (no crash, no leaked descriptor), PROXY protocol, limits and timeouts,
 * metrics and logs, configuration errors, and the `renego guard` command with SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tls from 'node:tls';
import { concat } from '../../src/wire/codec.ts';
import { ContentType } from '../../src/wire/enums.ts';
import { lookup } from 'node:dns/promises';
import { buildGuardConfig, GuardConfigError } from '../../src/guard/config.ts';
import { LINGER_MS } from '../../src/guard/connection.ts';
import { startGuard } from '../../src/guard/start.ts';
import { proxyV1Header, proxyV2Header } from '../../src/guard/proxy-protocol.ts';
import { RenegotiationRateLimiter } from '../../src/handshake/rate-limit.ts';
import { createTestPki, type TestPki } from '../../src/pki/throwaway.ts';
import {
  appData,
  clientFinishFlight,
  clientHello,
  listenerConfig,
  LogLines,
  sealed,
  serverFinishFlight,
  serverFlight,
  startTestGuard,
  type TestGuard,
} from './support.ts';
import { freePort } from '../peers/ports.ts';
import { createNetnsPair, netnsSkipReason } from '../peers/netns.ts';
import { spawnPeer, startProcess } from '../peers/peer-process.ts';

const WAIT_MS = 10_000;
/** `node -e` a listener on 127.0.0.1:argv[1] whose event loop blocks once it listens, so it never accepts. */
const NEVER_ACCEPTS =
  "const s = require('net').createServer(); s.listen({ port: Number(process.argv[1]), host: '127.0.0.1', backlog: 1 }, " +
  "() => { console.log('listening'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); });";
const SHORT = { handshakeMs: 500, idleMs: 1_000, connectMs: 1_000 };

let pki: TestPki;
before(async () => {
  pki = await createTestPki({ keyType: 'ecdsa' });
});

async function waitUntil(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A raw TCP upstream that records what it receives and lets the test write back. */
interface RawUpstream {
  readonly port: number;
  readonly received: Buffer[];
  readonly sockets: net.Socket[];
  readonly closed: () => number;
  bytes(): Buffer;
  stop(): Promise<void>;
}

async function rawUpstream(host = '127.0.0.1'): Promise<RawUpstream> {
  const received: Buffer[] = [];
  const sockets: net.Socket[] = [];
  let closed = 0;
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => received.push(d));
    s.once('close', () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    sockets,
    closed: () => closed,
    bytes: () => Buffer.concat(received),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function connectRaw(
  port: number,
  host = '127.0.0.1',
  allowHalfOpen = false,
): Promise<net.Socket & { got: Buffer[]; isClosed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, allowHalfOpen }) as net.Socket & { got: Buffer[]; isClosed: () => boolean };
    s.got = [];
    let closed = false;
    s.isClosed = () => closed;
    s.on('data', (d: Buffer) => s.got.push(d));
    s.on('error', () => undefined);
    s.once('close', () => (closed = true));
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function withGuard<T>(g: Promise<TestGuard>, body: (g: TestGuard) => Promise<T>): Promise<T> {
  const guard = await g;
  try {
    return await body(guard);
  } finally {
    await guard.close();
  }
}

/** Drives a scripted TLS 1.2 handshake through the guard to a raw upstream. */
async function scriptedSession(
  port: number,
  upstream: RawUpstream,
  allowHalfOpen = false,
): Promise<net.Socket & { got: Buffer[]; isClosed: () => boolean }> {
  const client = await connectRaw(port, '127.0.0.1', allowHalfOpen);
  const expectUp = async (bytes: Uint8Array[]): Promise<void> => {
    const want = concat(...bytes).length;
    await waitUntil(`${want} bytes at the upstream`, () => upstream.bytes().length >= want);
  };
  const sent: Uint8Array[] = [];
  const send = async (b: Uint8Array): Promise<void> => {
    sent.push(b);
    client.write(b);
    await expectUp(sent);
  };
  await send(clientHello());
  await waitUntil('the upstream connection', () => upstream.sockets.length === 1);
  upstream.sockets[0]!.write(serverFlight());
  await send(clientFinishFlight());
  upstream.sockets[0]!.write(serverFinishFlight());
  await send(appData(100));
  await waitUntil('the server flights at the client', () => Buffer.concat(client.got).length > 0);
  return client;
}

describe('enforcement on the wire', () => {
  test('deny: the renegotiation record never reaches the upstream and both sides are closed', async () => {
    const upstream = await rawUpstream();
    try {
      await withGuard(startTestGuard([listenerConfig(upstream.port, 'deny')]), async (g) => {
        const client = await scriptedSession(g.port, upstream);
        const before = upstream.bytes().length;
        const lastData = appData(50);
        // Application data and the renegotiation ClientHello in one segment.
        client.write(concat(lastData, sealed(ContentType.handshake, 250)));
        await waitUntil('both sides closed', () => client.isClosed() && upstream.closed() === 1);
        assert.equal(upstream.bytes().length, before + lastData.length);
        assert.deepEqual(upstream.bytes().subarray(before), Buffer.from(lastData));
        await g.recorded.waitClosed(1, WAIT_MS);
        assert.equal(g.recorded.closed[0]!.summary.block?.reason, 'client-initiated-renegotiation-denied');
      });
    } finally {
      await upstream.stop();
    }
  });

  test('a HelloRequest is held back from the client under deny-server-initiated', async () => {
    const upstream = await rawUpstream();
    try {
      await withGuard(startTestGuard([listenerConfig(upstream.port, 'deny-server-initiated')]), async (g) => {
        const client = await scriptedSession(g.port, upstream);
        const received = Buffer.concat(client.got).length;
        upstream.sockets[0]!.write(concat(appData(30), sealed(ContentType.handshake, 40)));
        await waitUntil('both sides closed', () => client.isClosed() && upstream.closed() === 1);
        assert.equal(Buffer.concat(client.got).length, received + 35);
      });
    } finally {
      await upstream.stop();
    }
  });

  test('per-client rate limit: renegotiations over several connections from one address are counted together', async () => {
    const upstream = await rawUpstream();
    try {
      const config = listenerConfig(upstream.port, 'allow', {}, { perClientLimit: { count: 2, windowMs: 60_000 } });
      await withGuard(startTestGuard([config]), async (g) => {
        const outcomes: boolean[] = [];
        for (let i = 0; i < 3; i++) {
          upstream.received.length = 0;
          upstream.sockets.length = 0;
          const client = await scriptedSession(g.port, upstream);
          client.write(sealed(ContentType.handshake, 250));
          await sleep(150);
          outcomes.push(client.isClosed());
          client.destroy();
        }
        assert.deepEqual(outcomes, [false, false, true]);
        await g.recorded.waitClosed(3, WAIT_MS);
        assert.ok(g.recorded.closed.some((c) => c.summary.block?.reason === 'rate-limit'));
      });
    } finally {
      await upstream.stop();
    }
  });

  test('the rate limiter forgets renegotiations older than the window and bounds the addresses it tracks', () => {
    let now = 0;
    const limiter = new RenegotiationRateLimiter({ count: 2, windowMs: 1000 }, 3, () => now);
    assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [true, true, false]);
    now = 1000;
    assert.equal(limiter.take('a'), true);
    for (const addr of ['b', 'c', 'd', 'e']) limiter.take(addr);
    assert.ok(limiter.trackedAddresses <= 3);
  });

  test('backpressure: a client that does not read stops the upstream instead of filling memory', async () => {
    const upstream = await rawUpstream();
    try {
      let fromServer = 0;
      const g = await startTestGuard([listenerConfig(upstream.port, 'deny')]);
      try {
        const client = await scriptedSession(g.port, upstream);
        client.pause();
        const record = appData(16_000);
        const server = upstream.sockets[0]!;
        let offered = 0;
        // Offer 64 MiB as fast as the socket takes it.
        const pump = (): void => {
          while (offered < 64 * 2 ** 20) {
            offered += record.length;
            if (!server.write(record)) return void server.once('drain', pump);
          }
        };
        pump();
        await sleep(1000);
        fromServer = g.guard.metrics.bytesFrom('test', 'server');
        assert.ok(
          fromServer < 40 * 2 ** 20,
          `the guard read ${fromServer} bytes from a server whose client reads nothing`,
        );
        client.destroy();
      } finally {
        await g.close();
      }
    } finally {
      await upstream.stop();
    }
  });
});

/** A node:tls server for the hostile-client tests. */
async function tlsUpstream(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: pki.server.chainPem, key: pki.server.keyPem }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.on('tlsClientError', () => undefined);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
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

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** One hostile or broken client; resolves once its socket is closed (by it or by the guard). */
async function misbehave(port: number, kind: number): Promise<void> {
  const s = await connectRaw(port);
  const hello = clientHello();
  switch (kind % 7) {
    case 0: // garbage, then close
      s.end(randomBytes(1 + (kind % 2000)));
      break;
    case 1: // garbage, then wait to be closed
      s.write(randomBytes(64));
      break;
    case 2: // a truncated ClientHello, then close
      s.end(hello.subarray(0, 1 + (kind % (hello.length - 1))));
      break;
    case 3: // a truncated ClientHello, then half-close and keep reading
      s.write(hello.subarray(0, 20));
      s.end();
      break;
    case 4: // connect and say nothing (handshake timeout)
      break;
    case 5: // a whole ClientHello, then reset
      s.write(hello);
      await sleep(5);
      s.resetAndDestroy();
      break;
    case 6: // a truncated record header after a whole ClientHello, then half-close
      s.write(concat(hello, Uint8Array.of(22, 3)));
      s.end();
      break;
  }
  await waitUntil(`misbehaving client ${kind} to be closed`, () => s.isClosed(), WAIT_MS);
  s.destroy();
}

describe('hostile and broken clients', () => {
  test('garbage, truncated records and half-open connections: no crash, no leaked descriptor', async () => {
    const upstream = await tlsUpstream();
    try {
      const config = listenerConfig(upstream.port, 'deny', { timeouts: SHORT });
      await withGuard(startTestGuard([config]), async (g) => {
        const burst = async (from: number): Promise<void> => {
          await Promise.all(Array.from({ length: 140 }, (_, i) => misbehave(g.port, from + i)));
          await waitUntil('the guard to close every connection', () => g.guard.activeConnections() === 0);
        };
        await burst(0);
        await sleep(200);
        const baseline = openFds();
        await burst(1000);
        await sleep(200);
        assert.equal(openFds(), baseline, 'open descriptors after a second burst');
        // And the guard still serves.
        const ok = await new Promise<boolean>((resolve) => {
          const s = tls.connect(
            { host: '127.0.0.1', port: g.port, servername: 'localhost', ca: pki.ca.certPem },
            () => {
              s.end();
              resolve(true);
            },
          );
          s.on('error', () => resolve(false));
        });
        assert.ok(ok);
        const reasons = new Set(g.recorded.closed.map((c) => c.summary.reason));
        assert.ok(reasons.has('blocked') && reasons.has('handshake-timeout'), [...reasons].join());
      });
    } finally {
      await upstream.stop();
    }
  });

  test('an unreachable upstream closes the client with a reason, logged at warn (seen at --log-level warn)', async () => {
    // Port 1 (tcpmux): nothing here listens there, and unlike a port that freePort found free it
    // cannot be taken meanwhile by a test running beside this one.
    const port = 1;
    await withGuard(startTestGuard([listenerConfig(port, 'deny')], true), async (g) => {
      const s = await connectRaw(g.port);
      await waitUntil('the client to be closed', () => s.isClosed());
      await g.recorded.waitClosed(1, WAIT_MS);
      assert.equal(g.recorded.closed[0]!.summary.reason, 'upstream-unreachable');
      await waitUntil('the close to be logged', () => g.logs.lines.some((l) => l['msg'] === 'connection closed'));
      const closed = g.logs.lines.find((l) => l['msg'] === 'connection closed')!;
      assert.equal(closed['reason'], 'upstream-unreachable');
      assert.equal(closed['level'], 40, 'pino level 40 is warn');
    });
  });

  test('max connections: one more is closed at once and counted', async () => {
    const upstream = await rawUpstream();
    try {
      await withGuard(
        startTestGuard([listenerConfig(upstream.port, 'deny', { maxConnections: 2 })], true),
        async (g) => {
          const a = await connectRaw(g.port);
          const b = await connectRaw(g.port);
          await waitUntil('two connections', () => g.guard.activeConnections() === 2);
          const c = await connectRaw(g.port);
          await waitUntil('the third to be closed', () => c.isClosed());
          assert.ok(!a.isClosed() && !b.isClosed());
          const text = await g.guard.metrics.registry.metrics();
          assert.match(text, /renego_guard_connections_refused_total\{listener="test",reason="max-connections"\} 1/);
          a.destroy();
          b.destroy();
        },
      );
    } finally {
      await upstream.stop();
    }
  });

  test('idle timeout closes a connection on which nothing moves', async () => {
    const upstream = await rawUpstream();
    try {
      const config = listenerConfig(upstream.port, 'deny', {
        timeouts: { handshakeMs: 5_000, idleMs: 300, connectMs: 1_000 },
      });
      await withGuard(startTestGuard([config]), async (g) => {
        await scriptedSession(g.port, upstream);
        await g.recorded.waitClosed(1, 3_000);
        assert.equal(g.recorded.closed[0]!.summary.reason, 'idle-timeout');
      });
    } finally {
      await upstream.stop();
    }
  });

  /** A client that connects (and sends `first`) is closed by the guard for `reason`, no sooner than `ms` after. */
  async function closedNoSooner(g: TestGuard, reason: string, ms: number, first?: Uint8Array): Promise<void> {
    const connecting = performance.now();
    const client = await connectRaw(g.port);
    if (first) client.write(first);
    await waitUntil('the client to be closed', () => client.isClosed());
    const waited = performance.now() - connecting;
    await g.recorded.waitClosed(1, WAIT_MS);
    assert.equal(g.recorded.closed[0]!.summary.reason, reason);
    assert.ok(waited >= ms, `closed after ${waited.toFixed(0)} ms`);
  }

  test('a silent client is closed at the handshake timeout, not before', async () => {
    const upstream = await rawUpstream();
    try {
      const handshakeMs = 400;
      const config = listenerConfig(upstream.port, 'deny', {
        timeouts: { handshakeMs, idleMs: 5_000, connectMs: 1_000 },
      });
      await withGuard(startTestGuard([config]), (g) => closedNoSooner(g, 'handshake-timeout', handshakeMs));
    } finally {
      await upstream.stop();
    }
  });

  test('an upstream whose TCP connection never completes is given up at the connect timeout, not before', async () => {
    // A listener that never accepts, its accept queue (backlog 1: two connections) filled: Linux
    // then drops further SYNs, so the guard's connect neither completes nor fails by itself.
    const port = await freePort();
    const neverAccepts = await spawnPeer({
      name: 'a listener that never accepts',
      command: process.execPath,
      args: ['-e', NEVER_ACCEPTS, String(port)],
      host: '127.0.0.1',
      port,
      readyPattern: /^listening$/m,
    });
    const queued: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = net.connect(port, '127.0.0.1').on('error', () => undefined);
        queued.push(s);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('a queued connection did not complete')), WAIT_MS);
          s.once('connect', () => resolve(void clearTimeout(timer)));
        });
      }
      const connectMs = 400;
      const config = listenerConfig(port, 'deny', { timeouts: { handshakeMs: 5_000, idleMs: 5_000, connectMs } });
      await withGuard(startTestGuard([config]), (g) =>
        closedNoSooner(g, 'upstream-connect-timeout', connectMs, clientHello()),
      );
    } finally {
      for (const s of queued) s.destroy();
      await neverAccepts.stop();
    }
  });

  test('after a block, a client that keeps its side open is closed LINGER_MS after its FIN, not before', async () => {
    const upstream = await rawUpstream();
    try {
      await withGuard(startTestGuard([listenerConfig(upstream.port, 'deny')]), async (g) => {
        // allowHalfOpen: the client does not answer the guard's FIN with its own.
        const client = await scriptedSession(g.port, upstream, true);
        let finAt = 0;
        client.once('end', () => (finAt = performance.now()));
        client.write(sealed(ContentType.handshake, 250));
        await g.recorded.waitClosed(1, WAIT_MS);
        const lingered = performance.now() - finAt;
        assert.ok(finAt > 0, 'the client got the FIN of the block');
        assert.equal(g.recorded.closed[0]!.summary.reason, 'blocked');
        // The FIN left just after the linger began: allow its way over loopback.
        assert.ok(lingered >= LINGER_MS - 50, `closed ${lingered.toFixed(0)} ms after the FIN`);
        client.destroy();
      });
    } finally {
      await upstream.stop();
    }
  });
});

describe('PROXY protocol towards the upstream', () => {
  test('v1 and v2 headers come first and carry the client address (IPv4)', async () => {
    for (const version of ['v1', 'v2'] as const) {
      const upstream = await rawUpstream();
      try {
        await withGuard(
          startTestGuard([listenerConfig(upstream.port, 'deny', { proxyProtocol: version })]),
          async (g) => {
            const client = await connectRaw(g.port);
            const hello = clientHello();
            client.write(hello);
            const pair = {
              sourceAddress: '127.0.0.1',
              sourcePort: client.localPort!,
              destinationAddress: '127.0.0.1',
              destinationPort: g.port,
            };
            const header = version === 'v1' ? proxyV1Header(pair) : proxyV2Header(pair);
            await waitUntil(
              'the header and hello upstream',
              () => upstream.bytes().length >= header.length + hello.length,
            );
            assert.deepEqual(upstream.bytes(), Buffer.concat([header, hello]));
            client.destroy();
          },
        );
      } finally {
        await upstream.stop();
      }
    }
  });

  test('header encodings (haproxy proxy-protocol.txt examples)', () => {
    const v4 = {
      sourceAddress: '::ffff:192.0.2.1',
      sourcePort: 56324,
      destinationAddress: '::ffff:192.0.2.2',
      destinationPort: 443,
    };
    assert.equal(new TextDecoder().decode(proxyV1Header(v4)), 'PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n');
    const v6 = { sourceAddress: '2001:db8::1', sourcePort: 1, destinationAddress: '::1', destinationPort: 2 };
    assert.equal(new TextDecoder().decode(proxyV1Header(v6)), 'PROXY TCP6 2001:db8::1 ::1 1 2\r\n');
    const b = proxyV2Header(v6);
    assert.deepEqual([...b.subarray(12, 16)], [0x21, 0x21, 0, 36]);
    assert.deepEqual([...b.subarray(16, 20)], [0x20, 0x01, 0x0d, 0xb8]);
    assert.deepEqual([...b.subarray(47, 52)], [1, 0, 1, 0, 2]);
    const mixed = { ...v4, destinationAddress: '::1' };
    assert.equal(new TextDecoder().decode(proxyV1Header(mixed)), 'PROXY UNKNOWN\r\n');
    assert.deepEqual([...proxyV2Header(mixed).subarray(12)], [0x21, 0x00, 0, 0]);
  });

  test('an IPv6 listener in front of an IPv6 upstream sends TCP6', async (t) => {
    const upstream = await rawUpstream('::1').catch(() => undefined);
    if (upstream === undefined) return t.skip('no IPv6 loopback');
    try {
      const config = listenerConfig(upstream.port, 'deny', {
        listen: { host: '::1', port: 0 },
        upstream: { host: '::1', port: upstream.port },
        proxyProtocol: 'v1',
      });
      await withGuard(startTestGuard([config]), async (g) => {
        const client = await connectRaw(g.port, '::1');
        client.write(clientHello());
        await waitUntil('the header upstream', () => upstream.bytes().includes('\r\n'));
        assert.match(
          upstream.bytes().toString('latin1'),
          new RegExp(`^PROXY TCP6 ::1 ::1 ${client.localPort} ${g.port}\\r\\n`),
        );
        client.destroy();
      });
    } finally {
      await upstream.stop();
    }
    return undefined;
  });
});

describe('logs and metrics', () => {
  test('a blocked renegotiation is logged with the connection id, direction and reason, and counted', async () => {
    const upstream = await rawUpstream();
    try {
      await withGuard(startTestGuard([listenerConfig(upstream.port, 'deny-client-initiated')], true), async (g) => {
        const client = await scriptedSession(g.port, upstream);
        client.write(sealed(ContentType.handshake, 250));
        await g.recorded.waitClosed(1, WAIT_MS);
        const id = g.recorded.closed[0]!.conn.id;
        const lines = g.logs.lines.filter((l) => l['conn'] === id);
        const msgs = lines.map((l) => l['msg']);
        for (const m of [
          'connection accepted',
          'client hello',
          'server hello',
          'initial handshake complete',
          'renegotiation blocked',
          'connection closed',
        ]) {
          assert.ok(msgs.includes(m), `log has "${m}": ${JSON.stringify(msgs)}`);
        }
        const blocked = lines.find((l) => l['msg'] === 'renegotiation blocked')!;
        assert.equal(blocked['direction'], 'client-initiated');
        assert.equal(blocked['reason'], 'client-initiated-renegotiation-denied');
        const hello = lines.find((l) => l['msg'] === 'client hello')!;
        assert.equal(hello['rfc5746'], 'extension');
        // Suites and versions by name, as the client and the scanner print them.
        const serverHello = lines.find((l) => l['msg'] === 'server hello')!;
        assert.match(String(serverHello['suite']), /^TLS_[A-Z0-9_]+$/);
        assert.equal(serverHello['version'], 'TLSv1.2');

        const text = await new Promise<string>((resolve, reject) => {
          const addr = g.guard.metricsAddress!;
          get({ host: addr.address, port: addr.port, path: '/metrics', timeout: WAIT_MS }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve(body));
          }).on('error', reject);
        });
        assert.match(text, /renego_guard_connections_total\{listener="test"\} 1/);
        assert.match(text, /renego_guard_renegotiations_seen_total\{listener="test",direction="client-initiated"\} 1/);
        assert.match(
          text,
          /renego_guard_renegotiations_blocked_total\{listener="test",direction="client-initiated",reason="client-initiated-renegotiation-denied"\} 1/,
        );
        assert.match(
          text,
          /renego_guard_policy_violations_total\{listener="test",reason="client-initiated-renegotiation-denied"\} 1/,
        );
        assert.match(text, /renego_guard_bytes_total\{listener="test",from="client"\} \d+/);
        assert.match(text, /renego_guard_connections_active\{listener="test"\} 0/);
      });
    } finally {
      await upstream.stop();
    }
  });
});

describe('configuration', () => {
  test('flags alone make one listener with safe defaults', () => {
    const c = buildGuardConfig({ listen: '127.0.0.1:8443', upstream: '127.0.0.1:443', policy: 'deny' });
    assert.equal(c.listeners.length, 1);
    const l = c.listeners[0]!;
    assert.deepEqual(l.listen, { host: '127.0.0.1', port: 8443 });
    assert.equal(l.policy.mode, 'deny');
    assert.equal(l.proxyProtocol, 'none');
    assert.equal(c.metrics, undefined);
  });

  test('a YAML file with several listeners, IPv6, limits and durations', () => {
    const yaml = `
log: { level: warn }
metrics: { listen: "127.0.0.1:9464" }
drainTimeout: 5s
listeners:
  - name: web
    listen: "[::]:8443"
    upstream: "[::1]:443"
    policy: secure-only
    limits: { perConnection: 3, perClient: "10/60s" }
    proxyProtocol: v2
    timeouts: { handshake: 2s, idle: 5m }
  - listen: 127.0.0.1:9443
    upstream: 127.0.0.1:993
    policy: deny-client-initiated
    allowNonTls: true
`;
    const c = buildGuardConfig({ metrics: '127.0.0.1:9999' }, yaml, 'guard.yaml');
    assert.equal(c.logLevel, 'warn');
    assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 9999 }, 'a flag overrides the file');
    assert.equal(c.drainTimeoutMs, 5000);
    const [web, second] = c.listeners;
    assert.deepEqual(web!.listen, { host: '::', port: 8443 });
    assert.deepEqual(web!.policy.perClientLimit, { count: 10, windowMs: 60_000 });
    assert.equal(web!.policy.maxRenegotiationsPerConnection, 3);
    assert.equal(web!.timeouts.handshakeMs, 2000);
    assert.equal(web!.timeouts.idleMs, 300_000);
    assert.equal(second!.name, 'listener-1');
    assert.equal(second!.policy.allowNonTls, true);
  });

  test('every problem is reported at once, with where it is', () => {
    const yaml = `
listeners:
  - listen: "localhost"
    upstream: 127.0.0.1:99999
    policy: dney
    limits: { perClient: "ten/60s" }
    timeouts: { handshake: soon }
    colour: blue
`;
    assert.throws(
      () => buildGuardConfig({}, yaml, 'guard.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof GuardConfigError);
        const text = e.problems.join('\n');
        for (const where of [
          'listeners[0].listen',
          'listeners[0].upstream',
          'listeners[0].policy',
          'perClient',
          'timeouts.handshake',
          'listeners[0].colour',
        ]) {
          assert.ok(text.includes(where), `mentions ${where}:\n${text}`);
        }
        assert.match(text, /expected one of allow, deny, deny-client-initiated/);
        return true;
      },
    );
    assert.throws(() => buildGuardConfig({}), /none given/);
    assert.throws(() => buildGuardConfig({ policy: 'deny' }), /--policy: applies to the --listen listener/);
    assert.throws(() => buildGuardConfig({}, 'listeners: [', 'bad.yaml'), /bad.yaml: not valid YAML/);
  });

  test('a problem in a flag names that flag, not a path under --listen', () => {
    const problems = (flags: Parameters<typeof buildGuardConfig>[0]): string[] => {
      try {
        buildGuardConfig(flags);
      } catch (e) {
        if (e instanceof GuardConfigError) return [...e.problems];
        throw e;
      }
      return [];
    };
    const base = { listen: '127.0.0.1:1', upstream: '127.0.0.1:2', policy: 'deny' };
    assert.deepEqual(problems({ ...base, listen: '127.0.0.1:abc' }), [
      '--listen: expected "host:port" or "[v6]:port", got "127.0.0.1:abc"',
    ]);
    assert.deepEqual(problems({ ...base, upstream: '127.0.0.1:70000' }), ['--upstream: port 70000 is out of range']);
    assert.match(problems({ ...base, policy: 'dney' }).join('\n'), /^--policy: expected one of allow, deny/);
    assert.match(
      problems({ ...base, maxConnections: 'many' }).join('\n'),
      /^--max-connections: expected a whole number/,
    );
    assert.match(problems({ ...base, maxRenegotiations: '-1' }).join('\n'), /^--max-renegotiations: expected/);
    assert.match(problems({ ...base, idleTimeout: 'soon' }).join('\n'), /^--idle-timeout: expected a duration/);
    assert.match(
      problems({ ...base, rateLimit: 'x/10s' }).join('\n'),
      /^--rate-limit \(count\): expected a whole number of at least 1, got "x"/,
    );
    for (const p of problems({ listen: 'nope', upstream: 'nope', policy: 'dney', handshakeTimeout: 'soon' }))
      assert.doesNotMatch(p, /^--listen\./, p);
  });
});

describe('upstream names are resolved at start-up', () => {
  test('a name the resolver does not know is a usage error naming the listener, and nothing listens', async () => {
    const port = await freePort();
    const asked: string[] = [];
    const notFound = async (host: string): Promise<never> => {
      asked.push(host);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    await assert.rejects(
      startGuard(
        buildGuardConfig({
          listen: `127.0.0.1:${port}`,
          upstream: 'upstream.renego.test:443',
          policy: 'deny',
          name: 'web',
        }),
        { lookup: notFound, logDestination: new LogLines() },
      ),
      (e: Error) => {
        assert.equal(e.name, 'GuardSetupError');
        assert.match(
          e.message,
          /^cannot resolve upstream upstream\.renego\.test:443 of listener web: host name not found/,
        );
        return true;
      },
    );
    assert.deepEqual(asked, ['upstream.renego.test']);
    const probe = await connectRaw(port).then(
      (s) => (s.end(), 'accepted'),
      () => 'refused',
    );
    assert.equal(probe, 'refused');
  });

  test('a name that resolves (localhost, from /etc/hosts) starts the guard; an IP address is not looked up', async () => {
    const upstream = await rawUpstream();
    const asked: string[] = [];
    const configs = [`localhost:${upstream.port}`, `127.0.0.1:${upstream.port}`].map((u) =>
      buildGuardConfig({ listen: '127.0.0.1:0', upstream: u, policy: 'deny' }),
    );
    try {
      for (const config of configs) {
        const guard = await startGuard(config, {
          lookup: (host) => (asked.push(host), lookup(host)),
          logDestination: new LogLines(),
        });
        await guard.close(0);
      }
      assert.deepEqual(asked, ['localhost']);
    } finally {
      await upstream.stop();
    }
  });
});

describe('renego guard (the command)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'renego-guard-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function runCli(args: string[]): {
    child: ReturnType<typeof spawn>;
    output: () => string;
    exited: Promise<number | null>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'guard', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (text += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (text += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => text, exited };
  }

  async function stopped(p: {
    child: ReturnType<typeof spawn>;
    exited: Promise<number | null>;
  }): Promise<number | null> {
    const timer = setTimeout(() => p.child.kill('SIGKILL'), WAIT_MS);
    const code = await p.exited;
    clearTimeout(timer);
    return code;
  }

  test('--listen --upstream --policy deny works without a config file and drains on SIGTERM', async () => {
    const upstream = await rawUpstream();
    const port = await freePort();
    const cli = runCli([
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      `127.0.0.1:${upstream.port}`,
      '--policy',
      'deny',
      '--drain-timeout',
      '3s',
    ]);
    try {
      await waitUntil('the guard to listen', () => cli.output().includes('"msg":"listening"'), 20_000);
      const client = await connectRaw(port);
      client.write(clientHello());
      await waitUntil('the hello upstream', () => upstream.bytes().length > 0);
      cli.child.kill('SIGTERM');
      await waitUntil('draining to start', () => cli.output().includes('shutting down'));
      // Still open while draining: the connection ends by itself.
      assert.equal(client.isClosed(), false);
      client.end();
      assert.equal(await stopped(cli), 0, cli.output());
      const lines = cli
        .output()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l['msg'] === 'client hello' && typeof l['conn'] === 'number'));
      assert.ok(lines.some((l) => l['msg'] === 'stopped'));
    } finally {
      cli.child.kill('SIGKILL');
      await upstream.stop();
    }
  });

  test('an upstream name that does not resolve stops start-up: one line, exit 2', async () => {
    // "bad..name" has an empty label, so the C library refuses it before building a DNS query:
    // the test sends no packet (a .invalid name would still be asked of the configured resolver).
    const port = await freePort();
    const cli = runCli(['--listen', `127.0.0.1:${port}`, '--upstream', 'bad..name:443', '--policy', 'deny']);
    try {
      assert.equal(await stopped(cli), 2, cli.output());
      assert.equal(
        cli.output(),
        'renego guard: cannot resolve upstream bad..name:443 of listener listener-0: host name not found ' +
          '(correct the name, or give an IP address)\n',
      );
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  test('a bad configuration file exits with status 2 and says what is wrong', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'listeners:\n  - listen: 127.0.0.1:1\n    upstream: 127.0.0.1:2\n    policy: maybe\n');
    const cli = runCli(['--config', file]);
    try {
      assert.equal(await stopped(cli), 2);
      assert.match(cli.output(), /listeners\[0\]\.policy: expected one of allow, deny/);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
});

describe('an upstream the guard can only reach as itself', { skip: netnsSkipReason() }, () => {
  // TCP self-connect: with the upstream's port the only ephemeral port there is (a namespace's own
  // ip_local_port_range), the guard's connect to a port where nothing listens "succeeds" by a
  // simultaneous open with itself. It must count as unreachable, not as a server that echoes.
  test('a self-connected upstream is closed at once as upstream-unreachable', async (t) => {
    const pair = await createNetnsPair();
    t.after(() => pair.remove());
    const ns = pair.client;
    const range = await pair.exec(ns, ['sysctl', '-w', 'net.ipv4.ip_local_port_range=40000 40000']);
    assert.equal(range.code, 0, range.stderr);
    const [ip, ...inNamespace] = pair.prefix(ns);
    const guard = await startProcess({
      name: 'renego guard',
      command: ip!,
      args: [
        ...inNamespace,
        process.execPath,
        '--import',
        'tsx',
        join(import.meta.dirname, '../..', 'src/cli/main.ts'),
        'guard',
        '--listen',
        '127.0.0.1:15001',
        '--upstream',
        '127.0.0.1:40000',
        '--policy',
        'deny',
        '--handshake-timeout',
        '5s',
      ],
      host: '127.0.0.1',
      port: 15001,
    });
    t.after(() => guard.stop());
    await guard.waitForOutput(/"msg":"listening"/, WAIT_MS);
    // A client in the namespace that sends nothing and waits for the guard to close it.
    const client = await pair.exec(
      ns,
      [
        process.execPath,
        '-e',
        `const s = require('node:net').connect(15001, '127.0.0.1');
         s.on('error', () => {}); s.on('close', () => process.exit(0)); setTimeout(() => process.exit(1), 8000);`,
      ],
      { timeoutMs: WAIT_MS },
    );
    assert.equal(client.code, 0, 'the guard did not close the client');
    const closed = await guard.waitForOutput(/"msg":"connection closed".*\n/, WAIT_MS);
    const line = JSON.parse(closed.split('\n').find((l) => l.includes('"connection closed"'))!) as Record<
      string,
      unknown
    >;
    assert.equal(line['reason'], 'upstream-unreachable', closed);
  });
});
