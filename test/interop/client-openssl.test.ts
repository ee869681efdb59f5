/**
 * The client engine against OpenSSL 3 `s_server`: each renegotiation policy s_server has
 * (refused by default, -client_renegotiation, -no_renegotiation, -legacy_renegotiation), the three
 * ways a client can signal RFC 5746, TLS 1.0/1.1 renegotiation, server-initiated renegotiation,
 * session resumption by ID and by ticket, and `renego client --json` end to end.
 *
 * s_server does not echo: what the client sends shows up in the server's output, so data is
 * checked there. One s_server runs per configuration and serves the tests of its describe block
 * one connection at a time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RenegoSocket } from '../../src/adapter/tls-socket.ts';
import type { ClientSession } from '../../src/handshake/client-config.ts';
import { createTestPki, writePkiFiles } from '../../src/pki/throwaway.ts';
import { EXIT } from '../../src/tools/usage.ts';
import { ProtocolVersion } from '../../src/wire/enums.ts';
import { skipReason } from '../peers/binaries.ts';
import { LEGACY_CLIENT, RENEGOTIATION_TIMEOUT_MS, interopPeers, runCli } from '../peers/interop-client-support.ts';
import { startOpensslServer, type OpensslServer, type OpensslServerOptions } from '../peers/openssl-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;

let otherCa: string;
const env = useTempPki('renego-interop-openssl-', 'rsa', async ({ dir }) => {
  otherCa = (await writePkiFiles(join(dir, 'other'), await createTestPki({ keyType: 'ecdsa' }))).ca;
});

const openssl = interopPeers<Omit<OpensslServerOptions, 'cert' | 'key'>, OpensslServer>(
  env,
  startOpensslServer,
  's_server did not start',
);
const { open } = openssl;

/** Starts one s_server for the tests of the enclosing describe block and stops it afterwards. */
const sharedServer = (options: Omit<OpensslServerOptions, 'cert' | 'key'> = {}): (() => OpensslServer) =>
  openssl.shared(() => options);

/** Sends a line nobody else sends and waits until s_server prints it: the connection still carries data. */
async function assertServerReceives(sock: RenegoSocket, server: OpensslServer): Promise<void> {
  const line = `line-${randomUUID()}`;
  sock.write(`${line}\n`);
  await server.waitForOutput(new RegExp(`^${line}$`, 'm'), WAIT_MS);
}

/** Sends close_notify and waits for the server's, so that s_server keeps the session (bounded). */
function closeCleanly(sock: RenegoSocket): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, WAIT_MS);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.resume();
    sock.end();
  });
}

