/**
 * The server benchmark: the renego server (src/adapter/server.ts createServer) against a
 * node:tls server with the same certificate, suite and application code, both driven in the
 * same run by the same OpenSSL load client, `openssl s_time`:
 *
 * - Handshakes: `s_time -new` opens connection after connection for a fixed time, each a full
 *   TLS 1.2 handshake (ECDHE-RSA-AES128-GCM-SHA256 over X25519, RSA-2048 certificate, EMS and a
 *   session ticket issued) ended by close_notify. Target: renego >= 0.7x node:tls.
 * - Bulk: `s_time -new -www /bulk` fetches a 32 MiB page per connection; the server encrypts
 *   and streams it, then closes. The handshake is under 1% of a fetch. Target: >= 0.8x.
 *
 * Both servers run in this process (one at a time is busy), so their CPU is this process's;
 * s_time runs in its own, so "who was the bottleneck" is visible. Rounds are interleaved
 * (A B, B A, ...) and medians reported. When a ratio is short of its target, the renego server
 * is profiled for one more sample with the V8 sampling profiler (bench/lib/profile.ts, the
 * profiler behind `node --cpu-prof`) and the top functions are reported as file:function.
 *
 *   tsx bench/server.ts [--quick] [--rounds N] [--seconds S] [--profile|--no-profile] [--no-docs]
 *   npm run bench -- --only server
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer as createRenegoServer } from '../src/adapter/server.ts';
import { suiteByName } from '../src/crypto/suites.ts';
import { loadCertificate } from '../src/pki/credentials.ts';
import { createTestPki, writePkiFiles } from '../src/pki/throwaway.ts';
import { NamedGroup, ProtocolVersion } from '../src/wire/enums.ts';
import { ownCpuSplit, processCpuSeconds } from './lib/cpu.ts';
import { measureCryptoFloor, type CryptoFloor } from './server-crypto-floor.ts';
import { updateSection } from './lib/docs.ts';
import { describeMachine } from './lib/machine.ts';
import { saveProfile, summariseProfile, withCpuProfile, type ProfileSummary } from './lib/profile.ts';
import { median, spread, summarise, type Summary } from './lib/stats.ts';
import type { Suite, SuiteOptions, SuiteResult } from './lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';

export const SUITE_OPENSSL_NAME = 'ECDHE-RSA-AES128-GCM-SHA256';
const BULK_PATH = '/bulk';
const BULK_BYTES = 32 * 1024 * 1024;
const WRITE_CHUNK = 256 * 1024;
const S_TIME_GRACE_MS = 30_000;
const MB = 1_000_000;

type ServerName = 'renego' | 'node:tls';
const SERVER_NAMES: readonly ServerName[] = ['renego', 'node:tls'];
type MetricName = 'handshakes' | 'bulk';

interface MetricSpec {
  readonly name: MetricName;
  readonly label: string;
  readonly unit: string;
  readonly target: number;
  readonly sTimeArgs: readonly string[];
  /** The rate, from what s_time reported and how long it ran. */
  rate(r: STimeResult): number;
}

const METRICS: readonly MetricSpec[] = [
  {
    name: 'handshakes',
    label: 'full handshakes/s (s_time -new)',
    unit: '/s',
    target: 0.7,
    sTimeArgs: [],
    rate: (r) => r.connections / r.wallSeconds,
  },
  {
    name: 'bulk',
    label: `bulk MB/s (s_time -www, ${BULK_BYTES / 2 ** 20} MiB per connection)`,
    unit: 'MB/s',
    target: 0.8,
    sTimeArgs: ['-www', BULK_PATH],
    rate: (r) => r.bytes / MB / r.wallSeconds,
  },
];

// --- the two servers, one application ---------------------------------------------------------

/**
 * What both servers do with a connection: answer `GET /bulk` with BULK_BYTES of data (writes
 * that honour backpressure) and close; anything else is read and dropped, and the connection
 * ends when the client's does. The same code runs on a RenegoServerSocket and a TLSSocket.
 */
