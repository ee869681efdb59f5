/**
 * The renego client (src/adapter/tls-socket.ts `connect`) against the renego server
 * (src/server/start.ts `startServer`, on src/adapter/server.ts) over real sockets on 127.0.0.1: every preset with
 * every kind of client, in both directions of renegotiation; then what a hostile client does
 * to the listener: a slowloris handshake is dropped at the handshake timeout, garbage is
 * answered and reported, and a flood of client-initiated renegotiations is stopped by the
 * limit while the listener keeps serving new connections.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as renegoConnect, type ConnectOptions, type RenegoSocket } from '../../src/adapter/tls-socket.ts';
import type { RenegoServer, RenegoServerSocket } from '../../src/adapter/server.ts';
import type { HandshakeSummary } from '../../src/handshake/events.ts';
import { SERVER_PRESETS, type ServerPresetName } from '../../src/handshake/server-presets.ts';
import { loadCertificate, type ServerCertificate } from '../../src/pki/credentials.ts';
import { createTestPki, type TestPki } from '../../src/pki/throwaway.ts';
import { parsePemCertificates, trustStoreFromPem, type TrustStore } from '../../src/pki/verify.ts';
import { startServer } from '../../src/server/start.ts';
import { ClientConnection } from '../../src/connection/client-connection.ts';
import { TlsError } from '../../src/wire/errors.ts';

const WAIT_MS = 10_000;

let pki: TestPki;
let credentials: { certificate: ServerCertificate; clientTrust: TrustStore };
let clientBase: ConnectOptions;

before(async () => {
  pki = await createTestPki({ keyType: 'rsa' });
  credentials = {
    certificate: loadCertificate(pki.server.chainPem, pki.server.keyPem),
    clientTrust: trustStoreFromPem(pki.ca.certPem),
  };
  clientBase = {
    host: '127.0.0.1',
    serverName: 'localhost',
    trust: trustStoreFromPem(pki.ca.certPem),
    clientCertificates: parsePemCertificates(pki.client.certPem).map((c) => new Uint8Array(c.raw)),
    clientKey: crypto.createPrivateKey(pki.client.keyPem),
    handshakeTimeout: WAIT_MS,
  };
});

/** connect(), with the socket's later errors swallowed: the tests read them from renegotiate() results. */
async function connect(options: ConnectOptions): Promise<RenegoSocket> {
  const sock = await renegoConnect(options);
  sock.on('error', () => undefined);
  return sock;
}

/** A listening server of a preset whose sockets echo, with the server side of each connection in arrival order. */
interface Listening {
  server: RenegoServer;
  port: number;
  nextSocket(): Promise<RenegoServerSocket>;
  clientErrors: Error[];
  close(): Promise<void>;
}

async function listen(preset: ServerPresetName, handshakeTimeoutMs = 5_000): Promise<Listening> {
  const queue: RenegoServerSocket[] = [];
  const waiting: ((s: RenegoServerSocket) => void)[] = [];
  const clientErrors: Error[] = [];
  const raw = new Set<net.Socket>();
  const { server, port } = await startServer({
    host: '127.0.0.1',
    port: 0,
    ...credentials,
    preset,
    handshakeTimeoutMs,
    application: (sock) => {
      sock.pipe(sock);
      const w = waiting.shift();
      if (w) w(sock);
      else queue.push(sock);
    },
  });
  server.on('connection', (s: net.Socket) => {
    raw.add(s);
    s.once('close', () => raw.delete(s));
  });
  server.on('tlsClientError', (e: Error) => clientErrors.push(e));
  return {
    server,
    port,
    clientErrors,
    nextSocket: () => {
      const s = queue.shift();
      if (s) return Promise.resolve(s);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no secureConnection in time')), WAIT_MS);
        waiting.push((sock) => {
          clearTimeout(timer);
          resolve(sock);
        });
      });
    },
    close: async () => {
      for (const s of raw) s.destroy();
      await Promise.race([new Promise<void>((resolve) => server.close(() => resolve())), sleep(3_000)]);
    },
  };
}

