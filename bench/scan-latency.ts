/**
 * The scanner at a distance, and its CPU per audit:
 *
 * - latency: each local server behind a delaying TCP proxy on 127.0.0.1 (test/peers/delay-proxy.ts,
 *   0/20/50 ms each way), one run: renego scan's full audit as a process and in-process
 *   (`timings.totalMs`), the round-trip lower bound of its own probe plan (`timings.roundTrips`
 *   × RTT: the longest chain of the probes that ran), `renego scan --quick` as a process,
 *   `testssl.sh -R` and `sslscan` (each skipped, saying so, when not installed). Targets at
 *   40 ms RTT: the audit ≤ 1.25× its lower bound, the full audit ≤ 0.12× testssl.sh, --quick no
 *   slower than sslscan, both as whole processes.
 * - CPU: 40 full audits of one local gnutls-serv in this process, one after another; CPU time
 *   (user + system, process.cpuUsage) per audit, start-up and a warm-up audit excluded.
 *
 *   npx tsx bench/scan.ts --latency [--delays 0,20,50] [--rounds N] [--no-docs]
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { createTestPki, writePkiFiles } from '../src/pki/throwaway.ts';
import { scanTarget } from '../src/scan/scan.ts';
import { parseScanTarget } from '../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS } from '../src/scan/types.ts';
import { which } from '../test/peers/binaries.ts';
import { startGnutlsServer } from '../test/peers/gnutls-server.ts';
import { startOpensslServer } from '../test/peers/openssl-server.ts';
import { spawnPeer } from '../test/peers/peer-process.ts';
import { freePort } from '../test/peers/ports.ts';
import { startDelayProxy } from '../test/peers/delay-proxy.ts';
import { describeMachine } from './lib/machine.ts';
import { median } from './lib/stats.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';
import { buildRenego, renegoScan, run, sslscan, testssl } from './scan.ts';
import type { SuiteResult } from './lib/suite.ts';

const TARGET_BOUND = 1.25;
const TARGET_TESTSSL = 0.12;
const TARGET_RTT_MS = 40;
const CPU_AUDITS = 40;

interface LatencyPeer {
  name: string;
  port: number;
  http: boolean;
  stop(): Promise<void>;
}

async function startLatencyPeers(
  files: { serverCert: string; serverKey: string },
  renegoMain: string,
): Promise<LatencyPeer[]> {
  const peers: LatencyPeer[] = [];
  // A server that handles its connections concurrently, as production servers do, beside two that
  // do not: gnutls-serv runs one handshake at a time and waits inside it for the client's next
  // flight (each full handshake holds its other connections a round trip; the scanner reads only
  // the first flight where that answers, and sends its hellos one at a time once it sees them
  // queued: docs/scan.md), and s_server serves one connection at a time, so behind it a
  // connection's renegotiation waits for the others' handshakes and the plan's bound (its longest
  // chain) cannot be reached. renego server runs in its own process.
  const port = await freePort();
  const renego = await spawnPeer({
    name: 'renego server',
    command: process.execPath,
    args: [
      renegoMain,
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--cert',
      files.serverCert,
      '--key',
      files.serverKey,
      '--www',
      '--client-renegotiation',
      '--client-reneg-limit',
      '0',
    ],
    host: '127.0.0.1',
    port,
    readyPattern: /^listening /m,
  });
  peers.push({ name: 'renego server --www --client-renegotiation', port, http: true, stop: renego.stop });
  if (which('gnutls-serv')) {
    for (const priority of ['NORMAL', 'NORMAL:%UNSAFE_RENEGOTIATION']) {
      const s = await startGnutlsServer({ cert: files.serverCert, key: files.serverKey, http: true, priority });
      peers.push({ name: `gnutls-serv ${priority}`, port: s.port, http: true, stop: s.stop });
    }
  }
  if (which('openssl')) {
    const s = await startOpensslServer({
      cert: files.serverCert,
      key: files.serverKey,
      msg: false,
      args: ['-client_renegotiation'],
    });
    peers.push({ name: 'openssl s_server -client_renegotiation', port: s.port, http: false, stop: s.stop });
  }
  return peers;
}

function medianOr(values: number[]): number {
  return values.length > 0 ? median(values) : NaN;
}

export interface CpuPerAudit {
  /** User + system CPU ms per audit, all threads of this process. */
  ms: number;
  userMs: number;
  systemMs: number;
  wallMs: number;
  /** Renegotiations in a row per audit (the CVE-2011-1473 run). */
  renegotiations: number;
}

/** CPU per full audit: `audits` audits of one target, in this process, one after another, after `warmup` audits. */
export async function measureCpuPerAudit(port: number, audits = CPU_AUDITS, warmup = 1): Promise<CpuPerAudit> {
  const target = parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' });
  for (let i = 0; i < warmup; i++) await scanTarget(target, DEFAULT_SCAN_OPTIONS);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let handshakes = 0;
  for (let i = 0; i < audits; i++) {
    const r = await scanTarget(target, DEFAULT_SCAN_OPTIONS);
    handshakes += r.dos.attempts.length;
  }
  const c = process.cpuUsage(c0);
  return {
    ms: (c.user + c.system) / 1000 / audits,
    userMs: c.user / 1000 / audits,
    systemMs: c.system / 1000 / audits,
    wallMs: (performance.now() - t0) / audits,
    renegotiations: handshakes / audits,
  };
}

