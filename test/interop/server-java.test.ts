/**
 * A JSSE client (OpenJDK 17, test/peers/java/RenegoClient.java) against `renego server`:
 * handshake and data, client-initiated renegotiation by calling startHandshake() again, a
 * server-initiated renegotiation for a client certificate on a protected path, and JSSE's
 * legacy switches against a 2009-style server. The server's log is the record of what
 * completed: JSSE reports handshakes on a listener thread that may not have printed by exit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { skipReason } from '../peers/binaries.ts';
import {
  compileJavaClient,
  runJavaClient,
  type JavaClientOptions,
  type JavaClientResult,
} from '../peers/java-client.ts';
import { withRenegoServer } from '../peers/interop-server-support.ts';
import type { RenegoServerPeer } from '../peers/renego-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;
const CLIENT_TIMEOUT_MS = 30_000;
const skip = skipReason('java', 'javac');

const env = useTempPki('renego-interop-java-', 'rsa', async () => {
  if (!skip) await compileJavaClient();
});

function java(
  server: RenegoServerPeer,
  options: Partial<JavaClientOptions> & Pick<JavaClientOptions, 'steps'>,
): Promise<JavaClientResult> {
  return runJavaClient({
    port: server.port,
    ca: env.files.ca,
    protocols: ['TLSv1.2'],
    timeoutMs: CLIENT_TIMEOUT_MS,
    ...options,
  });
}

const RENEGOTIATE_AND_TALK = [{ line: 'hello' }, { renegotiate: true }, { line: 'after' }] as const;

describe('JSSE client', { skip }, () => {
  test('completes a handshake and exchanges data', async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default' }, async (server) => {
      const r = await java(server, { steps: [{ line: 'hello jsse' }, { line: 'twice' }] });
      assert.ok(r.ok, r.output);
      assert.deepStrictEqual(r.replies, ['hello jsse', 'twice']);
      assert.match(
        r.output,
        /^CONNECTED protocol=TLSv1\.2 cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 peer=CN=localhost$/m,
      );
      await server.waitForOutput(/^handshake .*secureRenegotiation=true .*extendedMasterSecret=true/m, WAIT_MS);
    });
  });

  test('renegotiates from the client side with startHandshake() when the server allows it (rfc5746)', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      const r = await java(server, { steps: RENEGOTIATE_AND_TALK });
      assert.ok(r.ok, r.output);
      assert.deepStrictEqual(r.replies, ['hello', 'after']);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=true/m, WAIT_MS);
      assert.doesNotMatch(server.output(), /^error /m);
    });
  });

  test("a refused client-initiated renegotiation (openssl3-default) ends JSSE's connection: it takes no_renegotiation as fatal", async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default' }, async (server) => {
      const r = await java(server, { steps: RENEGOTIATE_AND_TALK });
      assert.equal(r.ok, false, r.output);
      assert.deepStrictEqual(r.replies, ['hello']);
      assert.match(r.output, /^ERROR javax\.net\.ssl\.SSLHandshakeException: .*no_renegotiation/m);
      await server.waitForOutput(/^renegotiation-refused .*client-initiated renegotiation is not allowed/m, WAIT_MS);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('answers a server-initiated renegotiation for its certificate on a protected path (rfc5746 --www)', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const r = await java(server, {
        cert: env.files.clientCert,
        key: env.files.clientKey,
        steps: [{ http: '/secure/page' }],
      });
      assert.ok(r.ok, r.output);
      assert.equal(r.http[0], 'HTTP/1.1 200 OK');
      assert.ok(r.http.includes('renegotiations: 1'), r.output);
      assert.ok(r.http.includes('client certificate: CN=renego test client'), r.output);
      await server.waitForOutput(/^renegotiation .*clientCertificate=CN=renego test client/m, WAIT_MS);
    });
  });

  test('sends its certificate at the initial handshake when asked (rfc5746, clientCertificate initial)', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', clientCert: 'initial', www: true }, async (server) => {
      const r = await java(server, { cert: env.files.clientCert, key: env.files.clientKey, steps: [{ http: '/' }] });
      assert.ok(r.ok, r.output);
      assert.ok(r.http.includes('renegotiations: 0'), r.output);
      assert.ok(r.http.includes('client certificate: CN=renego test client'), r.output);
    });
  });

  test('connects to legacy-2009 but will not renegotiate with it by default', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await java(server, { steps: RENEGOTIATE_AND_TALK });
      assert.equal(r.ok, false, r.output);
      assert.deepStrictEqual(r.replies, ['hello']);
      assert.match(r.output, /^ERROR .*(renegotiation|Renegotiation)/m);
      await server.waitForOutput(/^handshake .*secureRenegotiation=false/m, WAIT_MS);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('with sun.security.ssl.allowUnsafeRenegotiation=true it renegotiates with legacy-2009', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await java(server, {
        steps: RENEGOTIATE_AND_TALK,
        systemProperties: { 'sun.security.ssl.allowUnsafeRenegotiation': 'true' },
      });
      assert.ok(r.ok, r.output);
      assert.deepStrictEqual(r.replies, ['hello', 'after']);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=false/m, WAIT_MS);
    });
  });

  test('is let in by rfc5746-strict (JSSE signals RFC 5746) and renegotiates', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746-strict' }, async (server) => {
      const r = await java(server, { steps: RENEGOTIATE_AND_TALK });
      assert.ok(r.ok, r.output);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=true/m, WAIT_MS);
    });
  });
});
