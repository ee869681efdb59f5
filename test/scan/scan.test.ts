/**
 * renego scan against real servers on 127.0.0.1 in known configurations: each
 * check's outcome is asserted against what that configuration is known to do.
 * The renego presets run in-process; OpenSSL, GnuTLS and node:tls peers are the
 * helpers in test/peers/ (skipped, saying why, when a binary is missing).
 * Hostile targets must give a clear per-check error, never a hang.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import type { ServerPresetName } from '../../src/handshake/server-presets.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { STARTTLS_PROTOCOLS } from '../../src/scan/starttls.ts';
import { parseScanTarget } from '../../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanOptions, type ScanReport } from '../../src/scan/types.ts';
import { startServer, type RunningServer } from '../../src/server/start.ts';
import { encodeRecordHeader } from '../../src/wire/record.ts';
import { skipReason } from '../peers/binaries.ts';
import { startGnutlsServer } from '../peers/gnutls-server.ts';
import { startNodeTlsServer } from '../peers/node-server.ts';
import { startOpensslServer } from '../peers/openssl-server.ts';
import { startFloodServer } from '../peers/flood-server.ts';
import { startStartTlsServer } from '../peers/starttls-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const env = useTempPki('renego-scan-test-', 'rsa');

const FAST: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 3000, paths: ['/', '/secure'] };

function scan(port: number, opts: Partial<ScanOptions> = {}, prefix = ''): Promise<ScanReport> {
  return scanTarget(parseScanTarget(`${prefix}127.0.0.1:${port}`, { serverName: 'localhost' }), { ...FAST, ...opts });
}

function verdict(r: ScanReport, id: string): string | undefined {
  return r.verdicts.find((v) => v.id === id)?.answer;
}

function path(r: ScanReport, p: string): ScanReport['serverInitiated'][number] {
  const found = r.serverInitiated.find((x) => x.path === p);
  assert.ok(found, `no result for ${p}`);
  return found;
}

async function withPreset(
  preset: ServerPresetName,
  fn: (port: number) => Promise<void>,
  clientCert?: 'renegotiate',
): Promise<void> {
  const s: RunningServer = await startServer({
    host: '127.0.0.1',
    port: 0,
    preset,
    www: true,
    protectedPath: '/secure',
    ...(clientCert ? { clientCert } : {}),
    log: () => undefined,
  });
  try {
    await fn(s.port);
  } finally {
    await s.close();
  }
}

describe('renego server presets', () => {
  test('legacy-2009 accepts insecure renegotiation both ways, without limit: CVE-2009-3555 and CVE-2011-1473', async () => {
    await withPreset('legacy-2009', async (port) => {
      const r = await scan(port);
      assert.equal(r.ok, true);
      assert.deepEqual(r.secureRenegotiation.extension, false);
      assert.equal(r.secureRenegotiation.scsv, false);
      assert.equal(r.secureRenegotiation.required, false);
      assert.equal(r.clientInitiated.secure, 'not-tested');
      assert.equal(r.clientInitiated.insecure, 'completed');
      assert.equal(r.maxClientRenegotiations, 10);
      assert.equal(r.dos.limitMet, false);
      assert.equal(r.clientInitiated.split.glued, true);
      assert.deepEqual(r.vulnerabilities, ['CVE-2009-3555', 'CVE-2011-1473']);
      const secure = path(r, '/secure');
      assert.equal(secure.renegotiates, true);
      assert.equal(secure.requestsClientCert, true);
      assert.equal(secure.insecure, true);
      assert.deepEqual(secure.certificateAuthorities, ['CN=renego throwaway CA (rsa)']);
      assert.equal(secure.withoutCertificate, 'HTTP 403');
      assert.equal(path(r, '/').renegotiates, false);
      assert.ok(r.advice.some((a) => a.includes('switching renegotiation off would break /secure')));
    });
  });

  test('rfc5746 is fine: RFC 5746 enforced, legacy clients refused, CVE-2011-1473 limited at 3', async () => {
    await withPreset('rfc5746', async (port) => {
      const r = await scan(port);
      assert.deepEqual(
        [
          r.secureRenegotiation.extension,
          r.secureRenegotiation.scsv,
          r.secureRenegotiation.required,
          r.secureRenegotiation.enforced,
        ],
        [true, true, false, true],
      );
      assert.equal(r.clientInitiated.secure, 'completed');
      assert.equal(r.clientInitiated.insecure, 'refused-alert');
      assert.equal(r.maxClientRenegotiations, 3);
      assert.equal(r.dos.limitMet, true);
      assert.equal(r.dos.stoppedBy, 'refused-fatal');
      assert.equal(verdict(r, 'CVE-2011-1473'), 'limited');
      assert.equal(verdict(r, 'CVE-2009-3555'), 'no');
      assert.deepEqual(r.vulnerabilities, []);
      assert.equal(path(r, '/secure').requestsClientCert, true);
      assert.equal(path(r, '/secure').insecure, false);
      assert.equal(r.extendedMasterSecret, true);
      for (const e of r.secureRenegotiation.enforcement) assert.equal(e.result.outcome, 'refused-fatal', e.sent);
    });
  });

  test('rfc5746-strict requires secure renegotiation at the initial handshake', async () => {
    await withPreset('rfc5746-strict', async (port) => {
      const r = await scan(port);
      assert.equal(r.secureRenegotiation.required, true);
      assert.equal(r.clientInitiated.insecure, 'not-tested');
      assert.match(
        r.clientInitiated.details.insecure.outcome === 'not-tested' ? r.clientInitiated.details.insecure.reason : '',
        /refuses clients without RFC 5746/,
      );
      assert.equal(verdict(r, 'CVE-2009-3555'), 'no');
    });
  });

  test('iis-default renegotiates insecurely for client certificates only', async () => {
    await withPreset('iis-default', async (port) => {
      const r = await scan(port);
      assert.equal(r.clientInitiated.insecure, 'refused-alert');
      assert.equal(r.maxClientRenegotiations, 0);
      assert.equal(verdict(r, 'CVE-2011-1473'), 'no');
      assert.equal(path(r, '/secure').insecure, true);
      assert.deepEqual(r.vulnerabilities, ['CVE-2009-3555']);
    });
  });

  test('iis-977377 allows no renegotiation at all', async () => {
    await withPreset('iis-977377', async (port) => {
      const r = await scan(port);
      assert.equal(verdict(r, 'no-renegotiation'), 'yes');
      assert.deepEqual(r.vulnerabilities, []);
      assert.equal(path(r, '/secure').renegotiates, false);
    });
  });

  test('iis-always-nego-client-cert asks for the certificate in the initial handshake', async () => {
    await withPreset('iis-always-nego-client-cert', async (port) => {
      const r = await scan(port);
      assert.equal(r.baseline?.initialCertificateRequest, true);
      assert.equal(path(r, '/secure').renegotiates, false);
      assert.deepEqual(r.vulnerabilities, []);
    });
  });

  test('openssl3-default refuses client-initiated renegotiation with a warning', async () => {
    await withPreset('openssl3-default', async (port) => {
      const r = await scan(port);
      assert.equal(r.clientInitiated.secure, 'refused-alert');
      assert.equal(r.clientInitiated.insecure, 'refused-alert');
      assert.equal(r.maxClientRenegotiations, 0);
      assert.equal(verdict(r, 'no-renegotiation'), 'yes');
      assert.ok(r.advice.some((a) => a.startsWith('Nothing to do')));
    });
  });

  test('openssl3-default renegotiating for a client certificate: RFC 5746 enforcement shown on its own renegotiations', async () => {
    await withPreset(
      'openssl3-default',
      async (port) => {
        const r = await scan(port);
        // Client-initiated renegotiation is refused alike whatever renegotiation_info says: that half cannot tell.
        assert.equal(r.clientInitiated.secure, 'refused-alert');
        assert.ok(
          r.secureRenegotiation.enforcement
            .filter((e) => !e.sent.includes('HelloRequest'))
            .every((e) => e.result.outcome === 'refused-alert'),
        );
        const secure = path(r, '/secure');
        assert.equal(secure.renegotiates, true);
        assert.equal(secure.enforcement.length, 4);
        for (const e of secure.enforcement) assert.equal(e.result.outcome, 'refused-fatal', e.sent);
        assert.equal(secure.enforced, true);
        assert.equal(r.secureRenegotiation.enforced, true);
        assert.match(r.secureRenegotiation.reasons.enforced ?? '', /server-initiated renegotiation of GET \/secure/);
        assert.deepEqual(r.vulnerabilities, []);
      },
      'renegotiate',
    );
  });

  test('a server that silently drops renegotiation ClientHellos is reported as ignoring them, data still flowing', async (t) => {
    const s = await startServer({
      host: '127.0.0.1',
      port: 0,
      renegotiation: { refuseWith: 'ignore' },
      log: () => undefined,
    });
    t.after(() => s.close());
    const r = await scan(s.port, { http: false, timeoutMs: 1500, nudgeAfterMs: 500 });
    const secure = r.clientInitiated.details.secure;
    assert.equal(r.clientInitiated.secure, 'ignored', JSON.stringify(secure));
    // The echo server still answers: the scanner checked that data flows after the silence.
    assert.equal(secure.outcome !== 'not-tested' && secure.dataFlows, true, JSON.stringify(secure));
    assert.equal(r.maxClientRenegotiations, 0);
    assert.notEqual(verdict(r, 'CVE-2011-1473'), 'yes');
  });
});

test('an IPv6 target on ::1, by address and with --ipv6 by name', async (t) => {
  let s: RunningServer;
  try {
    s = await startServer({ host: '::1', port: 0, preset: 'rfc5746', log: () => undefined });
  } catch (e) {
    t.skip(`no IPv6 loopback here: ${(e as Error).message}`);
    return;
  }
  t.after(() => s.close());
  const byAddress = await scanTarget(parseScanTarget(`[::1]:${s.port}`), { ...FAST, http: false });
  assert.equal(byAddress.ok, true, byAddress.error);
  assert.equal(byAddress.target, `[::1]:${s.port}`);
  assert.equal(byAddress.clientInitiated.secure, 'completed');
  // --ipv6 by name needs a resolver that maps the name to ::1 (Debian's /etc/hosts may not).
  const ip6 = await lookup('localhost', { family: 6 }).catch(() => undefined);
  if (!ip6) return;
  const byName = await scanTarget(parseScanTarget(`localhost:${s.port}`, { family: 6 }), {
    ...FAST,
    http: false,
    maxRenegotiations: 1,
  });
  assert.equal(byName.address, ip6.address);
  assert.equal(byName.ok, ip6.address === '::1', byName.error);
});

describe('openssl s_server', { skip: skipReason('openssl') }, () => {
  // Echo mode: -www sleeps a second whenever a read would block, which only slows the scan down.
  const start = (args: string[]) =>
    startOpensslServer({ cert: env.files.serverCert, key: env.files.serverKey, msg: false, args });
  const noHttp = { http: false };

  test('default (OpenSSL 3): client-initiated renegotiation refused, TLS 1.3 seen', async (t) => {
    const s = await start([]);
    t.after(() => s.stop());
    const r = await scan(s.port, noHttp);
    assert.equal(r.versions['TLSv1.2'], true);
    assert.equal(r.versions['TLSv1.3'], true);
    assert.equal(r.versions['TLSv1'], false, 'security level 1 rules out TLS 1.0');
    assert.deepEqual(
      [r.secureRenegotiation.extension, r.secureRenegotiation.scsv, r.secureRenegotiation.required],
      [true, true, false],
    );
    assert.equal(r.clientInitiated.secure, 'refused-alert');
    assert.equal(r.clientInitiated.insecure, 'refused-alert');
    assert.equal(r.maxClientRenegotiations, 0);
    assert.deepEqual(r.vulnerabilities, []);
  });

  test('-client_renegotiation: secure renegotiation without limit (CVE-2011-1473), RFC 5746 enforced', async (t) => {
    const s = await start(['-client_renegotiation']);
    t.after(() => s.stop());
    const r = await scan(s.port, noHttp);
    assert.equal(r.clientInitiated.secure, 'completed');
    assert.equal(r.clientInitiated.insecure, 'refused-alert');
    assert.equal(r.secureRenegotiation.enforced, true);
    assert.equal(r.maxClientRenegotiations, 10);
    assert.deepEqual(r.vulnerabilities, ['CVE-2011-1473']);
  });

  test('-legacy_renegotiation -client_renegotiation: insecure renegotiation accepted (CVE-2009-3555)', async (t) => {
    const s = await start(['-legacy_renegotiation', '-client_renegotiation']);
    t.after(() => s.stop());
    const r = await scan(s.port, noHttp);
    assert.equal(r.clientInitiated.insecure, 'completed');
    // With unsafe legacy renegotiation allowed, OpenSSL also lets a secure session renegotiate without the extension.
    assert.equal(r.secureRenegotiation.enforced, false);
    assert.ok(r.vulnerabilities.includes('CVE-2009-3555'));
  });

  test('-no_renegotiation: every renegotiation refused', async (t) => {
    const s = await start(['-no_renegotiation']);
    t.after(() => s.stop());
    const r = await scan(s.port, noHttp);
    assert.equal(r.clientInitiated.secure, 'refused-alert');
    assert.equal(r.clientInitiated.insecure, 'refused-alert');
    assert.deepEqual(r.vulnerabilities, []);
    // Without HTTP no request can make the server renegotiate: that half stays unknown, not "safe".
    assert.equal(verdict(r, 'no-renegotiation'), 'could-not-test');
  });
});

describe('gnutls-serv', { skip: skipReason('gnutls-serv') }, () => {
  const start = (priority: string) =>
    startGnutlsServer({ cert: env.files.serverCert, key: env.files.serverKey, http: true, priority });

  test('default: secure client-initiated renegotiation without limit, legacy refused', async (t) => {
    const s = await start('NORMAL');
    t.after(() => s.stop());
    const r = await scan(s.port);
    assert.equal(r.clientInitiated.secure, 'completed');
    assert.equal(r.clientInitiated.insecure, 'refused-alert');
    assert.equal(r.secureRenegotiation.enforced, true);
    assert.equal(r.maxClientRenegotiations, 10);
    assert.deepEqual(r.vulnerabilities, ['CVE-2011-1473']);
  });

  test('%UNSAFE_RENEGOTIATION: a legacy client renegotiates (CVE-2009-3555) and the split request is glued', async (t) => {
    const s = await start('NORMAL:%UNSAFE_RENEGOTIATION');
    t.after(() => s.stop());
    const r = await scan(s.port);
    assert.equal(r.secureRenegotiation.extension, true);
    assert.equal(r.clientInitiated.insecure, 'completed');
    assert.equal(r.clientInitiated.split.over, 'insecure');
    assert.equal(r.clientInitiated.split.glued, true);
    assert.ok(r.vulnerabilities.includes('CVE-2009-3555'));
  });

  test('%DISABLE_SAFE_RENEGOTIATION: no renegotiation_info at all, insecure renegotiation accepted', async (t) => {
    const s = await start('NORMAL:%DISABLE_SAFE_RENEGOTIATION');
    t.after(() => s.stop());
    const r = await scan(s.port);
    assert.equal(r.secureRenegotiation.extension, false);
    assert.equal(r.secureRenegotiation.scsv, false);
    assert.equal(r.secureRenegotiation.enforced, null);
    assert.equal(r.clientInitiated.secure, 'not-tested');
    assert.equal(r.clientInitiated.insecure, 'completed');
    assert.ok(r.vulnerabilities.includes('CVE-2009-3555'));
  });
});

describe('node:tls servers', () => {
  test('an HTTPS server that renegotiates for a client certificate on one path', async (t) => {
    const s = await startNodeTlsServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      ca: env.files.ca,
      renegotiatePath: '/secure',
    });
    t.after(() => s.stop());
    const r = await scan(s.port);
    const secure = path(r, '/secure');
    assert.equal(secure.renegotiates, true);
    assert.equal(secure.requestsClientCert, true);
    assert.deepEqual(secure.certificateAuthorities, ['CN=renego throwaway CA (rsa)']);
    assert.equal(secure.withoutCertificate, 'alert fatal handshake_failure');
    assert.equal(secure.insecure, false, 'OpenSSL refuses to renegotiate with a legacy client');
    assert.equal(secure.enforced, true);
    for (const e of secure.enforcement) assert.equal(e.result.outcome, 'refused-fatal', e.sent);
    assert.equal(path(r, '/').renegotiates, false);
    // Node allows 3 client-initiated renegotiations per 10 minutes, then destroys the socket.
    assert.equal(r.maxClientRenegotiations, 3);
    assert.equal(r.dos.stoppedBy, 'closed');
    assert.equal(verdict(r, 'CVE-2011-1473'), 'limited');
    assert.deepEqual(r.vulnerabilities, []);
    assert.ok(r.advice.some((a) => a.includes('Client certificates are obtained by renegotiation on /secure')));
  });

  test('SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION: its own renegotiation goes ahead without renegotiation_info', async (t) => {
    const s = await startNodeTlsServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      ca: env.files.ca,
      renegotiatePath: '/secure',
      secureOptions: constants.SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION,
    });
    t.after(() => s.stop());
    const r = await scan(s.port);
    const secure = path(r, '/secure');
    assert.equal(secure.enforced, false);
    // OpenSSL's final_renegotiate lets a missing extension through under this option; wrong values still fail.
    const omitted = secure.enforcement.find((e) => e.sent.startsWith('no renegotiation_info'));
    assert.ok(
      omitted && omitted.result.outcome !== 'not-tested' && omitted.result.serverHello,
      JSON.stringify(secure.enforcement),
    );
    const wrong = secure.enforcement.find((e) => e.sent.includes('random bytes'));
    assert.equal(wrong?.result.outcome, 'refused-fatal');
    assert.equal(r.secureRenegotiation.enforced, false);
    assert.ok(r.vulnerabilities.includes('CVE-2009-3555'));
  });

  test('a TLS 1.3-only server: no renegotiation possible, nothing reported as tested', async (t) => {
    const s = await startNodeTlsServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    });
    t.after(() => s.stop());
    const r = await scan(s.port);
    assert.equal(r.ok, true);
    assert.deepEqual(r.versions, { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': true });
    assert.equal(verdict(r, 'no-renegotiation'), 'yes');
    assert.equal(r.clientInitiated.secure, 'not-tested');
    assert.equal(r.secureRenegotiation.extension, null);
    assert.deepEqual(r.vulnerabilities, []);
  });
});

describe('STARTTLS: each dialogue runs before every probe connection', () => {
  for (const protocol of STARTTLS_PROTOCOLS) {
    test(
      `${protocol}: the test server is right (openssl s_client -starttls ${protocol} gets through it)`,
      {
        skip: skipReason('openssl'),
      },
      async (t) => {
        const s = await startStartTlsServer(protocol, env.pki);
        t.after(() => s.close());
        const out = await opensslStartTls(protocol, s.port);
        assert.match(out, /Protocol version: TLSv1\.2/, out);
      },
    );

    test(`${protocol}: renego scan gets through it on every probe`, async (t) => {
      const s = await startStartTlsServer(protocol, env.pki);
      t.after(() => s.close());
      const r = await scan(s.port, {}, `${protocol}://`);
      assert.equal(r.ok, true, r.error);
      assert.equal(r.starttls, protocol);
      assert.equal(r.baseline?.version, 'TLSv1.2');
      assert.equal(r.clientInitiated.secure, 'completed');
      // A bare tls.TLSSocket has none of tls.Server's renegotiation limit (CLIENT_RENEG_LIMIT).
      assert.equal(r.maxClientRenegotiations, 10);
      assert.deepEqual(r.vulnerabilities, ['CVE-2011-1473']);
      assert.match(path(r, '/').reason ?? '', new RegExp(`not an HTTP service \\(${protocol}\\)`));
    });
  }

  test('a server that never finishes its greeting is cut off at 64 KiB with a clear error', async (t) => {
    const server = await startFloodServer({ afterRequest: false });
    t.after(() => server.close());
    const r = await scan(server.port, { timeoutMs: 5000, retries: 0 }, 'pop3://');
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /pop3 STARTTLS: over 65536 bytes/);
    assert.equal(r.reachability, 'starttls-failed');
  });
});

/** `openssl s_client -starttls PROTO` through the test server, stdin closed: its -brief summary. */
function opensslStartTls(protocol: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-starttls', protocol, '-brief', '-servername', 'localhost'],
      { timeout: 10_000 },
      (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
    );
    child.stdin?.end();
  });
}

