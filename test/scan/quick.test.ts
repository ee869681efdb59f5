/**
 * `renego scan --quick` answers its questions — RFC 5746 by extension and by
 * SCSV, a legacy client refused, secure and insecure client-initiated
 * renegotiation, TLS 1.3 only — exactly as the full audit does on the same
 * server, and runs only its own probes. The full audit is the ground truth here:
 * test/scan/scan.test.ts checks it against what each configuration is known to do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PLANS } from '../../src/scan/probes/registry.ts';
import { checkPlan } from '../../src/scan/scheduler.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { parseScanTarget } from '../../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanOptions, type ScanReport } from '../../src/scan/types.ts';
import { startServer } from '../../src/server/start.ts';
import { ProtocolVersion } from '../../src/wire/enums.ts';
import { skipReason } from '../peers/binaries.ts';
import { startGnutlsServer } from '../peers/gnutls-server.ts';
import { startNodeTlsServer } from '../peers/node-server.ts';
import { startOpensslServer } from '../peers/openssl-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const env = useTempPki('renego-scan-quick-test-', 'rsa');

const OPTS: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 3000 };

function scan(port: number, opts: Partial<ScanOptions>): Promise<ScanReport> {
  return scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), { ...OPTS, ...opts });
}

/** What --quick answers, read from a report. */
function quickAnswers(r: ScanReport): unknown {
  const sr = r.secureRenegotiation;
  return {
    ok: r.ok,
    versions: r.versions,
    extension: sr.extension,
    scsv: sr.scsv,
    required: sr.required,
    secure: r.clientInitiated.secure,
    insecure: r.clientInitiated.insecure,
    insecureAccepted: r.verdicts.find((v) => v.id === 'CVE-2009-3555')?.answer === 'yes',
  };
}

async function agrees(port: number, opts: Partial<ScanOptions> = {}): Promise<ScanReport> {
  const full = await scan(port, opts);
  const quick = await scan(port, { ...opts, plan: 'quick' });
  assert.deepEqual(quickAnswers(quick), quickAnswers(full));
  const ran = Object.keys(quick.timings.probes);
  for (const id of ran)
    assert.ok(
      PLANS.quick.some((p) => p.id === id),
      `${id} is not a quick probe`,
    );
  assert.equal(quick.dos.accepted, null, 'no renegotiation run in --quick');
  // Over TLS 1.0–1.2 the run was left out; a TLS 1.3-only server has its own reason.
  assert.match(quick.dos.reason ?? '', quick.baseline ? /--quick/ : /TLS 1\.3 only/);
  assert.deepEqual(quick.serverInitiated, []);
  return quick;
}

test('the plans list every need before the probe that needs it', () => {
  for (const plan of Object.values(PLANS)) checkPlan(plan);
  assert.throws(() => checkPlan([...PLANS.full].reverse()), /needs/);
});

describe('--quick agrees with the full audit', () => {
  for (const preset of ['legacy-2009', 'rfc5746', 'rfc5746-strict', 'openssl3-default'] as const) {
    test(`renego server --preset ${preset}`, async (t) => {
      const s = await startServer({ host: '127.0.0.1', port: 0, preset, www: true, log: () => undefined });
      t.after(() => s.close());
      const quick = await agrees(s.port);
      if (preset === 'legacy-2009') assert.equal(quick.clientInitiated.insecure, 'completed');
    });
  }

  for (const priority of ['NORMAL', 'NORMAL:%UNSAFE_RENEGOTIATION', 'NORMAL:%DISABLE_SAFE_RENEGOTIATION']) {
    test(`gnutls-serv ${priority}`, { skip: skipReason('gnutls-serv') }, async (t) => {
      const s = await startGnutlsServer({
        cert: env.files.serverCert,
        key: env.files.serverKey,
        http: true,
        priority,
      });
      t.after(() => s.stop());
      await agrees(s.port);
    });
  }

  test('openssl s_server -legacy_renegotiation -client_renegotiation', { skip: skipReason('openssl') }, async (t) => {
    const s = await startOpensslServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      msg: false,
      args: ['-legacy_renegotiation', '-client_renegotiation'],
    });
    t.after(() => s.stop());
    await agrees(s.port, { http: false });
  });

  test('a TLS 1.3-only node:tls server', async (t) => {
    const s = await startNodeTlsServer({
      cert: env.files.serverCert,
      key: env.files.serverKey,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    });
    t.after(() => s.stop());
    const quick = await agrees(s.port);
    assert.equal(quick.versions['TLSv1.3'], true);
  });
});

describe('the RFC 5746 checks connect with the plan, on the first try settings, before the baseline is done', () => {
  test('taken when the baseline settled on TLS 1.2: their round trips count from the start', async (t) => {
    const s = await startServer({ host: '127.0.0.1', port: 0, preset: 'legacy-2009', www: true, log: () => undefined });
    t.after(() => s.close());
    const quick = await scan(s.port, { plan: 'quick' });
    assert.equal(quick.baseline?.version, 'TLSv1.2');
    assert.equal(quick.clientInitiated.insecure, 'completed');
    // handshake (3) then the secure renegotiation (2), alongside the legacy hello (3) then the insecure one (2).
    assert.equal(quick.timings.roundTrips, 5);
  });

  test('made again at what the baseline settled on when it was not TLS 1.2', async (t) => {
    const s = await startServer({
      host: '127.0.0.1',
      port: 0,
      preset: 'legacy-2009',
      maxVersion: ProtocolVersion['TLSv1.1'],
      www: true,
      log: () => undefined,
    });
    t.after(() => s.close());
    const quick = await agrees(s.port);
    assert.equal(quick.baseline?.version, 'TLSv1.1');
    assert.equal(quick.secureRenegotiation.required, false);
    assert.equal(quick.clientInitiated.insecure, 'completed');
    assert.ok(
      quick.secureRenegotiation.evidence.some((l) => l.includes('TLSv1.1')),
      quick.secureRenegotiation.evidence.join('\n'),
    );
    // The legacy hello waited for the baseline this time: 3 + 3, then the insecure renegotiation (2).
    assert.equal(quick.timings.roundTrips, 8);
  });
});