export function describeCpuPerAudit(c: CpuPerAudit): string {
  return `${fixed(c.ms, 1)} ms (user ${fixed(c.userMs, 1)}, system ${fixed(c.systemMs, 1)}); wall ${fixed(c.wallMs, 0)} ms per audit; ${fixed(c.renegotiations, 0)} renegotiations in a row per audit (the CVE-2011-1473 run)`;
}

/** CPU per full audit: CPU_AUDITS audits of one gnutls-serv, in this process, one after another. */
async function cpuPerAudit(files: { serverCert: string; serverKey: string }): Promise<string> {
  if (!which('gnutls-serv')) return 'CPU per audit: skipped, gnutls-serv is not installed.';
  const g = await startGnutlsServer({ cert: files.serverCert, key: files.serverKey, http: true, priority: 'NORMAL' });
  try {
    const c = await measureCpuPerAudit(g.port);
    return `CPU per full audit of gnutls-serv NORMAL (default options, ${CPU_AUDITS} audits in one process after a warm-up): ${describeCpuPerAudit(c)}.`;
  } finally {
    await g.stop();
  }
}

/** Runs of each start-up command, alternated so that a change in the machine's load hits them alike. */
const STARTUP_RUNS = 11;

/**
 * Where a short scan process's time goes before any round trip: node alone, the
 * CLI's front end (`--version`: commander and the modules every command loads),
 * and a scan that ends at once (a refused port on 127.0.0.1: the scanner's
 * modules, one failed connection, the report).
 */
async function startupLine(main: string): Promise<string> {
  const cmds: [string, string[]][] = [
    ['node -e 0', ['-e', '0']],
    ['renego --version', [main, '--version']],
    ['renego scan 127.0.0.1:1 --json --retries 0', [main, 'scan', '127.0.0.1:1', '--json', '--retries', '0']],
  ];
  const ms: number[][] = cmds.map(() => []);
  for (let i = 0; i < STARTUP_RUNS; i++) {
    for (const [k, [, args]] of cmds.entries()) ms[k]!.push((await run(process.execPath, args)).ms);
  }
  const parts = cmds.map(([name], k) => `${name} ${fixed(median(ms[k]!), 0)} ms`);
  const loaded = await modulesLoaded(cmds[2]![1]);
  return `Start-up as a process (median of ${STARTUP_RUNS}, alternated): ${parts.join('; ')}. That scan loads ${loaded.own} modules of renego's own and ${loaded.packages.length === 0 ? 'no package' : `the package${loaded.packages.length > 1 ? 's' : ''} ${loaded.packages.join(', ')}`} (listed by a module load hook).`;
}