function serveConnection(sock: Duplex, page: Uint8Array): void {
  sock.on('error', () => undefined);
  let head = '';
  const onData = (d: Buffer): void => {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) {
      if (head.length > 8192) head = head.slice(-4);
      return;
    }
    sock.off('data', onData);
    sock.resume();
    if (!head.startsWith(`GET ${BULK_PATH} `)) {
      sock.end('HTTP/1.0 404 Not Found\r\n\r\n');
      return;
    }
    void streamPage(sock, page);
  };
  sock.on('data', onData);
  sock.on('end', () => sock.end());
}

async function streamPage(sock: Duplex, page: Uint8Array): Promise<void> {
  sock.write(`HTTP/1.0 200 OK\r\nContent-Length: ${BULK_BYTES}\r\n\r\n`);
  for (let sent = 0; sent < BULK_BYTES && !sock.destroyed; sent += WRITE_CHUNK) {
    if (!sock.write(page.subarray(0, Math.min(WRITE_CHUNK, BULK_BYTES - sent)))) {
      await new Promise<void>((resolve) => {
        const go = (): void => {
          sock.off('drain', go);
          sock.off('close', go);
          resolve();
        };
        sock.on('drain', go);
        sock.on('close', go);
      });
    }
  }
  sock.end();
}

interface RunningServer {
  readonly name: ServerName;
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: Server, sockets: Set<Duplex>): () => Promise<void> {
  return async () => {
    for (const s of sockets) s.destroy();
    await Promise.race([
      new Promise<void>((resolve) => server.close(() => resolve())),
      new Promise<void>((resolve) => setTimeout(resolve, 3_000).unref()),
    ]);
  };
}

async function startRenego(certPem: string, keyPem: string, page: Uint8Array): Promise<RunningServer> {
  const suite = suiteByName(SUITE_OPENSSL_NAME);
  if (!suite) throw new Error(`renego does not know ${SUITE_OPENSSL_NAME}`);
  const sockets = new Set<Duplex>();
  const server = createRenegoServer(
    {
      certificates: [loadCertificate(certPem, keyPem)],
      cipherSuites: [suite],
      groups: [NamedGroup.x25519],
      minVersion: ProtocolVersion['TLSv1.2'],
      maxVersion: ProtocolVersion['TLSv1.2'],
      handshakeTimeout: 10_000,
    },
    (sock) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
      serveConnection(sock, page);
    },
  );
  server.on('tlsClientError', () => undefined);
  return { name: 'renego', port: await listen(server), close: closer(server, sockets) };
}

async function startNodeTls(certPem: string, keyPem: string, page: Uint8Array): Promise<RunningServer> {
  const sockets = new Set<Duplex>();
  const server = tls.createServer(
    {
      cert: certPem,
      key: keyPem,
      ciphers: SUITE_OPENSSL_NAME,
      ecdhCurve: 'X25519',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
    },
    (sock) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
      serveConnection(sock, page);
    },
  );
  server.on('tlsClientError', () => undefined);
  return { name: 'node:tls', port: await listen(server), close: closer(server, sockets) };
}

// --- the load client -----------------------------------------------------------------------------

interface STimeResult {
  readonly connections: number;
  readonly bytes: number;
  /** Wall time of the s_time process: it runs for -time seconds and finishes its last connection. */
  readonly wallSeconds: number;
  /** CPU seconds of this process (the server: user, kernel) and of s_time (the client) during the run. */
  readonly serverUser: number;
  readonly serverSystem: number;
  readonly clientCpu: number;
}

