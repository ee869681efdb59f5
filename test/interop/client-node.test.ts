/**
 * The client engine against an in-process node:https server (Node 20 on OpenSSL 3): the server
 * renegotiates to ask for a client certificate, which our client answers or refuses by policy, and
 * our client renegotiates on its own (Node allows it, up to tls.CLIENT_RENEG_LIMIT). HTTP/1.1
 * requests go over our socket by hand; the server describes the connection in its reply.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { describe, test } from 'node:test';
import { CLIENT_RENEG_LIMIT } from 'node:tls';
import type { RenegoSocket } from '../../src/adapter/tls-socket.ts';
import type { HandshakeSummary } from '../../src/handshake/events.ts';
import { MAX_REPLY_BYTES } from '../../src/adapter/exchange.ts';
import { runClient } from '../../src/tools/client.ts';
import { AlertDescription } from '../../src/wire/enums.ts';
import { TlsError } from '../../src/wire/errors.ts';
import {
  RENEGOTIATION_TIMEOUT_MS,
  clientCredentials,
  interopPeers,
  nextEvent,
} from '../peers/interop-client-support.ts';
import { startFloodServer } from '../peers/flood-server.ts';
import { startNodeTlsServer, type NodeTlsServer, type NodeTlsServerOptions } from '../peers/node-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;
/** The end of a chunked HTTP/1.1 body. */
const LAST_CHUNK = '\r\n0\r\n\r\n';

const env = useTempPki('renego-interop-node-', 'rsa');

const { shared: sharedServer, open } = interopPeers<Omit<NodeTlsServerOptions, 'cert' | 'key'>, NodeTlsServer>(
  env,
  startNodeTlsServer,
  'node https server did not start',
);

interface HttpOutcome {
  /** The whole response, or what arrived of it. */
  readonly text: string;
  readonly ended: 'complete' | 'closed' | 'timeout';
}

/** Sends a keep-alive GET over our socket and reads the (chunked) response, bounded by WAIT_MS. */
function get(sock: RenegoSocket, path: string): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    let text = '';
    const done = (ended: HttpOutcome['ended']): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      resolve({ text, ended });
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (text.endsWith(LAST_CHUNK)) done('complete');
    };
    const onClose = (): void => done('closed');
    const timer = setTimeout(() => done('timeout'), WAIT_MS);
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}

async function getOk(sock: RenegoSocket, path: string): Promise<string> {
  const response = await get(sock, path);
  assert.equal(response.ended, 'complete', `GET ${path}: ${JSON.stringify(response.text)}`);
  assert.match(response.text, /^HTTP\/1\.1 200 OK\r\n/);
  return response.text;
}

interface RenegotiationRequest {
  readonly accepted: boolean;
  readonly reason: string;
}

