/**
 * Probes that read only the server's first flight (the TLS 1.3 check, the SCSV
 * check, TLS 1.1 and 1.0): the ClientHello goes out with a close_notify behind
 * it, so a server that runs one handshake at a time and waits inside it for the
 * client's next flight (gnutls-serv) ends that handshake as soon as it has
 * answered instead of holding its other connections. Checked against real
 * gnutls-serv, openssl s_server and JSSE: the server lets go without our TCP close,
 * and what the first flight shows is what the full handshake shows. Behind a
 * proxy that adds round-trip time, the scan sees gnutls-serv answer hellos one
 * handshake at a time (timings.handshakesQueued) and sends them one at a time,
 * with the same report as without the proxy.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { closeNotify, openFirstFlight, openSession } from '../../src/scan/probe-session.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { SCAN_SUITES } from '../../src/scan/probes/context.ts';
import { ServerHelloReader, tls13Hello } from '../../src/scan/probes/tls13.ts';
import { parseScanTarget } from '../../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS } from '../../src/scan/types.ts';
import { ContentType, ProtocolVersion } from '../../src/wire/enums.ts';
import { skipReason } from '../peers/binaries.ts';
import { startDelayProxy } from '../peers/delay-proxy.ts';
import { startGnutlsServer } from '../peers/gnutls-server.ts';
import { startJavaServer } from '../peers/java-server.ts';
import { listenLocal, type LocalServer } from '../peers/local-server.ts';
import { startOpensslServer } from '../peers/openssl-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const env = useTempPki('renego-first-flight-test-', 'rsa');
const OPTS = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 5000 };

/**
 * Sends `bytes` on a raw connection that we never close ourselves, and collects what the
 * server sends until it closes or `waitMs` passes; `closedByServer` says which.
 */
async function exchange(
  port: number,
  bytes: Uint8Array,
  waitMs: number,
): Promise<{ got: Buffer; closedByServer: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(bytes);
    const closedByServer = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), waitMs);
      socket.once('end', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    return { got: Buffer.concat(chunks), closedByServer };
  } finally {
    socket.destroy();
  }
}

function versionOf(
  r: Awaited<ReturnType<typeof openFirstFlight>>,
): { version: number; secureRenegotiation: boolean } | string {
  if (!r.ok) return `failed: ${r.failure.error}`;
  return { version: r.flight.serverHello.version, secureRenegotiation: r.flight.secureRenegotiation };
}

describe('gnutls-serv', { skip: skipReason('gnutls-serv') }, () => {
  const start = (priority: string) =>
    startGnutlsServer({ cert: env.files.serverCert, key: env.files.serverKey, http: true, priority });

  test('a close_notify behind the hello: the server answers and ends the handshake itself', async (t) => {
    const s = await start('NORMAL');
    t.after(() => s.stop());
    const hello = tls13Hello('localhost');
    const withClose = await exchange(s.port, Buffer.concat([hello, closeNotify(ProtocolVersion['TLSv1.2'])]), 5000);
    assert.equal(new ServerHelloReader().push(new Uint8Array(withClose.got))?.value, true);
    assert.ok(withClose.closedByServer, 'gnutls-serv closed the connection on the close_notify');
    // Without it the server sits in its handshake waiting for our Finished (its own timeout is 40 s).
    const without = await exchange(s.port, hello, 1000);
    assert.equal(new ServerHelloReader().push(new Uint8Array(without.got))?.value, true);
    assert.equal(without.closedByServer, false, 'gnutls-serv waits for the next flight when no close_notify came');
  });

  for (const [priority, secure] of [
    ['NORMAL', true],
    ['NORMAL:%DISABLE_SAFE_RENEGOTIATION', false],
  ] as const) {
    test(`${priority}: the first flight shows the version and renegotiation_info the handshake shows`, async (t) => {
      const s = await start(priority);
      t.after(() => s.stop());
      const target = parseScanTarget(`127.0.0.1:${s.port}`, { serverName: 'localhost' });
      for (const version of [ProtocolVersion['TLSv1.2'], ProtocolVersion.TLSv1]) {
        const engine = {
          minVersion: version,
          maxVersion: version,
          cipherSuites: SCAN_SUITES,
          renegotiation: { signal: 'scsv' as const, allowLegacyServer: true },
        };
        const flight = await openFirstFlight(target, '127.0.0.1', engine, OPTS);
        const full = await openSession(target, '127.0.0.1', engine, OPTS);
        assert.ok(full.ok, full.ok ? '' : full.failure.error);
        full.session.close();
        assert.deepEqual(versionOf(flight), { version, secureRenegotiation: secure });
        assert.equal(full.session.summary.secureRenegotiation, secure);
        assert.equal(full.session.summary.version, version);
      }
    });
  }
  test('behind 50 ms each way: hellos answered one handshake at a time, sent one at a time, the same report', async (t) => {
    const s = await start('NORMAL');
    t.after(() => s.stop());
    const proxy = await startDelayProxy(s.port, 50);
    t.after(() => proxy.close());
    const opts = { ...OPTS, paths: ['/', '/secure'] };
    const scan = (port: number) => scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), opts);
    const far = await scan(proxy.port);
    const near = await scan(s.port);
    assert.equal(
      far.timings.handshakesQueued,
      true,
      'gnutls-serv held a ClientHello while it finished another handshake',
    );
    const answers = (r: typeof far) => ({
      versions: r.versions,
      sr: [
        r.secureRenegotiation.extension,
        r.secureRenegotiation.scsv,
        r.secureRenegotiation.required,
        r.secureRenegotiation.enforced,
      ],
      ci: [r.clientInitiated.secure, r.clientInitiated.insecure, r.clientInitiated.split.glued],
      run: [r.dos.accepted, r.dos.stoppedBy],
      paths: r.serverInitiated.map((p) => [p.path, p.renegotiates, p.status]),
      verdicts: r.verdicts.map((v) => [v.id, v.answer]),
    });
    assert.deepEqual(answers(far), answers(near));
  });
});

