/**
 * The scanner benchmark: on the same local servers, in one run,
 *
 * - the wall time of a full renegotiation audit of one target by `renego scan`
 *   against `testssl.sh -R` and `sslscan` with their unrelated checks off
 *   (targets: ≤ 0.2× testssl.sh on every server; no slower than sslscan where
 *   sslscan really renegotiates: TLS 1.0 servers without renegotiation_info),
 * - the verdicts of the three tools side by side, each disagreement with its reason,
 * - targets per second for 1,000 local targets at the default concurrency.
 *
 *   npx tsx bench/scan.ts [--quick] [--rounds N] [--targets N] [--no-docs]
 *   npx tsx bench/scan.ts --latency [--delays 0,20,50] [--rounds N] [--no-docs]   (bench/scan-latency.ts)
 *   npx tsx bench/scan.ts --cpu [--rounds N] [--warmup W] [--profile FILE] [--compare DIR [--pairs P]]
 *     (bench/scan-cpu.ts: CPU per full audit only)
 *
 * Every tool runs as a process, the way an administrator runs it: renego from a
 * build of src/ (scripts/build.ts into a temporary directory), so TypeScript compilation is
 * not timed. Servers: openssl s_server (echo mode: its -www mode sleeps a second
 * whenever a read would block), gnutls-serv --http, and renego server presets.
 * Also exported as `scanSuite` for bench/run.ts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCli } from '../scripts/build.ts';
import { createTestPki, writePkiFiles, type PkiFiles } from '../src/pki/throwaway.ts';
import type { ScanReport } from '../src/scan/types.ts';
import { startServer, type RunningServer } from '../src/server/start.ts';
import { which } from '../test/peers/binaries.ts';
import { startGnutlsServer } from '../test/peers/gnutls-server.ts';
import { startNodeTlsServer } from '../test/peers/node-server.ts';
import { startOpensslServer } from '../test/peers/openssl-server.ts';
import { serverCertificate } from '../test/peers/renego-server.ts';
import { updateSection } from './lib/docs.ts';
import { describeMachine } from './lib/machine.ts';
import { median } from './lib/stats.ts';
import type { Suite, SuiteOptions, SuiteResult } from './lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOOL_TIMEOUT_MS = 120_000;
const TARGET_RATIO_TESTSSL = 0.2;

interface Peer {
  name: string;
  port: number;
  /** Plain echo services get --no-http. */
  http: boolean;
  /** TLS 1.0 enabled and no renegotiation_info: where sslscan 2.0.7 really renegotiates. */
  sslscanRenegotiates: boolean;
  stop(): Promise<void>;
}

interface Timed<T> {
  ms: number;
  value: T;
}

export function run(
  cmd: string,
  args: string[],
  timeoutMs = TOOL_TIMEOUT_MS,
): Promise<Timed<{ stdout: string; code: number }>> {
  const t0 = performance.now();
  return new Promise((resolvePromise) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolvePromise({ ms: performance.now() - t0, value: { stdout: String(stdout), code } });
      },
    );
  });
}

/** The CLI as `npm run build` makes it, into a temporary directory with node_modules linked beside it. */
export async function buildRenego(): Promise<{ dir: string; main: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'renego-bench-scan-'));
  const main = await buildCli(join(dir, 'dist'));
  await symlink(join(projectDir, 'node_modules'), join(dir, 'node_modules'));
  return { dir, main };
}