/** `openssl s_time -connect 127.0.0.1:PORT -new -time N …`; the whole run is bounded. */
function sTime(port: number, seconds: number, extra: readonly string[]): Promise<STimeResult> {
  const args = [
    's_time',
    '-connect',
    `127.0.0.1:${port}`,
    '-new',
    '-time',
    String(Math.max(1, Math.round(seconds))),
    '-tls1_2',
    '-cipher',
    SUITE_OPENSSL_NAME,
    ...extra,
  ];
  return new Promise((resolvePromise, reject) => {
    const cpu0 = ownCpuSplit();
    const t0 = performance.now();
    let clientCpu = Number.NaN;
    const child = execFile(
      'openssl',
      args,
      { timeout: seconds * 1000 + S_TIME_GRACE_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const wallSeconds = (performance.now() - t0) / 1000;
        const cpu1 = ownCpuSplit();
        if (error) {
          reject(new Error(`openssl ${args.join(' ')} failed: ${error.message}\n${stderr}`));
          return;
        }
        // "234 connections in 0.36s; 650.00 connections/user sec, bytes read 37440"
        const m = /(\d+) connections in [\d.]+s; [\d.]+ connections\/user sec, bytes read (\d+)/.exec(stdout);
        if (!m) {
          reject(new Error(`unexpected s_time output:\n${stdout}\n${stderr}`));
          return;
        }
        resolvePromise({
          connections: Number(m[1]),
          bytes: Number(m[2]),
          wallSeconds,
          serverUser: cpu1.user - cpu0.user,
          serverSystem: cpu1.system - cpu0.system,
          clientCpu,
        });
      },
    );
    // s_time's own CPU, read just before it exits (its zombie keeps the counters until reaped).
    const pid = child.pid;
    child.once('exit', () => undefined);
    const poll = setInterval(() => {
      const c = pid === undefined ? undefined : processCpuSeconds(pid);
      if (c !== undefined) clientCpu = c;
    }, 50);
    child.once('close', () => clearInterval(poll));
  });
}

// --- measuring ----------------------------------------------------------------------------------

interface Sample {
  readonly rate: number;
  /** CPU-seconds per wall-second. */
  readonly serverCpu: number;
  readonly clientCpu: number;
  /** Work per server CPU-second: the rate with a core to itself and an infinitely fast client. */
  readonly perServerCpuSecond: number;
  /** Server CPU µs per unit of work (a handshake, a MB), in user space and in the kernel. */
  readonly userPerUnit: number;
  readonly systemPerUnit: number;
}

interface ServerResult {
  readonly rate: Summary;
  readonly serverCpu: number;
  readonly clientCpu: number;
  readonly perServerCpuSecond: number;
  readonly userPerUnit: number;
  readonly systemPerUnit: number;
}

interface MetricResult {
  readonly spec: MetricSpec;
  readonly results: Record<ServerName, ServerResult>;
  readonly ratio: number;
  readonly cpuRatio: number;
  readonly met: boolean;
  profile?: { summary: ProfileSummary; file: string };
}

async function takeSample(spec: MetricSpec, server: RunningServer, seconds: number): Promise<Sample> {
  const r = await sTime(server.port, seconds, spec.sTimeArgs);
  const rate = spec.rate(r);
  const amount = rate * r.wallSeconds;
  const serverCpu = r.serverUser + r.serverSystem;
  return {
    rate,
    serverCpu: serverCpu / r.wallSeconds,
    clientCpu: r.clientCpu / r.wallSeconds,
    perServerCpuSecond: amount / serverCpu,
    userPerUnit: (r.serverUser * 1e6) / amount,
    systemPerUnit: (r.serverSystem * 1e6) / amount,
  };
}

async function measure(servers: Record<ServerName, RunningServer>, options: SuiteOptions): Promise<MetricResult[]> {
  const seconds = options.sampleMs / 1000;
  const results: MetricResult[] = [];
  for (const spec of METRICS) {
    options.log(`${spec.label}: warm-up`);
    for (const name of SERVER_NAMES) await takeSample(spec, servers[name], 1);
    const samples: Record<ServerName, Sample[]> = { renego: [], 'node:tls': [] };
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? SERVER_NAMES : [...SERVER_NAMES].reverse();
      for (const name of order) {
        const s = await takeSample(spec, servers[name], seconds);
        samples[name].push(s);
        options.log(
          `  round ${round + 1} ${name.padEnd(8)} ${fixed(s.rate, 1)} ${spec.unit}` +
            ` (server CPU ${pct(s.serverCpu)}, s_time CPU ${pct(s.clientCpu)})`,
        );
      }
    }
    const result = (name: ServerName): ServerResult => ({
      rate: summarise(samples[name].map((s) => s.rate)),
      serverCpu: median(samples[name].map((s) => s.serverCpu)),
      clientCpu: median(samples[name].map((s) => s.clientCpu)),
      perServerCpuSecond: median(samples[name].map((s) => s.perServerCpuSecond)),
      userPerUnit: median(samples[name].map((s) => s.userPerUnit)),
      systemPerUnit: median(samples[name].map((s) => s.systemPerUnit)),
    });
    const byServer = { renego: result('renego'), 'node:tls': result('node:tls') };
    const ratio = byServer.renego.rate.median / byServer['node:tls'].rate.median;
    const cpuRatio = byServer.renego.perServerCpuSecond / byServer['node:tls'].perServerCpuSecond;
    results.push({ spec, results: byServer, ratio, cpuRatio, met: ratio >= spec.target });
  }
  return results;
}