test('an HTTPS server with an endless answer: the path probe keeps the first MiB and moves on', async (t) => {
  const server = await startFloodServer({
    tls: { cert: env.pki.server.chainPem, key: env.pki.server.keyPem, maxVersion: 'TLSv1.2' },
    afterRequest: true,
    preamble: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n',
  });
  t.after(() => server.close());
  const timeoutMs = 5000;
  const r = await scan(server.port, { paths: ['/'], timeoutMs });
  assert.equal(r.ok, true, r.error);
  assert.equal(path(r, '/').renegotiates, false);
  assert.equal(path(r, '/').status, 'HTTP 200');
  // Without the cap the probe would wait for the end of the body until its timeout.
  const ms = r.timings.probes['server-initiated'] ?? Infinity;
  assert.ok(ms < timeoutMs, `the path probe took ${ms} ms`);
});

describe('hostile targets give a clear error, never a hang', () => {
  const bounded = { timeoutMs: 1000, retries: 0 };

  async function hostile(handler: (s: net.Socket) => void, check: (r: ScanReport) => void): Promise<void> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
      handler(s);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const t0 = Date.now();
      const r = await scan((server.address() as net.AddressInfo).port, bounded);
      assert.ok(Date.now() - t0 < 15_000, `scan took ${Date.now() - t0} ms`);
      assert.equal(r.ok, false);
      assert.deepEqual(r.vulnerabilities, []);
      assert.ok(r.advice[0]?.startsWith('The target could not be scanned'));
      check(r);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  test('a server that closes mid-handshake', async () => {
    await hostile(
      (s) => s.once('data', () => s.end()),
      (r) => {
        assert.match(r.error ?? '', /PeerClosed|closed/);
        assert.equal(r.reachability, 'closed');
      },
    );
  });

  test('a server that never answers', async () => {
    await hostile(
      () => undefined,
      (r) => {
        assert.match(r.error ?? '', /Timeout|timed out|no answer/);
        assert.equal(r.reachability, 'silent');
      },
    );
  });

  test('a plaintext HTTP server', async () => {
    await hostile(
      (s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')),
      (r) => {
        assert.match(r.error ?? '', /DecodeError|UnexpectedMessage|ProtocolVersion|record/i);
        assert.equal(r.reachability, 'not-tls');
      },
    );
  });

  test('a server that sends random bytes', async () => {
    await hostile(
      (s) => s.once('data', () => s.write(Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) & 0xff)))),
      (r) => {
        assert.match(r.error ?? '', /Error|record/);
        assert.equal(r.reachability, 'not-tls');
      },
    );
  });

  test('a server whose certificate message claims 16 MiB', async () => {
    await hostile(
      (s) => s.once('data', () => s.write(hugeCertificateFlight())),
      (r) => {
        assert.match(r.error ?? '', /MessageTooLarge/);
        // A ServerHello came first: a TLS server, whose handshake then failed.
        assert.equal(r.reachability, 'reachable');
      },
    );
  });
});

/** A plausible ServerHello followed by the header of a 16 MiB Certificate message. */
function hugeCertificateFlight(): Buffer {
  const hello = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 7),
    Buffer.from([0x00]), // session_id
    Buffer.from([0xc0, 0x2f]), // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    Buffer.from([0x00]), // compression
  ]);
  const sh = Buffer.concat([Buffer.from([0x02, 0x00, 0x00, hello.length]), hello]);
  const cert = Buffer.concat([Buffer.from([0x0b, 0xff, 0xff, 0xff]), Buffer.alloc(1000, 0x30)]);
  const body = Buffer.concat([sh, cert]);
  return Buffer.concat([Buffer.from(encodeRecordHeader(22, 0x0303, body.length)), body]);
}