describe('OpenSSL 3 s_server', { skip: skipReason('openssl') }, () => {
  describe('with its defaults', () => {
    const server = sharedServer();

    test('completes a TLS 1.2 handshake with RFC 5746 and the extended master secret', async (t) => {
      const { sock } = await open(t, server());
      const summary = sock.getHandshakeSummary();
      assert.equal(sock.getProtocol(), 'TLSv1.2');
      assert.equal(summary?.secureRenegotiation, true);
      assert.equal(summary?.extendedMasterSecret, true);
      assert.equal(summary?.peerVerified, true);
      assert.equal(summary?.renegotiation, 0);
      await assertServerReceives(sock, server());
    });

    test('refuses client-initiated renegotiation with a no_renegotiation warning, and the connection carries on', async (t) => {
      const before = server().countClientHellos();
      const { sock, errors } = await open(t, server());
      const first = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.deepEqual(first, { outcome: 'refused-alert', alert: 'no_renegotiation' });
      const second = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.deepEqual(second, { outcome: 'refused-alert', alert: 'no_renegotiation' });
      await assertServerReceives(sock, server());
      assert.equal(server().countClientHellos() - before, 3);
      assert.match(server().output(), /Alert \[length 0002\], warning no_renegotiation/);
      assert.equal(sock.getHandshakeSummary()?.renegotiation, 0);
      assert.deepEqual(errors, []);
    });

    test('renegotiates when the server asks (the r command), and data flows before and after', async (t) => {
      const { sock } = await open(t, server());
      const requested = new Promise<{ accepted: boolean }>((resolve) => sock.once('renegotiationRequested', resolve));
      const renegotiated = new Promise<{ renegotiation: number }>((resolve) => sock.once('renegotiated', resolve));
      await assertServerReceives(sock, server());
      server().command('r');
      assert.equal((await within(requested, 'renegotiationRequested')).accepted, true);
      assert.equal((await within(renegotiated, 'renegotiated')).renegotiation, 1);
      await assertServerReceives(sock, server());
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, true);
    });

    test('resumes a session by ID after a clean close, keeping the extended master secret', async (t) => {
      for (const extendedMasterSecret of [true, false]) {
        const options = { sessionTickets: false, extendedMasterSecret };
        const first = await open(t, server(), options);
        const session = first.sock.getSession();
        assert.ok(session, 'no session after the first handshake');
        assert.equal(session.ticket, undefined);
        assert.equal(session.sessionId.length, 32);
        assert.equal(first.sock.isSessionReused(), false);
        await closeCleanly(first.sock);

        const second = await open(t, server(), { ...options, session });
        assert.equal(second.sock.isSessionReused(), true, `EMS ${extendedMasterSecret}`);
        assert.equal(second.sock.getHandshakeSummary()?.extendedMasterSecret, extendedMasterSecret);
        assert.equal(second.sock.getHandshakeSummary()?.secureRenegotiation, true);
        await assertServerReceives(second.sock, server());
        await closeCleanly(second.sock);
      }
    });

    test('falls back to a full handshake when s_server dropped the session ID after an unclean close', async (t) => {
      const first = await open(t, server(), { sessionTickets: false });
      const session = first.sock.getSession();
      assert.ok(session, 'no session after the first handshake');
      // s_server serves one connection at a time: it has dealt with this one before it reads the next.
      first.sock.destroy();

      const second = await open(t, server(), { sessionTickets: false, session });
      assert.equal(second.sock.isSessionReused(), false);
      assert.notDeepEqual(second.sock.getSession()?.sessionId, session.sessionId);
      await assertServerReceives(second.sock, server());
    });

    test('resumes a session by ticket (RFC 5077), keeping the extended master secret', async (t) => {
      for (const extendedMasterSecret of [true, false]) {
        const first = await open(t, server(), { extendedMasterSecret });
        const session = await sessionWithTicket(first.sock);
        // s_server sends an empty session ID with a ticket: only the ticket can resume this session.
        assert.equal(session.sessionId.length, 0);
        await closeCleanly(first.sock);

        const second = await open(t, server(), { extendedMasterSecret, session });
        assert.equal(second.sock.isSessionReused(), true, `EMS ${extendedMasterSecret}`);
        assert.equal(second.sock.getHandshakeSummary()?.resumed, true);
        assert.equal(second.sock.getHandshakeSummary()?.extendedMasterSecret, extendedMasterSecret);
        await assertServerReceives(second.sock, server());
        await closeCleanly(second.sock);
      }
    });

    test('renego client --json reports the no_renegotiation warning as refused-alert and exits 2', async () => {
      const { code, report } = await runCli(server(), ['--ca', env.files.ca, '--renegotiate', '1']);
      assert.equal(code, EXIT.failed);
      assert.equal(report.ok, true);
      assert.equal(report.secureRenegotiation, true);
      assert.deepEqual(
        report.renegotiations.map((r) => [r.outcome, r.alert]),
        [['refused-alert', 'no_renegotiation']],
      );
    });
  });

  describe('with -client_renegotiation', () => {
    const server = sharedServer({ args: ['-client_renegotiation'] });

    test('completes two secure renegotiations in a row', async (t) => {
      const before = server().countClientHellos();
      const { sock, errors } = await open(t, server());
      const first = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(first.outcome, 'completed');
      assert.equal(first.summary?.renegotiation, 1);
      assert.equal(first.summary?.secureRenegotiation, true);
      assert.equal(first.summary?.extendedMasterSecret, true);
      const second = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(second.outcome, 'completed');
      assert.equal(second.summary?.renegotiation, 2);
      assert.equal(second.summary?.secureRenegotiation, true);
      await assertServerReceives(sock, server());
      assert.equal(server().countClientHellos() - before, 3);
      assert.deepEqual(errors, []);
    });

    test('a client signalling RFC 5746 with the SCSV alone gets secure renegotiation and renegotiates', async (t) => {
      const { sock } = await open(t, server(), { renegotiation: { signal: 'scsv' } });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, true);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'completed');
      assert.equal(result.summary?.secureRenegotiation, true);
      await assertServerReceives(sock, server());
    });

    test('a legacy client (no RFC 5746 signal) connects but its renegotiation is refused', async (t) => {
      const { sock } = await open(t, server(), { renegotiation: LEGACY_CLIENT });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, false);
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.deepEqual(result, { outcome: 'refused-alert', alert: 'no_renegotiation' });
      await assertServerReceives(sock, server());
    });

    test('renego client --json reports the handshake and two completed renegotiations', async () => {
      const { code, report } = await runCli(server(), [
        '--ca',
        env.files.ca,
        '--ciphers',
        'ECDHE-RSA-AES256-GCM-SHA384',
        '--renegotiate',
        '2',
      ]);
      assert.equal(code, 0);
      assert.equal(report.ok, true);
      assert.equal(report.version, 'TLSv1.2');
      assert.equal(report.cipher, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
      assert.equal(report.secureRenegotiation, true);
      assert.equal(report.extendedMasterSecret, true);
      assert.equal(report.verified, true);
      assert.equal(report.peerCertificate?.subject, 'CN=localhost');
      assert.deepEqual(
        report.renegotiations.map((r) => [r.outcome, r.secureRenegotiation]),
        [
          ['completed', true],
          ['completed', true],
        ],
      );
    });

    test('renego client --json exits non-zero when the server certificate does not chain to --ca', async () => {
      const { code, report } = await runCli(server(), ['--ca', otherCa, '--renegotiate', '2']);
      assert.equal(code, 1);
      assert.equal(report.ok, false);
      assert.equal(report.error?.kind, 'UnknownCA');
      assert.deepEqual(report.renegotiations, []);
      assert.equal(report.version, undefined);
    });
  });

  describe('with -www (answers one HTTP/1.0 request, then closes, as nginx does)', () => {
    const server = sharedServer({ www: true });

    test('renego client --json reports a server that closed before the renegotiation as closed, not refused-locally', async () => {
      const { code, report, stderr } = await runCli(server(), [
        '--ca',
        env.files.ca,
        '--request',
        'GET / HTTP/1.0\\r\\n\\r\\n',
        '--renegotiate',
        '1',
      ]);
      assert.equal(stderr, '');
      assert.equal(code, EXIT.failed);
      assert.equal(report.ok, true);
      assert.match(report.response ?? '', /^HTTP\/1\.0 200 ok/);
      assert.deepEqual(
        report.renegotiations.map((r) => [r.outcome, r.error]),
        [['closed', 'PeerClosed: peer sent close_notify']],
      );
    });
  });

  describe('with -no_renegotiation', () => {
    const server = sharedServer({ args: ['-no_renegotiation'] });

    test('refuses client-initiated renegotiation with a no_renegotiation warning', async (t) => {
      const { sock, errors } = await open(t, server());
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.deepEqual(result, { outcome: 'refused-alert', alert: 'no_renegotiation' });
      await assertServerReceives(sock, server());
      assert.deepEqual(errors, []);
    });
  });

  describe('with -legacy_renegotiation -client_renegotiation (the CVE-2009-3555 configuration)', () => {
    const server = sharedServer({ args: ['-legacy_renegotiation', '-client_renegotiation'] });

    test('a secure client still renegotiates with RFC 5746', async (t) => {
      const { sock } = await open(t, server());
      const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
      assert.equal(result.outcome, 'completed');
      assert.equal(result.summary?.secureRenegotiation, true);
    });

    test('a legacy client completes two unsafe renegotiations', async (t) => {
      const { sock } = await open(t, server(), { renegotiation: LEGACY_CLIENT });
      assert.equal(sock.getHandshakeSummary()?.secureRenegotiation, false);
      for (const n of [1, 2]) {
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed', `renegotiation ${n}: ${JSON.stringify(result)}`);
        assert.equal(result.summary?.renegotiation, n);
        assert.equal(result.summary?.secureRenegotiation, false);
      }
      await assertServerReceives(sock, server());
    });
  });

  describe('with -cipher ALL:@SECLEVEL=0 -client_renegotiation (TLS 1.0 and 1.1)', () => {
    const server = sharedServer({ legacyVersions: true, args: ['-client_renegotiation'] });

    for (const [name, version] of [
      ['TLS 1.0', ProtocolVersion.TLSv1],
      ['TLS 1.1', ProtocolVersion['TLSv1.1']],
    ] as const) {
      test(`completes a ${name} handshake and a secure renegotiation`, async (t) => {
        const { sock } = await open(t, server(), { minVersion: version, maxVersion: version });
        assert.equal(sock.getHandshakeSummary()?.version, version);
        assert.equal(sock.getHandshakeSummary()?.extendedMasterSecret, true);
        const result = await sock.renegotiate({ timeoutMs: RENEGOTIATION_TIMEOUT_MS });
        assert.equal(result.outcome, 'completed');
        assert.equal(result.summary?.version, version);
        assert.equal(result.summary?.secureRenegotiation, true);
        await assertServerReceives(sock, server());
      });
    }
  });
});

/** Resolves with the promise, or fails the test after WAIT_MS naming what never happened. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The session once the server's NewSessionTicket arrived (it follows the handshake). */
async function sessionWithTicket(sock: RenegoSocket): Promise<ClientSession> {
  const current = sock.getSession();
  if (current?.ticket !== undefined) return current;
  return within(
    new Promise<ClientSession>((resolve) => {
      const onSession = (session: ClientSession): void => {
        if (session.ticket === undefined) return;
        sock.off('session', onSession);
        resolve(session);
      };
      sock.on('session', onSession);
    }),
    'session ticket',
  );
}