/** The modules a command loads, from a load hook that prints each URL on stderr. */
async function modulesLoaded(args: string[]): Promise<{ own: number; packages: string[] }> {
  const hook = `export async function load(url, context, next) { process._rawDebug('LOADED ' + url); return next(url, context); }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const urls = await new Promise<string[]>((resolve) =>
    execFile(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, ...args],
      (_e, _out, err) => resolve([...String(err).matchAll(/^LOADED (\S+)/gm)].map((m) => m[1]!)),
    ),
  );
  const packages = new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  return {
    own: urls.filter((u) => u.startsWith('file:') && !u.includes('/node_modules/')).length,
    packages: [...packages],
  };
}

export async function runLatencyBench(o: {
  delays: number[];
  rounds: number;
  log: (s: string) => void;
}): Promise<SuiteResult> {
  const testsslBin = which('testssl') ?? which('testssl.sh');
  const sslscanBin = which('sslscan');
  const loadBefore = loadavg()[0]!;
  const build = await buildRenego();
  const files = await writePkiFiles(join(build.dir, 'pki'), await createTestPki({ keyType: 'rsa' }));
  const rows: Row[] = [];
  let met = true;
  const peers = await startLatencyPeers(files, build.main);
  try {
    for (const p of peers) {
      for (const delay of o.delays) {
        const proxy = await startDelayProxy(p.port, delay);
        const rtt = 2 * delay;
        o.log(`${p.name}, ${rtt} ms RTT`);
        const via = { port: proxy.port, http: p.http };
        const full: number[] = [];
        const audit: number[] = [];
        const bound: number[] = [];
        const quick: number[] = [];
        const quickAudit: number[] = [];
        const quickBound: number[] = [];
        const ts: number[] = [];
        const ss: number[] = [];
        try {
          for (let i = 0; i < o.rounds; i++) {
            const a = await renegoScan(build.main, via);
            full.push(a.ms);
            const t = a.value.report?.timings;
            if (t) {
              audit.push(t.totalMs);
              bound.push((t.roundTrips ?? NaN) * rtt);
            }
            const q = await renegoScan(build.main, via, ['--quick']);
            quick.push(q.ms);
            const qt = q.value.report?.timings;
            if (qt) {
              quickAudit.push(qt.totalMs);
              quickBound.push((qt.roundTrips ?? NaN) * rtt);
            }
            if (testsslBin) ts.push((await testssl(testsslBin, via, build.dir)).ms);
            if (sslscanBin) ss.push((await sslscan(sslscanBin, via)).ms);
          }
        } finally {
          await proxy.close();
        }
        const m = {
          full: medianOr(full),
          audit: medianOr(audit),
          bound: medianOr(bound),
          quick: medianOr(quick),
          quickAudit: medianOr(quickAudit),
          quickBound: medianOr(quickBound),
        };
        const t = medianOr(ts);
        const s = medianOr(ss);
        const atTarget = rtt === TARGET_RTT_MS;
        const ratioBound = m.audit / m.bound;
        const ratioT = m.full / t;
        const ratioS = m.quick / s;
        const okBound = !atTarget || ratioBound <= TARGET_BOUND;
        const okT = !atTarget || !Number.isFinite(ratioT) || ratioT <= TARGET_TESTSSL;
        const okS = !atTarget || !Number.isFinite(ratioS) || ratioS <= 1;
        met &&= okBound && okT && okS;
        const mark = (ok: boolean): string => (atTarget ? (ok ? ' (met)' : ' (missed)') : '');
        rows.push([
          p.name,
          String(rtt),
          fixed(m.full, 0),
          fixed(m.audit, 0),
          rtt > 0 ? `${fixed(m.bound, 0)} (${fixed(m.bound / rtt, 0)} RTT)` : '0',
          rtt > 0 ? `${fixed(ratioBound, 2)}${mark(okBound)}` : '—',
          fixed(m.quick, 0),
          rtt > 0
            ? `${fixed(m.quickAudit, 0)} / ${fixed(m.quickBound, 0)} (${fixed(m.quickBound / rtt, 0)} RTT)`
            : fixed(m.quickAudit, 0),
          testsslBin ? fixed(t, 0) : 'not installed',
          sslscanBin ? fixed(s, 0) : 'not installed',
          testsslBin ? `${fixed(ratioT, 3)}${mark(okT)}` : '—',
          sslscanBin ? `${fixed(ratioS, 2)}${mark(okS)}` : '—',
        ]);
      }
    }
  } finally {
    for (const p of peers) await p.stop();
  }
  o.log('start-up');
  const startup = await startupLine(build.main);
  o.log('CPU per audit');
  const cpu = await cpuPerAudit(files);
  await rm(build.dir, { recursive: true, force: true });
  const machine = describeMachine();
  const load = `Load average (1 min) ${fixed(loadBefore, 1)} at the start, ${fixed(loadavg()[0]!, 1)} at the end: on a shared machine every time here includes waiting for a core, and the 0 ms rows show how much of the audit is not round trips.`;
  const header = [
    'server',
    'RTT ms',
    'renego scan ms (process)',
    'audit ms (in-process)',
    'plan lower bound ms',
    'audit / bound (≤ 1.25 at 40 ms)',
    'renego scan --quick ms (process)',
    '--quick ms in-process / its bound',
    'testssl.sh -R ms',
    'sslscan ms',
    'renego / testssl.sh (≤ 0.12 at 40 ms)',
    '--quick / sslscan (≤ 1 at 40 ms)',
  ];
  const missing = [
    ...(testsslBin ? [] : ['testssl.sh is not installed: its columns are skipped.']),
    ...(sslscanBin ? [] : ['sslscan is not installed: its columns are skipped.']),
  ];
  const text = [textTable(header, rows), ...missing, load, '', startup, '', cpu].join('\n');
  const markdown = [
    '## Scanner at a distance (`renego scan` behind a delaying proxy) and CPU per audit',
    '',
    `Measured ${machine.date} on ${machine.nproc} × ${machine.cpuModel}, node ${machine.node}, source ${machine.source}; median of ${o.rounds} rounds. Each server sits behind a TCP proxy on 127.0.0.1 that holds every chunk the given time each way (test/peers/delay-proxy.ts); every tool runs as a process (renego as \`npm run build\` bundles it). The lower bound is the plan's own: the round trips on the longest chain of the probes that ran (\`timings.roundTrips\`, see docs/scan.md) × RTT; the audit column is renego's in-process time (\`timings.totalMs\`). testssl.sh with \`-R\` only, sslscan with every check but renegotiation off; renego --quick answers what sslscan answers (docs/scan.md). OpenSSL s_server serves one connection at a time, so its probes queue behind one another.`,
    '',
    '```sh',
    `npx tsx bench/scan.ts --latency --delays ${o.delays.join(',')} --rounds ${o.rounds}`,
    '```',
    '',
    markdownTable(header, rows),
    '',
    load,
    '',
    ...missing,
    ...(missing.length > 0 ? [''] : []),
    startup,
    '',
    cpu,
  ].join('\n');
  return { text, markdown, targetsMet: met };
}