async function profileRenego(results: MetricResult[], renego: RunningServer, options: SuiteOptions): Promise<void> {
  const seconds = options.quick ? 1 : 5;
  for (const r of results) {
    const wanted = options.profile === 'always' || (options.profile === 'auto' && !r.met);
    if (!wanted) continue;
    options.log(`profiling the renego server under ${r.spec.name} for ${seconds} s`);
    const { profile } = await withCpuProfile(() => sTime(renego.port, seconds, r.spec.sTimeArgs));
    const file = join(options.profileDir, `server-${r.spec.name}-renego.cpuprofile`);
    await saveProfile(file, profile);
    r.profile = { summary: summariseProfile(profile, options.projectDir), file };
  }
}

// --- reporting -------------------------------------------------------------------------------------

function pct(x: number, digits = 0): string {
  return `${fixed(x * 100, digits)}%`;
}

const RESULT_HEADER: Row = ['metric', 'renego', 'node:tls', 'ratio', 'target', 'verdict', 'spread renego / node'];
const CPU_HEADER: Row = [
  'metric',
  'renego: server / s_time CPU',
  'node:tls: server / s_time CPU',
  'renego per server CPU-s',
  'node:tls per server CPU-s',
  'ratio',
];

function resultRows(results: readonly MetricResult[]): Row[] {
  return results.map((r) => [
    r.spec.label,
    fixed(r.results.renego.rate.median, 1),
    fixed(r.results['node:tls'].rate.median, 1),
    `${fixed(r.ratio, 2)}x`,
    `>= ${r.spec.target}x`,
    r.met ? 'met' : 'SHORT',
    `${pct(spread(r.results.renego.rate))} / ${pct(spread(r.results['node:tls'].rate))}`,
  ]);
}

function cpuRows(results: readonly MetricResult[]): Row[] {
  return results.map((r) => [
    r.spec.label,
    `${pct(r.results.renego.serverCpu)} / ${pct(r.results.renego.clientCpu)}`,
    `${pct(r.results['node:tls'].serverCpu)} / ${pct(r.results['node:tls'].clientCpu)}`,
    fixed(r.results.renego.perServerCpuSecond, 1),
    fixed(r.results['node:tls'].perServerCpuSecond, 1),
    `${fixed(r.cpuRatio, 2)}x`,
  ]);
}

const SPLIT_HEADER: Row = [
  'metric',
  'renego: user / kernel µs',
  'node:tls: user / kernel µs',
  'user ratio',
  'kernel ratio',
];

/** Where each server's CPU goes per unit of work: our code and node:crypto (user) or the socket calls (kernel). */
function splitRows(results: readonly MetricResult[]): Row[] {
  return results.map((r) => {
    const a = r.results.renego;
    const b = r.results['node:tls'];
    return [
      `${r.spec.label.split(' (')[0]} per ${r.spec.name === 'bulk' ? 'MB' : 'handshake'}`,
      `${fixed(a.userPerUnit, 0)} / ${fixed(a.systemPerUnit, 0)}`,
      `${fixed(b.userPerUnit, 0)} / ${fixed(b.systemPerUnit, 0)}`,
      `${fixed(a.userPerUnit / b.userPerUnit, 2)}x`,
      `${fixed(a.systemPerUnit / b.systemPerUnit, 2)}x`,
    ];
  });
}

function profileRows(s: ProfileSummary): { self: Row[]; project: Row[] } {
  return {
    self: s.topSelf.slice(0, 12).map((f) => [pct(f.share, 1), f.name, f.location]),
    project: s.topProject.slice(0, 10).map((f) => [pct(f.share, 1), f.name, f.location]),
  };
}

const FLOOR_HEADER: Row = ['one 16 KiB AES-128-GCM record', 'µs'];