test(
  'openssl s_server: a version it refuses is a failure with its alert, as in a handshake',
  {
    skip: skipReason('openssl'),
  },
  async (t) => {
    const s = await startOpensslServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      msg: false,
      args: ['-tls1_2'],
    });
    t.after(() => s.stop());
    const target = parseScanTarget(`127.0.0.1:${s.port}`, { serverName: 'localhost' });
    const at = (version: number) => ({ minVersion: version, maxVersion: version, cipherSuites: SCAN_SUITES });
    const refused = await openFirstFlight(target, '127.0.0.1', at(ProtocolVersion['TLSv1.1']), OPTS);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.failure.alert !== undefined, 'the refusal is the server alert');
    assert.deepEqual(versionOf(await openFirstFlight(target, '127.0.0.1', at(ProtocolVersion['TLSv1.2']), OPTS)), {
      version: ProtocolVersion['TLSv1.2'],
      secureRenegotiation: true,
    });
  },
);

test(
  'JSSE: the first flight shows what the handshake shows, at each version and for TLS 1.3',
  { skip: skipReason('java') },
  async (t) => {
    const s = await startJavaServer({ cert: env.files.serverCert, key: env.files.serverKey, legacyVersions: true });
    t.after(() => s.stop());
    const target = parseScanTarget(`127.0.0.1:${s.port}`, { serverName: 'localhost' });
    for (const version of [ProtocolVersion['TLSv1.2'], ProtocolVersion['TLSv1.1'], ProtocolVersion.TLSv1]) {
      for (const signal of ['extension', 'scsv'] as const) {
        const engine = {
          minVersion: version,
          maxVersion: version,
          cipherSuites: SCAN_SUITES,
          renegotiation: { signal, allowLegacyServer: true },
        };
        const flight = await openFirstFlight(target, '127.0.0.1', engine, OPTS);
        const full = await openSession(target, '127.0.0.1', engine, OPTS);
        const shown = full.ok
          ? { version: full.session.summary.version, secureRenegotiation: full.session.summary.secureRenegotiation }
          : `failed: ${full.failure.error}`;
        if (full.ok) full.session.close();
        assert.deepEqual(versionOf(flight), shown, `version ${version.toString(16)}, ${signal}`);
      }
    }
    // TLS 1.3: legacyVersions enables TLS 1.0–1.2 only; JSSE's defaults (TLS 1.3 and 1.2) answer it.
    const hello = Buffer.concat([tls13Hello('localhost'), closeNotify(ProtocolVersion['TLSv1.2'])]);
    const off = await exchange(s.port, hello, 5000);
    assert.equal(new ServerHelloReader().push(new Uint8Array(off.got))?.value, false);
    const d = await startJavaServer({ cert: env.files.serverCert, key: env.files.serverKey });
    t.after(() => d.stop());
    const on = await exchange(d.port, hello, 5000);
    assert.equal(new ServerHelloReader().push(new Uint8Array(on.got))?.value, true);
  },
);

/**
 * A TCP proxy in front of a real server that behaves like a server reading all it has been sent
 * before it writes: a connection whose first bytes hold an alert record behind the ClientHello
 * (our close_notify) is closed without a word; any other is relayed both ways.
 */
async function readsAllFirst(upstreamPort: number): Promise<LocalServer & { dropped: () => number }> {
  let dropped = 0;
  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    client.once('data', (first: Buffer) => {
      // The records of the first chunk: an alert after the hello is our close_notify.
      for (let at = 0; at + 5 <= first.length; at += 5 + first.readUInt16BE(at + 3)) {
        if (at > 0 && first[at] === ContentType.alert) {
          dropped++;
          client.destroy();
          return;
        }
      }
      const up = net.connect(upstreamPort, '127.0.0.1');
      local.track(up);
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
      up.write(first);
      client.pipe(up).pipe(client);
    });
  });
  const local = await listenLocal(server);
  return { ...local, dropped: () => dropped };
}

test(
  'a server that reads the close_notify before it answers: the hello is asked again as a full handshake, with the same report',
  { skip: skipReason('openssl') },
  async (t) => {
    const s = await startOpensslServer({ cert: env.files.serverCert, key: env.files.serverKey, msg: false });
    t.after(() => s.stop());
    const proxy = await readsAllFirst(s.port);
    t.after(() => proxy.close());
    const scan = (port: number) =>
      scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), { ...OPTS, http: false });
    const near = await scan(s.port);
    const far = await scan(proxy.port);
    assert.ok(proxy.dropped() > 0, 'the proxy closed first flights without a word');
    const answers = (r: typeof far) => ({
      versions: r.versions,
      sr: [r.secureRenegotiation.extension, r.secureRenegotiation.scsv, r.secureRenegotiation.required],
      verdicts: r.verdicts.map((v) => [v.id, v.answer]),
    });
    assert.equal(near.secureRenegotiation.scsv, true);
    assert.deepEqual(answers(far), answers(near));
  },
);
