/**
 * The scanner's pure parts: verdicts from evidence (each answer yes / no /
 * could-not-test, a missing extension never a vulnerability by itself), target
 * and shard parsing, the DN reader, the text and JSON output, and the command's
 * exit codes and streaming against an in-process renego server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { describe, test } from 'node:test';
import { distinguishedName } from '../../src/scan/evidence.ts';
import { ConnectionGate } from '../../src/scan/gate.ts';
import { ServerHelloReader, tls13Hello } from '../../src/scan/probes/tls13.ts';
import { htmlReport } from '../../src/scan/report/html.ts';
import { formatText, paintFor } from '../../src/scan/report/text.ts';
import { inShard, parseScanTarget, parseShard, targetLines } from '../../src/scan/targets.ts';
import type { ClientInitiatedResult, ScanReport, ServerInitiatedPath } from '../../src/scan/types.ts';
import { judge, type Evidence } from '../../src/scan/verdict.ts';
import { runScanCommand } from '../../src/tools/scan.ts';
import { EXIT } from '../../src/tools/usage.ts';
import type { ScanIo } from '../../src/tools/scan-options.ts';
import { startServer } from '../../src/server/start.ts';
import { TlsError } from '../../src/wire/errors.ts';
import { createTestPki } from '../../src/pki/throwaway.ts';

const done = (outcome: Exclude<ClientInitiatedResult['outcome'], 'not-tested'>): ClientInitiatedResult => ({
  outcome,
  ms: 5,
});
const notTested = (reason: string): ClientInitiatedResult => ({ outcome: 'not-tested', reason });

function evidence(over: Partial<Evidence> = {}): Evidence {
  const base: Evidence = {
    target: 't:443',
    host: 't',
    port: 443,
    ok: true,
    reachability: 'reachable',
    versions: { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': true, 'TLSv1.3': true },
    baseline: {
      version: 'TLSv1.2',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      suites: [],
      secureRenegotiation: true,
      extendedMasterSecret: true,
      initialCertificateRequest: false,
      certificateAuthorities: [],
      peerCertificate: undefined,
      attempts: [],
      evidence: [],
    },
    secureRenegotiation: {
      extension: true,
      scsv: true,
      required: false,
      enforced: true,
      reasons: {},
      enforcement: [],
      evidence: [],
    },
    clientInitiated: {
      secure: 'refused-alert',
      insecure: 'refused-alert',
      details: { secure: done('refused-alert'), insecure: done('refused-alert') },
      split: { glued: null, over: undefined, evidence: [] },
    },
    maxClientRenegotiations: 0,
    dos: {
      accepted: 0,
      max: 10,
      limitMet: true,
      stoppedBy: 'refused-alert',
      ratePerSecond: null,
      over: undefined,
      attempts: [],
    },
    serverInitiated: [
      {
        path: '/',
        renegotiates: false,
        requestsClientCert: false,
        certificateAuthorities: [],
        insecure: false,
        enforced: null,
        enforcement: [],
        evidence: [],
      },
    ],
    extendedMasterSecret: true,
    certificateChange: null,
    timings: { totalMs: 1, probes: {} },
    scannedAt: '2026-01-01T00:00:00.000Z',
    scanner: 'test',
  };
  return { ...base, ...over };
}

function answers(e: Evidence): Record<string, string> {
  return Object.fromEntries(judge(e).verdicts.map((v) => [v.id, v.answer]));
}

const certPath: ServerInitiatedPath = {
  path: '/secure',
  renegotiates: true,
  requestsClientCert: true,
  certificateAuthorities: ['CN=CA'],
  withoutCertificate: 'HTTP 403',
  insecure: false,
  enforced: true,
  enforcement: [],
  evidence: [],
};

describe('verdicts', () => {
  test('a server that refuses every renegotiation needs nothing done', () => {
    const j = judge(evidence());
    assert.deepEqual(j.vulnerabilities, []);
    assert.deepEqual(answers(evidence()), {
      'CVE-2009-3555': 'no',
      'CVE-2011-1473': 'no',
      'triple-handshake': 'no',
      'no-renegotiation': 'yes',
    });
    assert.ok(j.advice[0]!.startsWith('Nothing to do'));
  });

  test('a missing extension alone is not a vulnerability', () => {
    const e = evidence({
      secureRenegotiation: {
        extension: false,
        scsv: false,
        required: false,
        enforced: null,
        reasons: {},
        enforcement: [],
        evidence: [],
      },
      clientInitiated: {
        secure: 'not-tested',
        insecure: 'refused-alert',
        details: { secure: notTested('no RFC 5746'), insecure: done('refused-alert') },
        split: { glued: null, over: undefined, evidence: [] },
      },
    });
    assert.equal(answers(e)['CVE-2009-3555'], 'no');
    assert.deepEqual(judge(e).vulnerabilities, []);
  });

  test('insecure client-initiated renegotiation completing is CVE-2009-3555', () => {
    const e = evidence({
      clientInitiated: {
        secure: 'completed',
        insecure: 'completed',
        details: { secure: done('completed'), insecure: done('completed') },
        split: { glued: true, over: 'insecure', evidence: [] },
      },
    });
    const j = judge(e);
    assert.ok(j.vulnerabilities.includes('CVE-2009-3555'));
    assert.ok(j.advice.some((a) => a.includes('renego guard')));
  });

  test('RFC 5746 advertised but not enforced is CVE-2009-3555 whatever the ServerHello said', () => {
    const e = evidence();
    e.secureRenegotiation = {
      ...e.secureRenegotiation,
      enforced: false,
      enforcement: [
        { sent: 'empty renegotiated_connection', result: { outcome: 'completed', ms: 3, serverHello: true } },
      ],
    };
    assert.equal(answers(e)['CVE-2009-3555'], 'yes');
  });

  test('an insecure probe that could not run is never reported as safe', () => {
    const e = evidence();
    e.clientInitiated = {
      ...e.clientInitiated,
      insecure: 'not-tested',
      details: { ...e.clientInitiated.details, insecure: notTested('could not connect') },
    };
    e.secureRenegotiation = { ...e.secureRenegotiation, required: null };
    assert.equal(answers(e)['CVE-2009-3555'], 'could-not-test');
    assert.ok(judge(e).advice.some((a) => a.includes('not "safe"')));
  });

  test('a legacy client refused at the initial handshake rules out insecure renegotiation', () => {
    const e = evidence();
    e.clientInitiated = {
      ...e.clientInitiated,
      insecure: 'not-tested',
      details: { ...e.clientInitiated.details, insecure: notTested('refused') },
    };
    e.secureRenegotiation = { ...e.secureRenegotiation, required: true };
    assert.equal(answers(e)['CVE-2009-3555'], 'no');
  });

  test('a rate-limited server is neither unlimited nor immune: CVE-2011-1473 limited', () => {
    const e = evidence({
      clientInitiated: {
        secure: 'completed',
        insecure: 'refused-alert',
        details: { secure: done('completed'), insecure: done('refused-alert') },
        split: { glued: null, over: undefined, evidence: [] },
      },
      dos: {
        accepted: 3,
        max: 10,
        limitMet: true,
        stoppedBy: 'closed',
        ratePerSecond: 40,
        over: 'secure',
        attempts: [],
      },
      maxClientRenegotiations: 3,
    });
    assert.equal(answers(e)['CVE-2011-1473'], 'limited');
    assert.deepEqual(judge(e).vulnerabilities, []);
    assert.ok(judge(e).advice.some((a) => a.includes('lets 3 through on each connection')));
  });

  test('all renegotiations accepted in a row is CVE-2011-1473', () => {
    const e = evidence({
      clientInitiated: {
        secure: 'completed',
        insecure: 'refused-alert',
        details: { secure: done('completed'), insecure: done('refused-alert') },
        split: { glued: null, over: undefined, evidence: [] },
      },
      dos: { accepted: 10, max: 10, limitMet: false, ratePerSecond: 90, over: 'secure', attempts: [] },
      maxClientRenegotiations: 10,
    });
    assert.deepEqual(judge(e).vulnerabilities, ['CVE-2011-1473']);
  });

  test('renegotiation without EMS is the triple-handshake exposure', () => {
    const e = evidence({ extendedMasterSecret: false, serverInitiated: [certPath] });
    assert.equal(answers(e)['triple-handshake'], 'yes');
    assert.equal(answers(evidence({ extendedMasterSecret: false }))['triple-handshake'], 'no');
  });

  test('client certificates by renegotiation: advice lists the paths that would break', () => {
    const e = evidence({
      serverInitiated: [certPath],
      secureRenegotiation: {
        extension: false,
        scsv: false,
        required: false,
        enforced: null,
        reasons: {},
        enforcement: [],
        evidence: [],
      },
    });
    e.serverInitiated = [{ ...certPath, insecure: true }];
    const j = judge(e);
    assert.ok(j.vulnerabilities.includes('CVE-2009-3555'));
    assert.ok(j.advice.some((a) => a.includes('SSLAlwaysNegoClientCert') && a.includes('/secure')));
    assert.ok(j.advice.some((a) => a.includes('would break /secure')));
  });

  test('TLS 1.3 only: no renegotiation possible and every other answer no', () => {
    const e = evidence({
      versions: { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': true },
      serverInitiated: [],
    });
    delete e.baseline;
    assert.deepEqual(answers(e), {
      'CVE-2009-3555': 'no',
      'CVE-2011-1473': 'no',
      'triple-handshake': 'no',
      'no-renegotiation': 'yes',
    });
  });

  test('a target that could not be scanned has no verdicts, only the reason, told by how far the scan got', () => {
    const j = judge(evidence({ ok: false, reachability: 'refused', error: 'ECONNREFUSED: connect ECONNREFUSED' }));
    assert.deepEqual(j.verdicts, []);
    assert.match(j.advice[0]!, /^The target could not be scanned: nothing accepts connections .*\(ECONNREFUSED/);
    const notTls = judge(evidence({ ok: false, reachability: 'not-tls', error: 'no TLS 1.0–1.2 handshake completed' }));
    assert.match(notTls.advice[0]!, /not in TLS/);
  });
});

describe('targets', () => {
  test('parses host, port, IPv6 and STARTTLS schemes', () => {
    assert.deepEqual(parseScanTarget('example.org'), {
      label: 'example.org:443',
      host: 'example.org',
      port: 443,
      serverName: 'example.org',
      starttls: undefined,
      family: undefined,
    });
    assert.equal(parseScanTarget('[::1]:8443').host, '::1');
    assert.equal(parseScanTarget('[::1]:8443').serverName, undefined);
    const smtp = parseScanTarget('smtp://mail.example.org');
    assert.deepEqual([smtp.starttls, smtp.port, smtp.label], ['smtp', 25, 'smtp://mail.example.org:25']);
    assert.equal(parseScanTarget('postgres://db:5433').port, 5433);
    assert.equal(parseScanTarget('https://h.example/path').port, 443);
    assert.throws(() => parseScanTarget('gopher://x'), /unknown scheme/);
  });

  test('reads target files with comments and blank lines', () => {
    assert.deepEqual(targetLines('a:1\n\n# comment\n b:2 # trailing\r\n'), ['a:1', 'b:2']);
  });

  test('shards split a list without overlap or gaps', () => {
    const shards = [1, 2, 3].map((k) => parseShard(`${k}/3`));
    for (let i = 0; i < 30; i++) assert.equal(shards.filter((s) => inShard(i, s)).length, 1);
    assert.throws(() => parseShard('0/3'));
    assert.throws(() => parseShard('4/3'));
  });
});

describe('evidence and output', () => {
  test('reads a DistinguishedName from a CertificateRequest', () => {
    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "CA" } } }
    const der = Uint8Array.of(0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, 0x43, 0x41);
    assert.equal(distinguishedName(der), 'CN=CA');
    assert.match(distinguishedName(Uint8Array.of(1, 2, 3)), /^unparsed/);
  });

  test('no colours with NO_COLOR or off a terminal', () => {
    const ESC = '\u001b[';
    const report = { ...evidence(), ...judge(evidence()) } as ScanReport;
    assert.ok(!formatText(report, paintFor({ isTTY: true }, { NO_COLOR: '1' })).includes(ESC));
    assert.ok(!formatText(report, paintFor({ isTTY: false }, {})).includes(ESC));
    assert.ok(formatText(report, paintFor({ isTTY: true }, {})).includes(ESC));
    assert.match(formatText(report, paintFor({ isTTY: false }, {})).split('\n')[0]!, /^t:443 {2}nothing found/);
  });

  /** The worst a server can be: insecure renegotiation, glued split requests, no limit, no EMS, faulty RFC 5746. */
  function worstReport(): ScanReport {
    const e = evidence({
      extendedMasterSecret: false,
      clientInitiated: {
        secure: 'completed',
        insecure: 'completed',
        details: { secure: done('completed'), insecure: done('completed') },
        split: { glued: true, over: 'insecure', evidence: [] },
      },
      dos: {
        accepted: 10,
        max: 10,
        limitMet: false,
        ratePerSecond: 185.2,
        over: 'insecure',
        attempts: [],
      },
      serverInitiated: [
        {
          ...certPath,
          insecure: true,
          enforced: false,
          certificateAuthorities: ['CN=renego throwaway CA (rsa), O=A rather long organisation name, C=ZZ'],
        },
      ],
    });
    e.secureRenegotiation = { ...e.secureRenegotiation, enforced: false };
    return { ...e, ...judge(e) } as ScanReport;
  }

  test('a report fits 80 columns, long values wrapped under their column', () => {
    const text = formatText(worstReport(), paintFor({ isTTY: false }, {}), 80);
    const lines = text.split('\n');
    assert.deepEqual(
      lines.filter((l) => [...l].length > 80),
      [],
      'no line is longer than 80 columns',
    );
    assert.ok(lines.length > 20, 'the long reasons and advice were wrapped, not cut');
    assert.ok(text.includes('Enable the extended master secret'), 'advice kept whole across lines');
  });

  test('the worst check rows are red like the RFC 5746 rows', () => {
    const RED = '\u001b[31m';
    const text = formatText(worstReport(), paintFor({ isTTY: true }, {}), 200);
    const line = (label: string): string => text.split('\n').find((l) => l.startsWith(`  ${label}`))!;
    assert.ok(line('RFC 5746 enforced').includes(RED), 'the reference: a failed RFC 5746 check is red');
    for (const label of ['client-initiated, insecure', 'split request glued', 'renegotiations in a row']) {
      assert.ok(line(label).includes(RED), `${label} is red`);
    }
    const html = htmlReport([worstReport()]);
    for (const label of ['client-initiated, insecure', 'split request glued', 'renegotiations in a row']) {
      assert.match(html, new RegExp(`<th>${label}</th><td class="yes">`), `${label} is marked in HTML`);
    }
  });

  test('advice is plain text that says what to do, not what the verdicts already said', () => {
    const r = worstReport();
    assert.ok(r.advice.length >= 4);
    for (const a of r.advice) {
      assert.ok(!a.includes('`'), `no markup in: ${a}`);
      for (const v of r.verdicts) assert.ok(!a.includes(v.reason), `advice repeats the ${v.id} reason: ${a}`);
      assert.doesNotMatch(a, /is accepted|advertised but not enforced|runs without the extended master secret/, a);
    }
  });

  test('the connection gate lets one through at a time once serialized', async () => {
    const gate = new ConnectionGate(3);
    const a = await gate.acquire();
    await gate.acquire();
    gate.serialize();
    let third = false;
    const p = gate.acquire().then(() => (third = true));
    a();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(third, false);
    assert.equal(gate.open, 1);
    void p;
  });

  test('a ClientHello answered a round trip late while another handshake ran: hellos go one at a time', async () => {
    const gate = new ConnectionGate(6);
    // Before any sign of queueing, a turn is free for every kind.
    (await gate.acquireHello('leaf'))();
    const first = gate.helloSent();
    const together = gate.helloSent();
    first.answered(40);
    together.answered(50);
    assert.equal(gate.handshakesQueued, false, 'answered together, within the server work of the fastest');
    const alone = gate.helloSent();
    first.ended();
    together.ended();
    alone.ended();
    const late = gate.helloSent();
    late.answered(200);
    assert.equal(gate.handshakesQueued, false, 'slow, but no other handshake was under way');
    late.ended();
    const a = gate.helloSent();
    const b = gate.helloSent();
    a.answered(41);
    b.answered(95);
    assert.equal(gate.handshakesQueued, true, 'answered a round trip after the fastest while another ran');

    const order: string[] = [];
    const held = await gate.acquireHello('leaf');
    const leaf = gate.acquireHello('leaf').then((free) => (order.push('leaf'), free));
    const chain = gate.acquireHello('chain').then((free) => (order.push('chain'), free));
    (await gate.acquireHello('free'))();
    order.push('free');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['free'], 'the others wait for the unanswered hello');
    held();
    (await chain)();
    (await leaf)();
    assert.deepEqual(order, ['free', 'chain', 'leaf'], 'a connection later round trips wait for goes first');
  });

  test('a ClientHello unanswered too long shows queueing before its answer comes', async () => {
    const gate = new ConnectionGate(6);
    const fast = gate.helloSent();
    const waiting = gate.helloSent();
    fast.answered(10);
    assert.equal(gate.handshakesQueued, false);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(gate.handshakesQueued, true, 'unanswered for more than 1.5 × 10 ms + 10 ms while another ran');
    waiting.ended();
  });

  test('answers faster than 10 ms (a host on this machine) are never taken for queueing', () => {
    const gate = new ConnectionGate(6);
    const a = gate.helloSent();
    const b = gate.helloSent();
    a.answered(2);
    b.answered(60);
    assert.equal(gate.handshakesQueued, false, 'a 2 ms round trip: the 60 ms are the machine, not a queue');
  });
});