function floorRows(f: CryptoFloor): Row[] {
  return [
    ['renego sealer (`createSealer(...).seal`)', fixed(f.renegoSealer, 1)],
    ['node:crypto minimum (createCipheriv, setAAD, update, final, getAuthTag)', fixed(f.nodeCryptoMinimum, 1)],
    [
      'OpenSSL (`openssl speed -evp aes-128-gcm -bytes 16384`)',
      f.opensslSpeed === undefined ? 'n/a' : fixed(f.opensslSpeed, 1),
    ],
  ];
}

function render(
  results: readonly MetricResult[],
  floor: CryptoFloor,
  options: SuiteOptions,
  loadBefore: number[],
): { text: string; markdown: string } {
  const machine = describeMachine();
  const loadAfter = loadavg();
  const load = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(' / ');
  const profiled = results.filter((r) => r.profile);
  const text = [
    textTable(RESULT_HEADER, resultRows(results)),
    textTable(CPU_HEADER, cpuRows(results)),
    textTable(SPLIT_HEADER, splitRows(results)),
    textTable(FLOOR_HEADER, floorRows(floor)),
    `load average (1/5/15 min) before ${load(loadBefore)}, after ${load(loadAfter)}`,
    ...profiled.flatMap((r) => {
      const rows = profileRows(r.profile!.summary);
      const s = r.profile!.summary;
      return [
        `profile renego server ${r.spec.name}: busy ${pct(1 - s.idleMs / s.wallMs, 1)}, GC ${pct(s.gcMs / s.wallMs, 1)} (${r.profile!.file})`,
        textTable(['self', 'function', 'where'], rows.self),
        textTable(['charged to src/', 'function', 'where'], rows.project),
      ];
    }),
  ].join('\n\n');
  const md = (rows: Row[]): Row[] =>
    rows.map(([share, name, where]) => [share!, `\`${name}\``, where ? `\`${where}\`` : '']);
  const markdown = [
    '## Server: renego server vs node:tls server, driven by openssl s_time',
    '',
    `- Date: ${machine.date}${options.quick ? ' (**--quick run: numbers not to be quoted**)' : ''}`,
    `- Machine: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM; load average (1/5/15 min) ${load(loadBefore)} before the run, ${load(loadAfter)} after`,
    `- Node ${machine.node} (bundled OpenSSL ${machine.nodeOpenssl}); load client: ${machine.openssl}`,
    `- Command: \`npm run bench -- --only server\` or \`tsx bench/server.ts\``,
    `- Protocol: TLS 1.2, ${SUITE_OPENSSL_NAME}, X25519, RSA-2048 certificate from the throwaway CA; both servers are configured with only that suite, group and version, issue a session ticket, and use EMS (s_time offers it). The same application code (bench/server.ts \`serveConnection\`) runs on both sockets.`,
    `- Load client: \`openssl s_time -connect 127.0.0.1:<port> -new -time N -tls1_2 -cipher ${SUITE_OPENSSL_NAME}\` (one connection at a time, a full handshake each, no verification); bulk adds \`-www ${BULK_PATH}\`, a ${BULK_BYTES / 2 ** 20} MiB page the server streams in ${WRITE_CHUNK / 1024} KiB writes and then closes. Rates use the wall time of the s_time run.`,
    `- Method: ${options.rounds} interleaved rounds (A B, B A, …) of ${options.sampleMs / 1000} s per server per metric, after a 1 s warm-up each; medians. Ratio = renego / node:tls. Both servers live in the benchmark process, one busy at a time.`,
    '',
    markdownTable(RESULT_HEADER, resultRows(results)),
    '',
    'Spread = (max − min) / median over the rounds.',
    '',
    'Who was busy (medians; CPU-seconds per wall-second, 100% = one core). "Per server CPU-s" divides the work by the server\'s CPU time: the rate each server would reach with a core to itself and an infinitely fast client.',
    '',
    markdownTable(CPU_HEADER, cpuRows(results)),
    '',
    'Server CPU per unit of work (medians, µs), split into user time (our code, V8, node:crypto) and kernel time (socket calls, loopback TCP). Equal kernel time per MB means the gap is in user space.',
    '',
    markdownTable(SPLIT_HEADER, splitRows(results)),
    '',
    'The floor under the bulk rate, in-process and without sockets (bench/server-crypto-floor.ts, the fastest of 5 batches of 100 ms, caches warm): a record layer on node:crypto needs a new Cipheriv per record (a GCM Cipheriv cannot take a new IV) and gets a freshly allocated output from `update`; node:tls runs the whole record in OpenSSL.',
    '',
    markdownTable(FLOOR_HEADER, floorRows(floor)),
    ...(profiled.length > 0
      ? [
          '',
          '### Where the renego server spends its time',
          '',
          'V8 sampling profile (node:inspector, the profiler behind `node --cpu-prof`, 100 µs interval) of the renego server during one more s_time run of each metric short of its target. Native work (node:crypto, socket writes) counts as self time of the JavaScript that called it.',
          '',
          ...profiled.flatMap((r) => {
            const s = r.profile!.summary;
            const rows = profileRows(s);
            return [
              `#### ${r.spec.label}`,
              '',
              `${fixed(s.wallMs, 0)} ms profiled; main thread busy ${pct(1 - s.idleMs / s.wallMs, 1)}, of which GC ${pct(s.gcMs / s.wallMs, 1)}.`,
              '',
              markdownTable(['self', 'function', 'where'], md(rows.self)),
              '',
              'Charged to the innermost src/ function on the stack:',
              '',
              markdownTable(['time', 'function', 'where'], md(rows.project)),
              '',
            ];
          }),
        ]
      : []),
  ].join('\n');
  return { text, markdown };
}