describe('node:tls server renegotiating for a client certificate', () => {
  const server = sharedServer(() => ({ ca: env.files.ca, renegotiatePath: '/renegotiate' }));

  test('our client answers the HelloRequest with its certificate, and the reply names the client CN', async (t) => {
    const { sock, errors } = await open(t, server(), clientCredentials(env.pki));
    assert.match(await getOk(sock, '/'), /^client: none$/m);

    const requested = nextEvent<RenegotiationRequest>(sock, 'renegotiationRequested', WAIT_MS);
    const renegotiated = nextEvent<HandshakeSummary>(sock, 'renegotiated', WAIT_MS);
    const body = await getOk(sock, '/renegotiate');
    assert.match(body, /^client: renego test client$/m);
    assert.match(body, /^authorized: true$/m);
    assert.match(body, /^handshakes: 2$/m);

    assert.equal((await requested).accepted, true);
    const summary = await renegotiated;
    assert.equal(summary.renegotiation, 1);
    assert.equal(summary.clientCertificateSent, true);
    assert.notEqual(summary.certificateRequested, undefined);
    assert.equal(summary.secureRenegotiation, true);
    assert.equal(sock.getHandshakeSummary()?.clientCertificateSent, true);
    assert.match(server().output(), /^renegotiated client=renego test client$/m);
    assert.deepEqual(errors, []);
  });

  test('with accept: never our client refuses, and node answers the refusal with a fatal alert', async (t) => {
    const { sock, errors } = await open(t, server(), {
      ...clientCredentials(env.pki),
      renegotiation: { accept: 'never' },
    });
    const requested = nextEvent<RenegotiationRequest>(sock, 'renegotiationRequested', WAIT_MS);
    const response = await get(sock, '/renegotiate');

    const request = await requested;
    assert.equal(request.accepted, false);
    assert.match(request.reason, /disabled/);
    // Our no_renegotiation warning makes OpenSSL (inside node) fail the connection.
    assert.equal(response.ended, 'closed');
    assert.doesNotMatch(response.text, /^path: /m);
    await server().waitForOutput(/^error ERR_SSL_NO_RENEGOTIATION /m, WAIT_MS);
    const error = errors[0];
    assert.ok(error instanceof TlsError, `expected a TlsError, got ${String(error)}`);
    assert.equal(error.kind, 'PeerSentFatalAlert');
    assert.equal(error.peerAlert, AlertDescription.handshake_failure);
    assert.equal(sock.getHandshakeSummary()?.renegotiation, 0);
    assert.equal(sock.getHandshakeSummary()?.clientCertificateSent, false);
  });
});

describe('node:tls server with its defaults', () => {
  const server = sharedServer();

  test('accepts two client-initiated secure renegotiations, and serves requests after them', async (t) => {
    const { sock, errors } = await open(t, server());
    assert.match(await getOk(sock, '/'), /^handshakes: 1$/m);
    for (const n of [1, 2]) {
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
      assert.equal(result.summary?.renegotiation, n);
      assert.equal(result.summary?.secureRenegotiation, true);
      assert.equal(result.summary?.extendedMasterSecret, true);
    }
    assert.match(await getOk(sock, '/'), /^handshakes: 3$/m);
    assert.deepEqual(errors, []);
  });

  test(`closes the connection at the renegotiation past tls.CLIENT_RENEG_LIMIT (${CLIENT_RENEG_LIMIT})`, async (t) => {
    const { sock } = await open(t, server());
    for (let n = 1; n <= CLIENT_RENEG_LIMIT; n++) {
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
    }
    const beyond = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
    assert.equal(beyond.outcome, 'closed');
    await server().waitForOutput(/^error ERR_TLS_SESSION_ATTACK /m, WAIT_MS);
  });
});

describe('node:tls server with SSL_OP_NO_RENEGOTIATION', () => {
  const server = sharedServer(() => ({ secureOptions: constants.SSL_OP_NO_RENEGOTIATION }));

  test('refuses client-initiated renegotiation with a no_renegotiation warning, and keeps serving', async (t) => {
    const { sock, errors } = await open(t, server());
    const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
    assert.deepEqual(result, { outcome: 'refused-alert', alert: 'no_renegotiation' });
    assert.match(await getOk(sock, '/'), /^handshakes: 1$/m);
    assert.deepEqual(errors, []);
  });
});

test('renego client --request against a node:tls server with an endless answer keeps 1 MiB and returns', async (t) => {
  const server = await startFloodServer({
    tls: { cert: env.pki.server.chainPem, key: env.pki.server.keyPem, maxVersion: 'TLSv1.2' },
    afterRequest: true,
  });
  t.after(() => server.close());
  const timeoutMs = 5_000;
  const t0 = performance.now();
  const report = await runClient({
    target: `127.0.0.1:${server.port}`,
    insecure: true,
    request: 'GET / HTTP/1.0\r\n\r\n',
    timeoutMs,
  });
  assert.equal(report.ok, true, report.error?.message);
  assert.equal(report.response?.length, MAX_REPLY_BYTES);
  // Without the cap it would read until its timeout (the server never pauses for 150 ms).
  assert.ok(performance.now() - t0 < timeoutMs, `took ${Math.round(performance.now() - t0)} ms`);
});