function fakeIo(stdin = ''): ScanIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: { isTTY: false, write: (s: string) => (io.out += s) },
    stderr: { isTTY: false, write: (s: string) => (io.err += s) },
    env: {},
    readStdin: async () => stdin,
  };
  return io;
}

describe('TLS 1.3 detection from the ServerHello', () => {
  /** What a node:tls server answers to the probe's raw hello, in the bytes it sent. */
  async function answerTo(minVersion: tls.SecureVersion, maxVersion: tls.SecureVersion): Promise<Uint8Array> {
    const pki = await createTestPki({ keyType: 'ecdsa' });
    const server = tls.createServer({ key: pki.server.keyPem, cert: pki.server.certPem, minVersion, maxVersion });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.write(tls13Hello('localhost'));
      // The ServerHello (and what follows it) or an alert; a second of quiet means the server is done.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      socket.destroy();
      return new Uint8Array(Buffer.concat(chunks));
    } finally {
      server.close();
    }
  }

  test('a TLS 1.3 server is a yes however its ServerHello is cut into reads', async () => {
    const bytes = await answerTo('TLSv1.3', 'TLSv1.3');
    const whole = new ServerHelloReader().push(bytes);
    assert.equal(whole?.value, true, whole?.note);
    const reader = new ServerHelloReader();
    let answer;
    for (let i = 0; i < bytes.length && !answer; i++) answer = reader.push(bytes.subarray(i, i + 1));
    assert.deepEqual(answer, whole);
  });

  test('a TLS 1.2-only server answers with an alert: a no', async () => {
    const answer = new ServerHelloReader().push(await answerTo('TLSv1.2', 'TLSv1.2'));
    assert.equal(answer?.value, false);
    assert.match(answer?.note ?? '', /^TLS 1.3 refused: fatal /);
  });

  test('bytes that are not TLS are refused with a typed error', () => {
    assert.throws(
      () => new ServerHelloReader().push(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n')),
      (e: unknown) => e instanceof TlsError && e.kind === 'UnexpectedMessage',
    );
  });
});