// --- entry points ------------------------------------------------------------------------------------

/** Runs the server benchmark; bench/run.ts calls it as the `server` suite. */
export async function runServerBench(options: SuiteOptions): Promise<SuiteResult> {
  const loadBefore = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'renego-bench-server-'));
  const running: RunningServer[] = [];
  try {
    options.log('creating the throwaway PKI (RSA-2048)');
    const files = await writePkiFiles(dir, await createTestPki({ keyType: 'rsa' }));
    const certPem = await readFile(files.serverCert, 'utf8');
    const keyPem = await readFile(files.serverKey, 'utf8');
    const page = new Uint8Array(WRITE_CHUNK).fill(0x61);
    const renego = await startRenego(certPem, keyPem, page);
    running.push(renego);
    const node = await startNodeTls(certPem, keyPem, page);
    running.push(node);
    options.log(`renego server on port ${renego.port}, node:tls server on port ${node.port}`);
    const results = await measure({ renego, 'node:tls': node }, options);
    await profileRenego(results, renego, options);
    options.log('crypto floor: one 16 KiB AES-128-GCM record');
    const floor = await measureCryptoFloor();
    const { text, markdown } = render(results, floor, options, loadBefore);
    return { text, markdown, targetsMet: results.every((r) => r.met) };
  } finally {
    await Promise.all(running.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

export const serverSuite: Suite = {
  name: 'server',
  description: 'renego server vs node:tls server: full handshakes/s and bulk MB/s under openssl s_time',
  run: runServerBench,
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean' },
      'no-docs': { type: 'boolean' },
    },
    strict: true,
  });
  const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const profileDir = join(tmpdir(), 'renego-bench-profiles');
  await import('node:fs/promises').then((fs) => fs.mkdir(profileDir, { recursive: true }));
  const options: SuiteOptions = {
    quick: values.quick,
    rounds: Number(values.rounds ?? (values.quick ? 1 : 5)),
    sampleMs: Number(values.seconds ?? (values.quick ? 1 : 3)) * 1000,
    profile: values['no-profile'] ? 'never' : values.profile ? 'always' : 'auto',
    projectDir,
    profileDir,
    log: (line) => console.error(`[bench] ${line}`),
  };
  const result = await runServerBench(options);
  console.log(`\nserver\n${result.text}\n`);
  if (!values['no-docs'] && !values.quick) {
    const docsPath = join(projectDir, 'docs', 'benchmarks.md');
    await updateSection(docsPath, serverSuite.name, result.markdown);
    console.error(`[bench] wrote the server section of ${docsPath}`);
  }
  return result.targetsMet ? 0 : 3;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exitCode = 1;
    },
  );
}
