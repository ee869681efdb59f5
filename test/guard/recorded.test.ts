/**
 * Byte streams recorded from real handshakes (node:tls and openssl on 127.0.0.1, through a
 * recording TCP relay, chunk boundaries as they arrived) replayed through the inspector without
 * sockets: real Finished sizes for each AEAD and CBC suite, real resumption order, real
 * renegotiations in both directions, and the exact byte where a block starts.
 */
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tls from 'node:tls';
import { concat } from '../../src/wire/codec.ts';
import { RECORD_HEADER_LEN } from '../../src/wire/record.ts';
import { skipReason } from '../peers/binaries.ts';
import { runOpensslClient } from '../peers/openssl-client.ts';
import { startOpensslServer } from '../peers/openssl-server.ts';
import { recordingRelay } from '../peers/recording-relay.ts';
import { useTempPki } from '../peers/temp-pki.ts';
import { concatSteps, eventTypes, judgeOf, policy, replay, type Step } from './support.ts';

const WAIT_MS = 10_000;
const env = useTempPki('renego-guard-recorded-', 'ecdsa');

/** Records one node:tls conversation: a handshake, an echo, a close. */
async function recordNodeTls(cipher: string, extra: tls.ConnectionOptions = {}): Promise<Step[]> {
  const server = tls.createServer(
    { cert: env.pki.server.chainPem, key: env.pki.server.keyPem, ciphers: cipher, maxVersion: 'TLSv1.2' },
    (s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relay = await recordingRelay((server.address() as net.AddressInfo).port);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo with ${cipher}`)), WAIT_MS);
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: relay.port,
          servername: 'localhost',
          ca: env.pki.ca.certPem,
          ciphers: cipher,
          maxVersion: 'TLSv1.2',
          ...extra,
        },
        () => {
          s.write('ping');
        },
      );
      s.on('data', () => {
        clearTimeout(timer);
        s.end();
        resolve();
      });
      s.on('error', reject);
    });
    await sleep(50);
    return relay.steps.slice();
  } finally {
    await relay.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('real handshakes replayed through the inspector', () => {
  /** OpenSSL name → IANA value, to check the suite under test was the one negotiated. */
  const suites: Readonly<Record<string, number>> = {
    'ECDHE-ECDSA-AES128-GCM-SHA256': 0xc02b,
    'ECDHE-ECDSA-AES256-GCM-SHA384': 0xc02c,
    'ECDHE-ECDSA-CHACHA20-POLY1305': 0xcca9,
    'ECDHE-ECDSA-AES128-CCM': 0xc0ac,
    'ECDHE-ECDSA-AES128-CCM8': 0xc0ae,
    'ECDHE-ECDSA-AES128-SHA': 0xc009,
    'ECDHE-ECDSA-AES256-SHA384': 0xc024,
  };
  for (const [cipher, id] of Object.entries(suites)) {
    test(`${cipher}: the real Finished records fit the bound and nothing is blocked under deny`, async () => {
      const steps = await recordNodeTls(cipher);
      for (const chunk of [Infinity, 1, 3]) {
        const r = replay(steps, judgeOf(policy('deny')), chunk);
        assert.equal(r.watch.serverHello?.cipherSuite, id);
        assert.equal(r.block, undefined, `${cipher}, chunk ${chunk}`);
        assert.ok(r.watch.handshakeDone);
        assert.deepEqual(r.forwarded.client, concatSteps(steps, 'client'));
        assert.deepEqual(r.forwarded.server, concatSteps(steps, 'server'));
      }
    });
  }

  test('a real resumption (server CCS and Finished first) is not mistaken for a renegotiation', async () => {
    const cipher = 'ECDHE-ECDSA-AES128-GCM-SHA256';
    const server = tls.createServer(
      { cert: env.pki.server.chainPem, key: env.pki.server.keyPem, ciphers: cipher, maxVersion: 'TLSv1.2' },
      (s) => {
        s.on('error', () => undefined);
        s.pipe(s);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = await recordingRelay((server.address() as net.AddressInfo).port);
    try {
      const connectOnce = (session?: Buffer): Promise<{ session: Buffer; reused: boolean }> =>
        new Promise((resolve, reject) => {
          const s = tls.connect({
            host: '127.0.0.1',
            port: relay.port,
            servername: 'localhost',
            ca: env.pki.ca.certPem,
            maxVersion: 'TLSv1.2',
            session,
          });
          let ticket: Buffer | undefined;
          s.on('session', (t: Buffer) => (ticket = t));
          s.once('secureConnect', () => s.write('x'));
          s.on('data', () => {
            s.end();
            resolve({ session: ticket ?? s.getSession()!, reused: s.isSessionReused() });
          });
          s.on('error', reject);
        });
      const first = await connectOnce();
      await sleep(50);
      relay.steps.length = 0;
      const second = await connectOnce(first.session);
      assert.ok(second.reused);
      await sleep(50);
      const steps = relay.steps.slice();
      const r = replay(steps, judgeOf(policy('deny')), 2);
      assert.equal(r.block, undefined);
      assert.ok(r.watch.handshakeDone);
    } finally {
      await relay.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test(
    'openssl R (client-initiated) and s_server r (server-initiated), recorded and replayed under each policy',
    { skip: skipReason('openssl') },
    async () => {
      const server = await startOpensslServer({
        cert: env.files.serverCert,
        key: env.files.serverKey,
        args: ['-client_renegotiation', '-tls1_2'],
      });
      const relay = await recordingRelay(server.port);
      try {
        const clientRun = runOpensslClient({
          port: relay.port,
          args: ['-tls1_2', '-CAfile', env.files.ca, '-servername', 'localhost'],
          stdin: 'one\nR\ntwo\n',
          lineDelayMs: 700,
          settleMs: 2500,
          timeoutMs: 15_000,
        });
        // While the client waits after its last line, the server asks for a renegotiation too.
        await server.waitForOutput(/two/, WAIT_MS);
        server.command('r');
        await clientRun;
        const steps = relay.steps.slice();

        const allowed = replay(steps, judgeOf(policy('allow')));
        assert.equal(allowed.block, undefined);
        const renegotiations = allowed.events.flatMap((e) => (e.type === 'renegotiation' ? [e.initiator] : []));
        assert.deepEqual(renegotiations, ['client', 'server']);
        assert.equal(eventTypes(allowed.events).filter((t) => t === 'renegotiation-complete').length, 2);

        const denyServer = replay(steps, judgeOf(policy('deny-server-initiated')), 7);
        assert.equal(denyServer.block?.reason, 'server-initiated-renegotiation-denied');
        assert.equal(denyServer.watch.renegotiations, 1, 'the client-initiated one went through first');

        for (const chunk of [Infinity, 1, 5]) {
          const denied = replay(steps, judgeOf(policy('deny')), chunk);
          assert.equal(denied.block?.reason, 'client-initiated-renegotiation-denied');
          // What went out is a whole number of records: the prefix ends exactly where the renegotiation record starts.
          const out = denied.forwarded.client;
          assert.deepEqual(out, concatSteps(steps, 'client').subarray(0, out.length));
          let at = 0;
          while (at < out.length) at += RECORD_HEADER_LEN + ((out[at + 3]! << 8) | out[at + 4]!);
          assert.equal(at, out.length, 'forwarded bytes end on a record boundary');
          const next = concatSteps(steps, 'client')[out.length];
          assert.equal(next, 22, 'the next record is the held-back handshake record');
        }
      } finally {
        await relay.stop();
        await server.stop();
      }
    },
  );

  test('chunk boundaries of a real conversation do not matter', async () => {
    const steps = await recordNodeTls('ECDHE-ECDSA-AES128-GCM-SHA256');
    const whole: Step[] = [];
    for (const [side, bytes] of steps) {
      const last = whole[whole.length - 1];
      if (last && last[0] === side) whole[whole.length - 1] = [side, concat(last[1], bytes)];
      else whole.push([side, bytes]);
    }
    const a = replay(steps, judgeOf(policy('deny')));
    const b = replay(whole, judgeOf(policy('deny')), 1);
    assert.deepEqual(eventTypes(a.events), eventTypes(b.events));
  });
});