describe('renego scan command', () => {
  test('usage errors exit 2', async () => {
    const io = fakeIo();
    assert.equal(await runScanCommand({ targets: [] }, io), EXIT.usage);
    assert.match(io.err, /no targets/);
    assert.equal(await runScanCommand({ targets: ['a'], shard: '3/2' }, fakeIo()), EXIT.usage);
    assert.equal(await runScanCommand({ targets: ['a'], starttls: 'gopher' }, fakeIo()), EXIT.usage);
  });

  test('JSON Lines from stdin, exit 1 on a vulnerability, 0 when clean, HTML written', async (t) => {
    const legacy = await startServer({
      host: '127.0.0.1',
      port: 0,
      preset: 'legacy-2009',
      www: true,
      log: () => undefined,
    });
    const safe = await startServer({
      host: '127.0.0.1',
      port: 0,
      preset: 'openssl3-default',
      www: true,
      log: () => undefined,
    });
    const dir = await mkdtemp(join(tmpdir(), 'renego-scan-cli-'));
    t.after(async () => {
      await legacy.close();
      await safe.close();
      await rm(dir, { recursive: true, force: true });
    });
    const io = fakeIo(`127.0.0.1:${legacy.port}\n# skip me\n127.0.0.1:${safe.port}\n`);
    const html = join(dir, 'r.html');
    const code = await runScanCommand({ targets: [], targetsFile: '-', json: true, html, timeout: 3000 }, io);
    assert.equal(code, EXIT.failed);
    const lines = io.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ScanReport);
    assert.equal(lines.length, 2);
    const byPort = new Map(lines.map((r) => [r.port, r]));
    assert.deepEqual(byPort.get(legacy.port)!.vulnerabilities, ['CVE-2009-3555', 'CVE-2011-1473']);
    assert.deepEqual(byPort.get(safe.port)!.vulnerabilities, []);
    for (const r of lines) {
      for (const key of [
        'target',
        'ok',
        'versions',
        'secureRenegotiation',
        'clientInitiated',
        'maxClientRenegotiations',
        'serverInitiated',
        'extendedMasterSecret',
        'vulnerabilities',
        'advice',
        'timings',
      ]) {
        assert.ok(key in r, `missing ${key}`);
      }
    }
    assert.match(await readFile(html, 'utf8'), /<table id="summary">/);

    const clean = fakeIo();
    assert.equal(await runScanCommand({ targets: [`127.0.0.1:${safe.port}`], timeout: 3000 }, clean), EXIT.ok);
    assert.match(clean.out, /nothing found/);
  });

  test('a target that cannot be scanned exits 2 and says why', async () => {
    const io = fakeIo();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    assert.equal(
      await runScanCommand({ targets: ['127.0.0.1:1', 'bad://x'], json: true, timeout: 1000, retries: 0 }, io),
      EXIT.usage,
    );
    const lines = io.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ScanReport);
    assert.equal(lines.length, 2);
    assert.ok(lines.every((r) => r.ok === false && typeof r.error === 'string'));
    assert.ok(lines.some((r) => /unreachable|ECONNREFUSED/.test(r.error!)));
    assert.ok(lines.some((r) => /unknown scheme/.test(r.error!)));
  });
});