async function startPeers(files: PkiFiles): Promise<Peer[]> {
  const peers: Peer[] = [];
  if (which('openssl')) {
    const configs: [string, string[]][] = [
      ['openssl s_server (OpenSSL 3 default)', []],
      ['openssl s_server -client_renegotiation', ['-client_renegotiation']],
      [
        'openssl s_server -legacy_renegotiation -client_renegotiation',
        ['-legacy_renegotiation', '-client_renegotiation'],
      ],
      ['openssl s_server -no_renegotiation', ['-no_renegotiation']],
    ];
    for (const [name, args] of configs) {
      const s = await startOpensslServer({ cert: files.serverCert, key: files.serverKey, msg: false, args });
      peers.push({ name, port: s.port, http: false, sslscanRenegotiates: false, stop: s.stop });
    }
  }
  if (which('gnutls-serv')) {
    for (const priority of ['NORMAL', 'NORMAL:%UNSAFE_RENEGOTIATION', 'NORMAL:%DISABLE_SAFE_RENEGOTIATION']) {
      const s = await startGnutlsServer({ cert: files.serverCert, key: files.serverKey, http: true, priority });
      peers.push({
        name: `gnutls-serv ${priority}`,
        port: s.port,
        http: true,
        sslscanRenegotiates: priority.includes('DISABLE_SAFE'),
        stop: s.stop,
      });
    }
  }
  for (const preset of ['legacy-2009', 'rfc5746', 'openssl3-default'] as const) {
    const s: RunningServer = await startServer({
      host: '127.0.0.1',
      port: 0,
      preset,
      www: true,
      protectedPath: '/secure',
      certificate: serverCertificate(files),
      log: () => undefined,
    });
    peers.push({
      name: `renego server --preset ${preset}`,
      port: s.port,
      http: true,
      sslscanRenegotiates: preset === 'legacy-2009',
      stop: () => s.close(),
    });
  }
  return peers;
}

// --- the three tools ----------------------------------------------------------------

interface Answers {
  /** Insecure renegotiation accepted (CVE-2009-3555). */
  insecure: string;
  /** Client-initiated renegotiation DoS (CVE-2011-1473). */
  dos: string;
  /** RFC 5746 in the ServerHello. */
  rfc5746: string;
}

export async function renegoScan(
  main: string,
  p: Pick<Peer, 'port' | 'http'>,
  extra: readonly string[] = [],
): Promise<Timed<{ answers: Answers; report: ScanReport | undefined }>> {
  const args = [
    main,
    'scan',
    `127.0.0.1:${p.port}`,
    '--json',
    '--servername',
    'localhost',
    '--no-progress',
    ...(p.http ? ['--paths', '/,/secure'] : ['--no-http']),
    ...extra,
  ];
  const r = await run(process.execPath, args);
  let report: ScanReport | undefined;
  try {
    report = JSON.parse(r.value.stdout.trim().split('\n')[0] ?? '') as ScanReport;
  } catch {
    report = undefined;
  }
  const v = (id: string): string => report?.verdicts.find((x) => x.id === id)?.answer ?? 'error';
  const ri = report?.secureRenegotiation.extension;
  return {
    ms: r.ms,
    value: {
      report,
      answers: {
        insecure: v('CVE-2009-3555'),
        dos: v('CVE-2011-1473'),
        rfc5746: ri === null || ri === undefined ? 'could-not-test' : ri ? 'yes' : 'no',
      },
    },
  };
}

export async function testssl(
  bin: string,
  p: Pick<Peer, 'port'>,
  dir: string,
): Promise<Timed<{ answers: Answers; raw: string }>> {
  const json = join(dir, `testssl-${p.port}-${Date.now()}.json`);
  const r = await run(bin, [
    '-R',
    '--quiet',
    '--color',
    '0',
    '--warnings',
    'off',
    '--jsonfile',
    json,
    `127.0.0.1:${p.port}`,
  ]);
  let findings: { id: string; finding: string }[] = [];
  try {
    findings = JSON.parse(await readFile(json, 'utf8')) as { id: string; finding: string }[];
  } catch {
    findings = [];
  }
  const f = (id: string): string => findings.find((x) => x.id === id)?.finding ?? '';
  const secure = f('secure_renego');
  const client = f('secure_client_renego');
  const rfc5746 = /not supported|VULNERABLE/i.test(secure)
    ? 'no'
    : /supported/i.test(secure)
      ? 'yes'
      : 'could-not-test';
  const dos = /not vulnerable|mitigated/i.test(client) ? 'no' : /VULNERABLE/i.test(client) ? 'yes' : 'could-not-test';
  // testssl.sh has no insecure (legacy client) renegotiation test; it reads "no RFC 5746" as the vulnerability.
  const insecure = rfc5746 === 'no' ? 'yes' : rfc5746 === 'yes' ? 'no' : 'could-not-test';
  return { ms: r.ms, value: { answers: { insecure, dos, rfc5746 }, raw: `${secure} / ${client}` } };
}

