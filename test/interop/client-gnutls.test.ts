/**
 * The client engine against GnuTLS 3.7 `gnutls-serv --echo`, whose renegotiation policy is part of
 * the priority string: NORMAL (safe renegotiation only), NORMAL:%UNSAFE_RENEGOTIATION (legacy
 * peers too) and NORMAL:%DISABLE_SAFE_RENEGOTIATION (no RFC 5746 at all: the legacy server our
 * client must refuse by default). Also 3DES, which Debian's OpenSSL 3 no longer offers, and
 * session resumption. One gnutls-serv runs per priority string.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { RenegoSocket } from '../../src/adapter/tls-socket.ts';
import { suiteByName } from '../../src/crypto/suites.ts';
import { EXIT } from '../../src/tools/usage.ts';
import { AlertDescription, ProtocolVersion } from '../../src/wire/enums.ts';
import { TlsError } from '../../src/wire/errors.ts';
import { skipReason } from '../peers/binaries.ts';
import { startGnutlsServer, type GnutlsServer, type GnutlsServerOptions } from '../peers/gnutls-server.ts';
import {
  LEGACY_CLIENT,
  RENEGOTIATION_TIMEOUT_MS,
  interopPeers,
  runCli,
  waitForClose,
} from '../peers/interop-client-support.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;
const TLS10 = ProtocolVersion.TLSv1;
const TLS12 = ProtocolVersion['TLSv1.2'];

const env = useTempPki('renego-interop-gnutls-', 'rsa');

const gnutls = interopPeers<Omit<GnutlsServerOptions, 'cert' | 'key'>, GnutlsServer>(
  env,
  startGnutlsServer,
  'gnutls-serv did not start',
);
const { open, connect } = gnutls;

/** Starts one gnutls-serv with this priority for the enclosing describe block. */
const sharedServer = (priority: string): (() => GnutlsServer) => gnutls.shared(() => ({ priority }));

/** Sends a fresh line and waits (bounded) until gnutls-serv echoes it back. */
async function assertEchoes(sock: RenegoSocket): Promise<void> {
  const line = `line-${randomUUID()}\n`;
  let received = '';
  const echoed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(false), WAIT_MS);
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('utf8');
      if (received.includes(line)) done(true);
    };
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      resolve(ok);
    };
    const onClose = (): void => done(false);
    sock.on('data', onData);
    sock.once('close', onClose);
  });
  sock.write(line);
  assert.ok(await echoed, `no echo of ${JSON.stringify(line)}; received ${JSON.stringify(received)}`);
}

