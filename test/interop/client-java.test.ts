/**
 * The client engine against a JSSE server (OpenJDK 17, test/peers/java/RenegoServer.java): a
 * TLS 1.2 handshake and echo, client-initiated renegotiation (accepted by JSSE by default, refused
 * with -Djdk.tls.rejectClientInitiatedRenegotiation=true), server-initiated renegotiation for a
 * client certificate, and TLS 1.0/1.1 once re-enabled in the security properties.
 *
 * The server logs one `HANDSHAKE conn=C n=K …` line per completed handshake; a line we send shows
 * up as `RECEIVED conn=C line=…`, which tells each test which connection is its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { RenegoSocket } from '../../src/adapter/tls-socket.ts';
import type { HandshakeSummary } from '../../src/handshake/events.ts';
import { EXIT } from '../../src/tools/usage.ts';
import { ProtocolVersion } from '../../src/wire/enums.ts';
import { TlsError } from '../../src/wire/errors.ts';
import { skipReason } from '../peers/binaries.ts';
import {
  RENEGOTIATION_TIMEOUT_MS,
  clientCredentials,
  interopPeers,
  nextEvent,
  runCli,
  waitForClose,
} from '../peers/interop-client-support.ts';
import { startJavaServer, type JavaServer, type JavaServerOptions } from '../peers/java-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;
const LARGE_LINE_BYTES = 100 * 1024;

const env = useTempPki('renego-interop-java-', 'rsa');

const { shared: sharedServer, open } = interopPeers<Omit<JavaServerOptions, 'cert' | 'key'>, JavaServer>(
  env,
  startJavaServer,
  'the JSSE server did not start',
);

/** Sends one line and resolves with what came back up to and including the first newline (bounded). */
function exchangeLine(sock: RenegoSocket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      if (error) reject(error);
      else resolve(received.slice(0, received.indexOf('\n')));
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('utf8');
      if (received.includes('\n')) finish();
    };
    const onClose = (): void => finish(new Error(`connection closed; received ${JSON.stringify(received)}`));
    const timer = setTimeout(
      () => finish(new Error(`no reply to ${JSON.stringify(line.slice(0, 40))} within ${WAIT_MS} ms`)),
      WAIT_MS,
    );
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(`${line}\n`);
  });
}

/** Echoes a fresh line and returns the server's number for this connection. */
async function connectionId(sock: RenegoSocket, server: JavaServer): Promise<number> {
  const line = `id-${randomUUID()}`;
  assert.equal(await exchangeLine(sock, line), line);
  const output = await server.waitForOutput(new RegExp(`^RECEIVED conn=\\d+ line=${line}$`, 'm'), WAIT_MS);
  const match = new RegExp(`^RECEIVED conn=(\\d+) line=${line}$`, 'm').exec(output);
  assert.ok(match);
  return Number(match[1]);
}

/** A line of printable ASCII longer than several records, different on every call. */
function largeLine(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const seed = randomUUID();
  let line = seed;
  while (line.length < LARGE_LINE_BYTES) line += alphabet[(line.length * 31 + line.charCodeAt(line.length - 1)) % 62];
  return line;
}