export async function sslscan(bin: string, p: Pick<Peer, 'port'>): Promise<Timed<{ answers: Answers; raw: string }>> {
  const r = await run(bin, [
    '--no-ciphersuites',
    '--no-fallback',
    '--no-compression',
    '--no-heartbleed',
    '--no-groups',
    '--no-check-certificate',
    '--no-cipher-details',
    '--no-colour',
    `127.0.0.1:${p.port}`,
  ]);
  const line = /TLS renegotiation:\s*\n\s*(.+)/.exec(r.value.stdout)?.[1]?.trim() ?? 'no result';
  const insecure = /^Insecure/.test(line)
    ? 'yes'
    : /^(Secure|Session renegotiation not supported)/.test(line)
      ? 'no'
      : 'could-not-test';
  const rfc5746 = /^Secure/.test(line) ? 'yes' : /^Insecure/.test(line) ? 'no' : 'could-not-test';
  return { ms: r.ms, value: { answers: { insecure, dos: 'not checked', rfc5746 }, raw: line } };
}

/** Why another tool's answer differs from renego scan's, from what each tool is known to do (see the reference notes). */
function disagreement(tool: 'testssl.sh' | 'sslscan', question: keyof Answers, ours: string, raw: string): string {
  if (tool === 'sslscan') {
    if (/not supported/.test(raw))
      return 'sslscan 2.0.7 renegotiates over TLS 1.0 only; on a server without TLS 1.0 its handshake fails and it prints "Session renegotiation not supported"';
    if (/^Secure/.test(raw) && question === 'insecure')
      return 'sslscan never renegotiates when the ServerHello carries renegotiation_info and never tries a legacy client, so it cannot see insecure renegotiation accepted from legacy clients';
    if (question === 'rfc5746') return 'sslscan reads RFC 5746 from a TLS 1.0 handshake only';
    return 'sslscan does not try the renegotiation renego scan found';
  }
  if (/didn't succeed/.test(raw))
    return "testssl.sh's `openssl s_client` (OpenSSL 3) refuses servers without RFC 5746 (legacy_server_connect is off), so its checks never ran; it still prints 'not vulnerable (OK)' for the DoS line";
  if (question === 'insecure') {
    return ours === 'yes'
      ? 'testssl.sh has no insecure (legacy client) renegotiation test ("not yet implemented"); it only checks that the ServerHello carries renegotiation_info'
      : 'testssl.sh equates a missing renegotiation_info with the vulnerability (testssl.sh #2605, #764); the server refuses every renegotiation without RFC 5746';
  }
  if (question === 'dos' && ours === 'limited')
    return 'renego scan reports a rate limit as limited (accepted N, then stopped); testssl.sh reads the limit as not vulnerable';
  if (question === 'dos')
    return 'testssl.sh sends a single `R` to non-HTTP services, and reads a close or a hang as "not vulnerable"';
  return 'different handshake';
}

// --- throughput ---------------------------------------------------------------------

const SERVE_FLAG = '--serve-node-https';

/**
 * Child mode: eight node:https servers (OpenSSL in C++, many connections at once, ECDSA so
 * that the servers' CPU is not what is measured): half renegotiate for a client certificate
 * on /secure, a quarter refuse renegotiation (SSL_OP_NO_RENEGOTIATION). Prints the ports and
 * runs until its stdin closes.
 */
async function serveNodeHttps(pkiDir: string): Promise<void> {
  const files = await writePkiFiles(pkiDir, await createTestPki({ keyType: 'ecdsa' }));
  const servers = [];
  for (let i = 0; i < 8; i++) {
    servers.push(
      await startNodeTlsServer({
        cert: files.serverCert,
        key: files.serverKey,
        ca: files.ca,
        ...(i % 2 === 1 ? { renegotiatePath: '/secure' } : {}),
        ...(i % 4 === 3 ? { secureOptions: constants.SSL_OP_NO_RENEGOTIATION } : {}),
      }),
    );
  }
  process.stdout.write(`${JSON.stringify(servers.map((s) => s.port))}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

/** 1,000 targets cycling over the child's servers; one `renego scan --targets-file` at the default concurrency. */
async function throughput(
  main: string,
  count: number,
  dir: string,
): Promise<{ ms: number; ok: number; perSecond: number; servers: string }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), SERVE_FLAG, join(dir, 'pki-ecdsa')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      cwd: projectDir,
    },
  );
  try {
    const ports = await new Promise<number[]>((resolvePorts, reject) => {
      const timer = setTimeout(() => reject(new Error('node:https servers did not start within 60 s')), 60_000);
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        if (!text.includes('\n')) return;
        clearTimeout(timer);
        resolvePorts(JSON.parse(text.split('\n')[0]!) as number[]);
      });
      child.once('exit', () => reject(new Error('the node:https server process exited')));
    });
    const list = join(dir, 'targets.txt');
    await writeFile(list, Array.from({ length: count }, (_, i) => `127.0.0.1:${ports[i % ports.length]}`).join('\n'));
    const r = await run(
      process.execPath,
      [
        main,
        'scan',
        '--targets-file',
        list,
        '--json',
        '--no-progress',
        '--servername',
        'localhost',
        '--paths',
        '/,/secure',
      ],
      900_000,
    );
    const reports = r.value.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ScanReport);
    return {
      ms: r.ms,
      ok: reports.filter((x) => x.ok).length,
      perSecond: (count / r.ms) * 1000,
      servers: '8 node:https servers in one process',
    };
  } finally {
    child.stdin!.end();
    child.kill('SIGTERM');
  }
}

// --- the suite ------------------------------------------------------------------------

export async function runScanBench(o: {
  rounds: number;
  targets: number;
  log: (s: string) => void;
}): Promise<SuiteResult> {
  const testsslBin = which('testssl') ?? which('testssl.sh');
  const sslscanBin = which('sslscan');
  const build = await buildRenego();
  const pkiDir = join(build.dir, 'pki');
  const files = await writePkiFiles(pkiDir, await createTestPki({ keyType: 'rsa' }));
  const peers = await startPeers(files);
  const timeRows: Row[] = [];
  const verdictRows: Row[] = [];
  const disagreements: Row[] = [];
  let met = true;
  try {
    for (const p of peers) {
      o.log(`${p.name}`);
      const ours: number[] = [];
      const theirs: number[] = [];
      const scans: number[] = [];
      const audits: number[] = [];
      let last: Awaited<ReturnType<typeof renegoScan>>['value'] | undefined;
      let lastT: Awaited<ReturnType<typeof testssl>>['value'] | undefined;
      let lastS: Awaited<ReturnType<typeof sslscan>>['value'] | undefined;
      for (let i = 0; i < o.rounds; i++) {
        const a = await renegoScan(build.main, p);
        ours.push(a.ms);
        if (a.value.report) audits.push(a.value.report.timings.totalMs);
        last = a.value;
        if (testsslBin) {
          const b = await testssl(testsslBin, p, build.dir);
          theirs.push(b.ms);
          lastT = b.value;
        }
        if (sslscanBin) {
          const c = await sslscan(sslscanBin, p);
          scans.push(c.ms);
          lastS = c.value;
        }
      }
      const m = median(ours);
      const t = theirs.length > 0 ? median(theirs) : NaN;
      const s = scans.length > 0 ? median(scans) : NaN;
      const ratioT = m / t;
      const ratioS = m / s;
      const okT = !Number.isFinite(ratioT) || ratioT <= TARGET_RATIO_TESTSSL;
      const okS = !p.sslscanRenegotiates || !Number.isFinite(ratioS) || ratioS <= 1;
      met &&= okT && okS;
      timeRows.push([
        p.name,
        fixed(m, 0),
        audits.length > 0 ? fixed(median(audits), 0) : 'n/a',
        fixed(t, 0),
        fixed(s, 0),
        `${fixed(ratioT, 3)}${okT ? '' : ' (missed)'}`,
        `${fixed(ratioS, 2)}${p.sslscanRenegotiates ? (okS ? ' (target met)' : ' (target missed)') : ' (no target: sslscan does not renegotiate here)'}`,
      ]);
      const ans = last?.answers;
      verdictRows.push([
        p.name,
        `${ans?.insecure ?? 'error'} / ${ans?.dos ?? 'error'}${last?.report ? ` (${last.report.maxClientRenegotiations ?? '?'} in a row)` : ''}`,
        lastT ? `${lastT.answers.insecure} / ${lastT.answers.dos}` : 'not installed',
        lastS ? `${lastS.answers.insecure} / —` : 'not installed',
      ]);
      for (const [tool, other] of [
        ['testssl.sh', lastT],
        ['sslscan', lastS],
      ] as const) {
        if (!other || !ans) continue;
        for (const q of ['insecure', 'dos'] as const) {
          const theirsAnswer = other.answers[q];
          if (theirsAnswer === 'not checked') continue;
          if (theirsAnswer !== ans[q])
            disagreements.push([
              p.name,
              tool,
              q === 'insecure' ? 'CVE-2009-3555' : 'CVE-2011-1473',
              `${ans[q]} vs ${theirsAnswer} (${other.raw})`,
              disagreement(tool, q, ans[q], other.raw),
            ]);
        }
      }
    }
  } finally {
    for (const p of peers) await p.stop();
  }
  // The part of renego's wall time no scanner written for Node can avoid.
  const starts: number[] = [];
  for (let i = 0; i < o.rounds; i++) starts.push((await run(process.execPath, ['-e', '0'])).ms);
  const nodeStart = median(starts);
  o.log(`throughput: ${o.targets} targets`);
  const tp = await throughput(build.main, o.targets, build.dir);
  await rm(build.dir, { recursive: true, force: true });

  const machine = describeMachine();
  const timeHeader = [
    'server',
    'renego scan ms',
    'of which the audit (timings.totalMs)',
    'testssl.sh -R ms',
    'sslscan ms',
    'renego / testssl.sh (target ≤ 0.2)',
    'renego / sslscan (target ≤ 1 where sslscan renegotiates)',
  ];
  const verdictHeader = ['server', 'renego scan: CVE-2009-3555 / CVE-2011-1473', 'testssl.sh', 'sslscan'];
  const disagreeHeader = ['server', 'tool', 'question', 'renego vs tool (tool output)', 'reason'];
  const tpLine = `${o.targets} local targets (${tp.servers}, ECDSA, the list cycling over them) at the default concurrency (32): ${fixed(tp.ms / 1000, 1)} s, ${fixed(tp.perSecond, 1)} targets/s, ${tp.ok} scanned.`;
  const text = [
    textTable(timeHeader, timeRows),
    `node start-up alone (node -e 0): ${fixed(nodeStart, 0)} ms`,
    '',
    textTable(verdictHeader, verdictRows),
    '',
    disagreements.length > 0 ? textTable(disagreeHeader, disagreements) : 'no disagreements',
    '',
    tpLine,
  ].join('\n');
  const markdown = [
    '## Scanner (`renego scan`)',
    '',
    `Measured ${machine.date} on ${machine.nproc} × ${machine.cpuModel}, node ${machine.node}, ${machine.openssl}, source ${machine.source}; ${o.rounds} rounds, median wall time of one full audit of one target, each tool run as a process (renego as \`npm run build\` bundles it; node start-up included). testssl.sh 3.0.8 with \`-R\` only; sslscan 2.0.7 with every check but renegotiation off (its protocol list cannot be turned off). OpenSSL servers run in echo mode, so renego scan gets \`--no-http\` there.`,
    '',
    markdownTable(timeHeader, timeRows),
    '',
    `Node's own start-up (\`node -e 0\`, median of ${o.rounds}) is ${fixed(nodeStart, 0)} ms of each renego run; the audit column is renego's in-process time for every probe (its JSON \`timings.totalMs\`), the rest is start-up, module loading and exit.`,
    '',
    '### Verdicts',
    '',
    'Answers as yes / no / limited / could-not-test. testssl.sh has no insecure-renegotiation test: its "CVE-2009-3555" column is its RFC 5746 check read the way its report reads it. sslscan has no DoS check.',
    '',
    markdownTable(verdictHeader, verdictRows),
    '',
    '### Disagreements',
    '',
    disagreements.length > 0 ? markdownTable(disagreeHeader, disagreements) : 'None.',
    '',
    '### Many targets',
    '',
    tpLine,
  ].join('\n');
  return { text, markdown, targetsMet: met };
}

export const scanSuite: Suite = {
  name: 'scan',
  description: 'renego scan vs testssl.sh -R and sslscan on the same local servers; 1,000-target throughput',
  run: (options: SuiteOptions) =>
    runScanBench({
      rounds: options.quick ? 1 : Math.max(3, options.rounds),
      targets: options.quick ? 100 : 1000,
      log: options.log,
    }),
};

async function main(): Promise<void> {
  const serve = process.argv.indexOf(SERVE_FLAG);
  if (serve >= 0) return serveNodeHttps(process.argv[serve + 1]!);
  const { values } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      targets: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      latency: { type: 'boolean', default: false },
      delays: { type: 'string' },
      cpu: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      profile: { type: 'string' },
      compare: { type: 'string' },
      pairs: { type: 'string' },
    },
  });
  if (values.cpu) {
    const { runCpuBench } = await import('./scan-cpu.ts');
    const text = await runCpuBench({
      rounds: Number(values.rounds ?? 5),
      warmup: Number(values.warmup ?? 1),
      pairs: Number(values.pairs ?? 24),
      ...(values.profile ? { profile: values.profile } : {}),
      ...(values.compare ? { compare: values.compare } : {}),
      log: (l) => console.error(`[bench scan cpu] ${l}`),
    });
    console.log(text);
    return;
  }
  if (values.latency) {
    const { runLatencyBench } = await import('./scan-latency.ts');
    const delays = (values.delays ?? '0,20,50').split(',').map(Number);
    if (delays.some((d) => !Number.isFinite(d) || d < 0))
      throw new Error(`--delays wants ms each way, got ${values.delays}`);
    const latency = await runLatencyBench({
      delays,
      rounds: Number(values.rounds ?? (values.quick ? 1 : 3)),
      log: (l) => console.error(`[bench scan latency] ${l}`),
    });
    console.log(latency.text);
    if (!values['no-docs'] && !values.quick) {
      await updateSection(join(projectDir, 'docs', 'benchmarks.md'), 'scan-latency', latency.markdown);
      console.error('[bench scan] wrote the scan-latency section of docs/benchmarks.md');
    }
    process.exitCode = latency.targetsMet ? 0 : 3;
    return;
  }
  const result = await runScanBench({
    rounds: Number(values.rounds ?? (values.quick ? 1 : 3)),
    targets: Number(values.targets ?? (values.quick ? 100 : 1000)),
    log: (l) => console.error(`[bench scan] ${l}`),
  });
  console.log(result.text);
  if (!values['no-docs'] && !values.quick) {
    await updateSection(join(projectDir, 'docs', 'benchmarks.md'), 'scan', result.markdown);
    console.error('[bench scan] wrote the scan section of docs/benchmarks.md');
  }
  process.exitCode = result.targetsMet ? 0 : 3;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 1;
  });
}