describe('GnuTLS gnutls-serv', { skip: skipReason('gnutls-serv') }, () => {
  describe('priority NORMAL', () => {
    const server = sharedServer('NORMAL');

    test('completes a TLS 1.2 handshake with RFC 5746 and the extended master secret, and echoes', async (t) => {
      const { sock } = await open(t, server());
      assert.equal(sock.getProtocol(), 'TLSv1.2');
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, true);
      assert.equal(sock.getHandshakeSummary()?.extendedMasterSecret, true);
      await assertEchoes(sock);
    });

    test('answers two client-initiated secure renegotiations', async (t) => {
      const before = server().countRehandshakes();
      const { sock, errors } = await open(t, server());
      for (const n of [1, 2]) {
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
        assert.equal(result.summary?.renegotiation, n);
        assert.equal(result.summary?.secureRenegotiation, true);
      }
      await assertEchoes(sock);
      assert.equal(server().countRehandshakes() - before, 2);
      assert.deepEqual(errors, []);
    });

    test('refuses a legacy client’s renegotiation with no_renegotiation and then closes', async (t) => {
      const { sock } = await open(t, server(), { renegotiation: LEGACY_CLIENT });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, false);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.deepEqual(result, { outcome: 'refused-alert', alert: 'no_renegotiation' });
      await server().waitForOutput(/^Error in rehandshake: Unsafe renegotiation denied\.$/m, WAIT_MS);
      assert.equal(await waitForClose(sock, WAIT_MS), true, 'gnutls-serv kept the connection open');
    });

    test('does not offer 3DES without +3DES-CBC: a 3DES-only client gets handshake_failure', async () => {
      const suite = suiteByName('TLS_RSA_WITH_3DES_EDE_CBC_SHA');
      assert.ok(suite);
      const error = await connect(server(), { cipherSuites: [suite] }).then(
        (sock) => {
          sock.destroy();
          return undefined;
        },
        (e: unknown) => e,
      );
      assert.ok(error instanceof TlsError, `expected a TlsError, got ${String(error)}`);
      assert.equal(error.kind, 'PeerSentFatalAlert');
      assert.equal(error.peerAlert, AlertDescription.handshake_failure);
    });

    test('resumes by session ID and by ticket, keeping the extended master secret', async (t) => {
      for (const sessionTickets of [false, true]) {
        for (const extendedMasterSecret of [true, false]) {
          const options = { sessionTickets, extendedMasterSecret };
          const what = `tickets ${sessionTickets}, EMS ${extendedMasterSecret}`;
          const first = await open(t, server(), options);
          const session = first.sock.getSession();
          assert.ok(session, what);
          assert.equal(session.ticket !== undefined, sessionTickets, what);
          first.sock.destroy();

          const second = await open(t, server(), { ...options, session });
          assert.equal(second.sock.isSessionReused(), true, what);
          assert.equal(second.sock.getHandshakeSummary()?.extendedMasterSecret, extendedMasterSecret, what);
          const renegotiation = await second.sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
          assert.equal(renegotiation.outcome, 'completed', what);
          assert.equal(renegotiation.summary?.resumed, false, what);
          await assertEchoes(second.sock);
          second.sock.destroy();
        }
      }
    });
  });

  describe('priority NORMAL:%UNSAFE_RENEGOTIATION', () => {
    const server = sharedServer('NORMAL:%UNSAFE_RENEGOTIATION');

    test('a legacy client completes two unsafe renegotiations', async (t) => {
      const { sock } = await open(t, server(), { renegotiation: LEGACY_CLIENT });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, false);
      for (const n of [1, 2]) {
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
        assert.equal(result.summary?.secureRenegotiation, false);
      }
      await assertEchoes(sock);
    });

    test('a client with defaults still gets secure renegotiation', async (t) => {
      const { sock } = await open(t, server());
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, true);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'completed');
      assert.equal(result.summary?.secureRenegotiation, true);
    });
  });

  describe('priority NORMAL:%DISABLE_SAFE_RENEGOTIATION (a server without RFC 5746)', () => {
    const server = sharedServer('NORMAL:%DISABLE_SAFE_RENEGOTIATION');

    test('a client with defaults refuses the handshake with UnsafeLegacyServerRefused', async () => {
      const error = await connect(server()).then(
        (sock) => {
          sock.destroy();
          return undefined;
        },
        (e: unknown) => e,
      );
      assert.ok(error instanceof TlsError, `expected a TlsError, got ${String(error)}`);
      assert.equal(error.kind, 'UnsafeLegacyServerRefused');
      // Our handshake_failure alert reaches the server.
      await server().waitForOutput(/^Error in handshake: A TLS fatal alert has been received\.$/m, WAIT_MS);
    });

    test('renego client --json refuses it by default and still reports secureRenegotiation false', async () => {
      const { code, report, stderr } = await runCli(server(), ['--ca', env.files.ca, '--renegotiate', '1']);
      assert.equal(stderr, '');
      assert.equal(code, EXIT.failed);
      assert.equal(report.ok, false);
      assert.equal(report.error?.kind, 'UnsafeLegacyServerRefused');
      assert.match(report.error?.hint ?? '', /--allow-legacy-server/, 'the error says which flag gets past it');
      // RFC 5746 §3.4: the ServerHello we saw had no renegotiation_info.
      assert.equal(report.secureRenegotiation, false);
      assert.deepEqual(report.renegotiations, []);
    });

    test('renego client --allow-legacy-server --json completes the handshake and refuses the renegotiation locally', async () => {
      const { code, report } = await runCli(server(), [
        '--ca',
        env.files.ca,
        '--allow-legacy-server',
        '--renegotiate',
        '1',
      ]);
      assert.equal(code, EXIT.failed);
      assert.equal(report.ok, true);
      assert.equal(report.secureRenegotiation, false);
      assert.deepEqual(
        report.renegotiations.map((r) => r.outcome),
        ['refused-locally'],
      );
      assert.match(report.renegotiations[0]?.error ?? '', /^InsecureRenegotiationRefused: /);
    });

    test('with allowLegacyServer the handshake completes, and renegotiation is refused locally', async (t) => {
      const before = server().countRehandshakes();
      const { sock, errors } = await open(t, server(), { renegotiation: { allowLegacyServer: true } });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, false);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'refused-locally');
      assert.match(result.error ?? '', /^InsecureRenegotiationRefused: /);
      // Nothing went to the server, and the connection itself is still good.
      await assertEchoes(sock);
      assert.equal(server().countRehandshakes(), before);
      assert.deepEqual(errors, []);
    });

    test('with allowUnsafeLegacyRenegotiation two unsafe renegotiations complete', async (t) => {
      const { sock } = await open(t, server(), {
        renegotiation: { allowLegacyServer: true, allowUnsafeLegacyRenegotiation: true },
      });
      for (const n of [1, 2]) {
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
        assert.equal(result.summary?.secureRenegotiation, false);
      }
      await assertEchoes(sock);
    });

    test('a legacy client (no RFC 5746 signal) connects and renegotiates', async (t) => {
      const { sock } = await open(t, server(), { renegotiation: LEGACY_CLIENT });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, false);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'completed');
      assert.equal(result.summary?.secureRenegotiation, false);
    });
  });

  describe('priority NORMAL:+3DES-CBC:+VERS-TLS1.0:+VERS-TLS1.1', () => {
    const server = sharedServer('NORMAL:+3DES-CBC:+VERS-TLS1.0:+VERS-TLS1.1');

    for (const name of ['TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA']) {
      for (const [versionName, version] of [
        ['TLS 1.0', TLS10],
        ['TLS 1.2', TLS12],
      ] as const) {
        test(`${name} in ${versionName}: handshake, echo and a secure renegotiation`, async (t) => {
          const suite = suiteByName(name);
          assert.ok(suite, `${name} is not available in this Node build`);
          const { sock } = await open(t, server(), { cipherSuites: [suite], minVersion: version, maxVersion: version });
          assert.equal(sock.getHandshakeSummary()?.version, version);
          assert.equal(sock.getCipher()?.standardName, name);
          await assertEchoes(sock);
          const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
          assert.equal(result.outcome, 'completed');
          assert.equal(result.summary?.cipherSuite, suite.id);
          await assertEchoes(sock);
        });
      }
    }
  });
});