describe('JSSE server', { skip: skipReason('java', 'javac') }, () => {
  describe('with its defaults (TLS 1.2 offered by our client) and a CA for client certificates', () => {
    const server = sharedServer(() => ({ ca: env.files.ca }));

    test('completes a TLS 1.2 handshake and echoes a 100 KiB line byte for byte', async (t) => {
      const { sock, errors } = await open(t, server());
      const summary = sock.getHandshakeSummary();
      assert.equal(sock.getProtocol(), 'TLSv1.2');
      assert.equal(summary?.secureRenegotiation, true);
      assert.equal(summary?.extendedMasterSecret, true);
      const line = largeLine();
      assert.equal(await exchangeLine(sock, line), line);
      assert.equal(await exchangeLine(sock, 'whoami'), 'PEER none');
      const id = await connectionId(sock, server());
      await server().waitForOutput(new RegExp(`^HANDSHAKE conn=${id} n=1 protocol=TLSv1\\.2 `, 'm'), WAIT_MS);
      assert.deepEqual(errors, []);
    });

    test('accepts two client-initiated secure renegotiations', async (t) => {
      const { sock, errors } = await open(t, server());
      for (const n of [1, 2]) {
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
        assert.equal(result.summary?.renegotiation, n);
        assert.equal(result.summary?.secureRenegotiation, true);
        assert.equal(result.summary?.extendedMasterSecret, true);
      }
      const id = await connectionId(sock, server());
      await server().waitForOutput(new RegExp(`^HANDSHAKE conn=${id} n=3 `, 'm'), WAIT_MS);
      assert.deepEqual(errors, []);
    });

    test('renegotiates when the server asks for a client certificate, which our client sends', async (t) => {
      const { sock, errors } = await open(t, server(), {
        ...clientCredentials(env.pki),
      });
      assert.equal(await exchangeLine(sock, 'whoami'), 'PEER none');
      const requested = nextEvent<{ accepted: boolean }>(sock, 'renegotiationRequested', WAIT_MS);
      const renegotiated = nextEvent<HandshakeSummary>(sock, 'renegotiated', WAIT_MS);
      assert.equal(await exchangeLine(sock, 'renegotiate'), 'RENEGOTIATE started');
      assert.equal((await requested).accepted, true);
      const summary = await renegotiated;
      assert.equal(summary.renegotiation, 1);
      assert.equal(summary.clientCertificateSent, true);
      assert.equal(await exchangeLine(sock, 'whoami'), 'PEER CN=renego test client');
      assert.deepEqual(errors, []);
    });
  });

  describe('with -Djdk.tls.rejectClientInitiatedRenegotiation=true', () => {
    const server = sharedServer(() => ({ rejectClientInitiatedRenegotiation: true }));

    test('answers a client-initiated renegotiation with a fatal handshake_failure', async (t) => {
      const { sock, errors } = await open(t, server());
      const line = `before-${randomUUID()}`;
      assert.equal(await exchangeLine(sock, line), line);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'refused-fatal');
      assert.equal(result.alert, 'handshake_failure');
      assert.match(result.error ?? '', /^PeerSentFatalAlert: /);
      assert.equal(await waitForClose(sock, WAIT_MS), true, 'the connection stayed open after a fatal alert');
      const error = errors[0];
      assert.ok(error instanceof TlsError, `expected a TlsError, got ${String(error)}`);
      assert.equal(error.kind, 'PeerSentFatalAlert');
      await server().waitForOutput(/Client initiated renegotiation is not allowed/, WAIT_MS);
    });

    test('renego client --json reports refused-fatal with the alert, keeps its JSON and exits 2', async () => {
      const { code, report, stderr } = await runCli(server(), ['--ca', env.files.ca, '--renegotiate', '1']);
      assert.equal(stderr, '', 'nothing on stderr: no unhandled error and no stack trace');
      assert.equal(code, EXIT.failed);
      assert.equal(report.ok, true);
      assert.equal(report.secureRenegotiation, true);
      assert.deepEqual(
        report.renegotiations.map((r) => [r.outcome, r.alert]),
        [['refused-fatal', 'handshake_failure']],
      );
    });
  });

  describe('with its defaults, against a client without RFC 5746 (renego client --legacy)', () => {
    const server = sharedServer();

    test('renego client --legacy --json reports the unsafe renegotiation refused-fatal and exits 2', async () => {
      const { code, report, stderr } = await runCli(server(), ['--ca', env.files.ca, '--legacy', '--renegotiate', '1']);
      assert.equal(stderr, '', 'nothing on stderr: no unhandled error and no stack trace');
      assert.equal(code, EXIT.failed);
      assert.equal(report.ok, true);
      // RFC 5746 §4.4: a server answers a client that signals nothing without renegotiation_info.
      assert.equal(report.secureRenegotiation, false);
      assert.equal(report.renegotiations.length, 1);
      assert.equal(report.renegotiations[0]?.outcome, 'refused-fatal');
      assert.equal(report.renegotiations[0]?.alert, 'handshake_failure');
    });
  });

  describe('with TLS 1.0 and 1.1 re-enabled (legacyVersions)', () => {
    const server = sharedServer(() => ({ legacyVersions: true }));

    for (const [name, version, javaName] of [
      ['TLS 1.0', ProtocolVersion.TLSv1, 'TLSv1'],
      ['TLS 1.1', ProtocolVersion['TLSv1.1'], 'TLSv1\\.1'],
    ] as const) {
      test(`completes a ${name} handshake, echoes and renegotiates`, async (t) => {
        const { sock } = await open(t, server(), { minVersion: version, maxVersion: version });
        assert.equal(sock.getHandshakeSummary()?.version, version);
        assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, true);
        const line = largeLine();
        assert.equal(await exchangeLine(sock, line), line);
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed');
        assert.equal(result.summary?.version, version);
        const id = await connectionId(sock, server());
        await server().waitForOutput(new RegExp(`^HANDSHAKE conn=${id} n=2 protocol=${javaName} `, 'm'), WAIT_MS);
      });
    }
  });
});