/** Writes a line and resolves with what comes back (the server echoes). */
function echo(sock: RenegoSocket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('utf8');
      if (got.includes('\n')) done(() => resolve(got.trim()));
    };
    const onClose = (): void => done(() => reject(new Error(`closed before the echo of ${line}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`no echo of ${line}`))), WAIT_MS);
    const done = (f: () => void): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      f();
    };
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(`${line}\n`);
  });
}

async function closeClient(sock: RenegoSocket | undefined): Promise<void> {
  if (!sock || sock.destroyed) return;
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.destroy();
  await Promise.race([closed, sleep(1_000)]);
}

// --- every policy pair -----------------------------------------------------------------------

type ClientKind = 'rfc5746' | 'scsv' | 'legacy';
type Expect = 'completed' | 'refused-alert' | `local:${string}` | 'initial-refused';

const CLIENTS: Record<ClientKind, Partial<ConnectOptions>> = {
  rfc5746: { renegotiation: { allowLegacyServer: true } },
  scsv: { renegotiation: { signal: 'scsv', allowLegacyServer: true } },
  legacy: { renegotiation: { signal: 'none', allowUnsafeLegacyRenegotiation: true } },
};

/**
 * [client-initiated, server-initiated] per preset and client, as docs/server-policy.md defines
 * the presets (test/connection/server.test.ts derives the same table from the definitions).
 * local:KIND = the side that would start it refuses before sending anything.
 */
const MATRIX: Record<ServerPresetName, Record<ClientKind, [Expect, Expect]>> = {
  'legacy-2009': {
    rfc5746: ['local:InsecureRenegotiationRefused', 'refused-alert'],
    scsv: ['local:InsecureRenegotiationRefused', 'refused-alert'],
    legacy: ['completed', 'completed'],
  },
  'iis-default': {
    rfc5746: ['local:InsecureRenegotiationRefused', 'refused-alert'],
    scsv: ['local:InsecureRenegotiationRefused', 'refused-alert'],
    legacy: ['refused-alert', 'completed'],
  },
  'iis-977377': {
    rfc5746: ['local:InsecureRenegotiationRefused', 'local:RenegotiationRefused'],
    scsv: ['local:InsecureRenegotiationRefused', 'local:RenegotiationRefused'],
    legacy: ['refused-alert', 'local:RenegotiationRefused'],
  },
  'iis-always-nego-client-cert': {
    rfc5746: ['local:InsecureRenegotiationRefused', 'refused-alert'],
    scsv: ['local:InsecureRenegotiationRefused', 'refused-alert'],
    legacy: ['refused-alert', 'completed'],
  },
  rfc5746: {
    rfc5746: ['completed', 'completed'],
    scsv: ['completed', 'completed'],
    legacy: ['refused-alert', 'local:InsecureRenegotiationRefused'],
  },
  'rfc5746-strict': {
    rfc5746: ['completed', 'completed'],
    scsv: ['completed', 'completed'],
    legacy: ['initial-refused', 'initial-refused'],
  },
  'openssl3-default': {
    rfc5746: ['refused-alert', 'completed'],
    scsv: ['refused-alert', 'completed'],
    legacy: ['refused-alert', 'local:InsecureRenegotiationRefused'],
  },
};

describe('renego client against renego server, every policy pair', () => {
  test('the matrix covers every preset', () => {
    assert.deepStrictEqual(Object.keys(MATRIX).sort(), Object.keys(SERVER_PRESETS).sort());
  });

  for (const preset of Object.keys(MATRIX) as ServerPresetName[]) {
    for (const kind of Object.keys(CLIENTS) as ClientKind[]) {
      const [ci, si] = MATRIX[preset][kind];
      test(`${preset} × ${kind} client: client-initiated ${ci}, server-initiated ${si}`, async () => {
        const l = await listen(preset);
        let client: RenegoSocket | undefined;
        try {
          const opts = { ...clientBase, port: l.port, ...CLIENTS[kind] };
          if (ci === 'initial-refused') {
            await assert.rejects(
              connect(opts),
              (e: unknown) => e instanceof TlsError && e.kind === 'PeerSentFatalAlert',
            );
            await waitFor(() => l.clientErrors.some((e) => (e as TlsError).kind === 'UnsafeLegacyClientRefused'));
            return;
          }
          client = await connect(opts);
          const serverSide = await l.nextSocket();
          assert.equal(await echo(client, 'hello'), 'hello');
          const secure = preset !== 'legacy-2009' && !preset.startsWith('iis') && kind !== 'legacy';
          assert.equal(serverSide.getHandshakeSummary()?.secureRenegotiation, secure);

          // Client-initiated.
          const c = await client.renegotiate({ timeoutMs: WAIT_MS });
          assertOutcome(c, ci);
          if (ci === 'completed') assert.equal(serverSide.getHandshakeSummary()?.renegotiation, 1);
          assert.equal(await echo(client, 'after client-initiated'), 'after client-initiated');

          // Server-initiated, asking for the client certificate.
          const handshakesBefore = serverSide.getHandshakeSummary()!.renegotiation;
          const s = await serverSide.renegotiate({ requestCert: true, timeoutMs: WAIT_MS });
          assertOutcome(s, si);
          if (si === 'completed') {
            const summary = s.summary as HandshakeSummary;
            assert.equal(summary.renegotiation, handshakesBefore + 1);
            assert.match(serverSide.getPeerCertificate().subject ?? '', /CN=renego test client/);
          }
          assert.equal(await echo(client, 'after server-initiated'), 'after server-initiated');
        } finally {
          await closeClient(client);
          await l.close();
        }
      });
    }
  }
});

function assertOutcome(r: { outcome: string; error?: string; alert?: string }, expected: Expect): void {
  if (expected.startsWith('local:')) {
    // Refused before anything was sent: the adapter reports it as not completed, with the typed error.
    assert.equal(r.outcome, 'refused-locally', JSON.stringify(r));
    assert.match(r.error ?? '', new RegExp(`^${expected.slice('local:'.length)}:`));
    return;
  }
  assert.equal(r.outcome, expected, JSON.stringify(r));
  if (expected === 'refused-alert') assert.equal(r.alert, 'no_renegotiation');
}

async function waitFor(cond: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

// --- hostile clients ---------------------------------------------------------------------------

/** The bytes of a valid ClientHello record from our client. */
function clientHelloBytes(): Uint8Array {
  const c = new ClientConnection({ serverName: 'localhost' });
  c.start();
  return c.takeOutput();
}

interface RawResult {
  closedAfterMs: number;
  received: Buffer;
}

/** Connects a raw TCP socket, runs `act`, and resolves when the server closes it (bounded). */
function rawClient(port: number, act: (s: net.Socket) => void, boundMs: number): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const t0 = Date.now();
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`server kept the connection open for ${boundMs} ms`));
    }, boundMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ closedAfterMs: Date.now() - t0, received: Buffer.concat(chunks) });
    });
    s.once('connect', () => act(s));
  });
}

describe('hostile clients against createServer', () => {
  const HANDSHAKE_TIMEOUT_MS = 600;

  test('a slowloris client that sends half a ClientHello is dropped at the handshake timeout', async () => {
    const l = await listen('rfc5746', HANDSHAKE_TIMEOUT_MS);
    try {
      const hello = clientHelloBytes();
      const r = await rawClient(l.port, (s) => s.write(hello.subarray(0, hello.length >> 1)), 5_000);
      assert.ok(r.closedAfterMs >= HANDSHAKE_TIMEOUT_MS - 50, `closed after ${r.closedAfterMs} ms`);
      assert.ok(r.closedAfterMs < HANDSHAKE_TIMEOUT_MS + 1_500, `closed after ${r.closedAfterMs} ms`);
      assert.equal(r.received.length, 0, 'nothing was answered to half a hello');
      await waitFor(() => l.clientErrors.some((e) => (e as TlsError).kind === 'Timeout'));
      // The listener still serves.
      const ok = await connect({ ...clientBase, port: l.port });
      assert.equal(await echo(ok, 'still here'), 'still here');
      await closeClient(ok);
    } finally {
      await l.close();
    }
  });

  test('a client that trickles a byte at a time is dropped at the handshake timeout too (the timer is not reset by data)', async () => {
    const l = await listen('rfc5746', HANDSHAKE_TIMEOUT_MS);
    try {
      const hello = clientHelloBytes();
      let trickle: NodeJS.Timeout | undefined;
      const r = await rawClient(
        l.port,
        (s) => {
          let at = 0;
          trickle = setInterval(() => {
            if (at < hello.length - 1 && !s.destroyed) s.write(hello.subarray(at, ++at));
          }, 50);
        },
        5_000,
      );
      clearInterval(trickle);
      assert.ok(r.closedAfterMs < HANDSHAKE_TIMEOUT_MS + 1_500, `closed after ${r.closedAfterMs} ms`);
      await waitFor(() => l.clientErrors.some((e) => (e as TlsError).kind === 'Timeout'));
    } finally {
      await l.close();
    }
  });

  test('many slowloris connections at once are all dropped, and a real client gets through meanwhile', async () => {
    const l = await listen('rfc5746', HANDSHAKE_TIMEOUT_MS);
    try {
      const hello = clientHelloBytes();
      const lorises = Array.from({ length: 50 }, () => rawClient(l.port, (s) => s.write(hello.subarray(0, 20)), 5_000));
      const ok = await connect({ ...clientBase, port: l.port });
      assert.equal(await echo(ok, 'through'), 'through');
      await closeClient(ok);
      const results = await Promise.all(lorises);
      assert.ok(results.every((r) => r.closedAfterMs < HANDSHAKE_TIMEOUT_MS + 2_000));
    } finally {
      await l.close();
    }
  });

  test('garbage instead of a ClientHello is answered with a fatal alert and reported as tlsClientError', async () => {
    const l = await listen('rfc5746');
    try {
      const r = await rawClient(l.port, (s) => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 5_000);
      // A fatal unexpected_message alert record: 21, version, length 2, level 2, description 10.
      assert.deepStrictEqual([...r.received.subarray(0, 1)], [21]);
      assert.deepStrictEqual([...r.received.subarray(5, 7)], [2, 10]);
      await waitFor(() => l.clientErrors.some((e) => (e as TlsError).kind === 'UnexpectedMessage'));
    } finally {
      await l.close();
    }
  });

  test('a flood of client-initiated renegotiations is stopped by the limit (3 per window); the listener keeps serving', async () => {
    const l = await listen('rfc5746');
    try {
      const client = await connect({ ...clientBase, port: l.port });
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await client.renegotiate({ timeoutMs: WAIT_MS });
        outcomes.push(r.outcome === 'refused-fatal' ? `refused-fatal:${r.alert}` : r.outcome);
        if (r.outcome !== 'completed') break;
      }
      assert.deepStrictEqual(outcomes, ['completed', 'completed', 'completed', 'refused-fatal:handshake_failure']);
      await waitFor(() => l.clientErrors.some((e) => (e as TlsError).kind === 'TooManyRenegotiationRequests'));
      await closeClient(client);
      const fresh = await connect({ ...clientBase, port: l.port });
      assert.equal(await echo(fresh, 'fresh'), 'fresh');
      assert.equal(
        (await fresh.renegotiate({ timeoutMs: WAIT_MS })).outcome,
        'completed',
        'the limit is per connection',
      );
      await closeClient(fresh);
    } finally {
      await l.close();
    }
  });

  test('forty connections flooding a server that refuses client renegotiation are all cut off; the process and listener carry on', async () => {
    const l = await listen('openssl3-default');
    try {
      const flood = async (): Promise<string[]> => {
        const c = await connect({ ...clientBase, port: l.port });
        const seen: string[] = [];
        try {
          for (let i = 0; i < 20; i++) {
            const r = await c.renegotiate({ timeoutMs: WAIT_MS });
            seen.push(r.outcome);
            if (r.outcome !== 'refused-alert') break;
            // Data between attempts, so our client's own cap on consecutive warning alerts stays out of it.
            await echo(c, `attempt ${i}`);
          }
        } finally {
          await closeClient(c);
        }
        return seen;
      };
      const all = await Promise.all(Array.from({ length: 40 }, flood));
      for (const seen of all) {
        // Five refusals with a no_renegotiation warning, then a fatal alert closes the connection (CVE-2011-1473).
        assert.deepStrictEqual(seen, [
          'refused-alert',
          'refused-alert',
          'refused-alert',
          'refused-alert',
          'refused-alert',
          'refused-fatal',
        ]);
      }
      await waitFor(
        () => l.clientErrors.filter((e) => (e as TlsError).kind === 'TooManyRenegotiationRequests').length === 40,
      );
      const fresh = await connect({ ...clientBase, port: l.port });
      assert.equal(await echo(fresh, 'after the flood'), 'after the flood');
      await closeClient(fresh);
    } finally {
      await l.close();
    }
  });
});

after(() => {
  // Nothing global to release: each test closes its own listener and clients.
});
