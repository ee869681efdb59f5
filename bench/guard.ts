/**
 * The guard benchmark: `renego guard` against socat and haproxy (`mode tcp`, Debian packages) and
 * against no proxy at all, each in front of the same upstream in the same run, on loopback.
 *
 * The guard runs at its default log level (info, rate limited), as operated.
 * - Bulk: one connection, scripted TLS 1.2 handshake, then 16 KiB application-data records from
 *   the upstream as fast as they go; MB/s at the client. Target: guard >= 0.9x socat.
 * - Connections: 32 clients connecting one after another, each a scripted handshake (ClientHello
 *   to Finished, both ways) and a close; connections/s. Target: guard >= 0.8x haproxy.
 * - Latency: one connection, one 100-byte application-data record echoed at a time; the p50 and
 *   p99 each proxy adds to the direct round trip.
 * - Memory: the guard's RSS with 10,000 idle TLS 1.2 connections (real node:tls handshakes,
 *   ECDSA P-256) held open through it, per connection. Target: <= 8,000 bytes.
 * - Flood: 4,000 connections that each pin a hello (bench/guard-memory.ts); RSS once they have
 *   closed. Target: within 10% of RSS before the flood.
 *
 * The scripted conversations (bench/guard-script.ts) carry real hellos and records of real sizes
 * with random bytes where ciphertext would be: the guard does all its work, the endpoints none,
 * so the numbers are the proxies'. Every process (upstream, proxies, the holder of the idle
 * connections) is a child of its own with the file limit raised for it alone.
 *
 *   tsx bench/guard.ts [--quick] [--rounds N] [--seconds S] [--no-docs]
 *   npm run bench -- --only guard
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForQuiet } from './lib/cpu.ts';
import { describeMachine, type Machine } from './lib/machine.ts';
import { interleavedRounds, type RoundSample } from './lib/rounds.ts';
import { median, summarise, type Summary } from './lib/stats.ts';
import { runStandalone, type Suite, type SuiteOptions, type SuiteResult } from './lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';
import { helloFlood, idleMemory, type FloodMemory, type IdleMemory } from './guard-memory.ts';
import { PROXY_NAMES, cpuSeconds, startProxy, startRole, type BenchProcess, type ProxyName } from './guard-proxies.ts';
import { clientScript, dataRecord, serverScript } from './guard-script.ts';
import {
  bulkThroughput,
  connectionRate,
  percentile,
  roundTrips,
  type Measurement,
  type Scripts,
} from './guard-workloads.ts';

const CONCURRENCY = 32;
const HELD_CONNECTIONS = 10_000;
const QUICK_HELD_CONNECTIONS = 1_000;
const FLOOD_CONNECTIONS = 4_000;
const QUICK_FLOOD_CONNECTIONS = 1_000;
/** The guard's default: what an operator runs. */
const GUARD_LOG_LEVEL = 'info';
const LATENCY_MAX_SAMPLES = 20_000;
const REQUEST_BYTES = 100;
const QUIET_CORES = 0.5;
const QUIET_WINDOW_MS = 300;
const QUIET_WAIT_MS = 10_000;
const TARGETS = { bulk: 0.9, connections: 0.8, memoryBytes: 8_000, floodReturn: 0.1 } as const;
/** Warm-up per subject before the rounds: long enough for V8 to optimise the guard's hot paths. */
const WARMUP_MS = 3_000;
const CPU_SETTLE_MS = 200;

/** Per subject: the rate, and the proxy's CPU per unit (µs per connection, ms per GB); NaN without a proxy. */
interface Rate {
  readonly rate: Summary;
  readonly cpuPerUnit: number;
}

type Rates = Record<ProxyName, Rate>;

interface Results {
  readonly machine: Machine;
  /** The 1-minute load average when the measurements started and ended (other processes on a shared machine). */
  readonly load: readonly [number, number];
  readonly rounds: number;
  readonly sampleMs: number;
  readonly bulk: Rates;
  readonly connections: Rates;
  readonly latency: Record<ProxyName, { p50: number; p99: number; samples: number }>;
  readonly memory: IdleMemory;
  readonly flood: FloodMemory;
}

/** The proxies in front of one upstream: where to connect, and whose CPU to read (none for direct). */
type Subjects = Record<ProxyName, { port: number; pid: number | undefined }>;

async function withProxies<T>(
  upstream: BenchProcess,
  projectDir: string,
  workDir: string,
  body: (subjects: Subjects) => Promise<T>,
): Promise<T> {
  const started: BenchProcess[] = [];
  try {
    const subjects = {} as Subjects;
    for (const name of PROXY_NAMES) {
      const p = await startProxy(name, upstream.port, projectDir, workDir, GUARD_LOG_LEVEL);
      if (p) started.push(p);
      subjects[name] = { port: p?.port ?? upstream.port, pid: p?.pid };
    }
    return await body(subjects);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
  }
}

interface RateSample extends RoundSample {
  /** Proxy CPU seconds per unit of the sample. */
  readonly cpuPerUnit: number;
}

/**
 * A warm-up sample per subject (the guard's JIT compiles its hot paths, haproxy and socat fill
 * their caches), then interleaved rounds; the proxy's CPU time is read around each sample.
 */
async function rounds(
  options: SuiteOptions,
  label: string,
  subjects: Subjects,
  sample: (port: number, ms: number, warmUp: boolean) => Promise<Measurement>,
): Promise<Rates> {
  const warmMs = options.quick ? Math.min(options.sampleMs, 300) : Math.max(options.sampleMs, WARMUP_MS);
  for (const name of PROXY_NAMES) await sample(subjects[name].port, warmMs, true);
  const quiet = options.quietRounds ?? true;
  const outcome = await interleavedRounds<ProxyName, RateSample>(
    PROXY_NAMES,
    {
      rounds: options.rounds,
      maxAttempts: options.rounds,
      minQuietRounds: 1,
      beforeRound: quiet
        ? () => waitForQuiet(QUIET_CORES, QUIET_WINDOW_MS, QUIET_WAIT_MS).then(() => undefined)
        : undefined,
      onSample: (name, attempt, s) => options.log(`  ${label} round ${attempt + 1} ${name}: ${fixed(s.value, 1)}`),
    },
    async (name) => {
      const pid = subjects[name].pid;
      const cpu0 = pid === undefined ? Number.NaN : cpuSeconds(pid);
      const m = await sample(subjects[name].port, options.sampleMs, false);
      // socat's per-connection children are counted once reaped.
      if (name === 'socat') await sleep(CPU_SETTLE_MS);
      const cpu = pid === undefined ? Number.NaN : cpuSeconds(pid) - cpu0;
      return { value: m.rate, quiet: true, cpuPerUnit: cpu / m.units };
    },
  );
  return Object.fromEntries(
    PROXY_NAMES.map((n) => {
      const samples = outcome.samples[n];
      return [
        n,
        { rate: summarise(samples.map((s) => s.value)), cpuPerUnit: median(samples.map((s) => s.cpuPerUnit)) },
      ];
    }),
  ) as Rates;
}

async function measure(options: SuiteOptions): Promise<Results> {
  const loadBefore = loadavg()[0]!;
  const projectDir = options.projectDir;
  const workDir = await mkdtemp(join(tmpdir(), 'renego-bench-guard-'));
  const scripts: Scripts = { client: clientScript(), serverLength: serverScript().length };
  const request = dataRecord(REQUEST_BYTES);
  const ms = options.sampleMs;
  const upstreams: BenchProcess[] = [];
  try {
    const source = await startRole(projectDir, 'script-upstream', ['source']);
    upstreams.push(source);
    const closing = await startRole(projectDir, 'script-upstream', ['close']);
    upstreams.push(closing);
    const echo = await startRole(projectDir, 'script-upstream', ['echo']);
    upstreams.push(echo);

    options.log('bulk throughput (MB/s)');
    const bulk = await withProxies(source, projectDir, workDir, (subjects) =>
      rounds(options, 'bulk', subjects, (port, sampleMs) => bulkThroughput(port, scripts, sampleMs)),
    );

    options.log(`new connections per second (${CONCURRENCY} concurrent clients)`);
    const connections = await withProxies(closing, projectDir, workDir, (subjects) =>
      rounds(options, 'connections', subjects, (port, sampleMs) =>
        connectionRate(port, scripts, sampleMs, CONCURRENCY),
      ),
    );

    options.log('round trips of one small record (µs)');
    const times = Object.fromEntries(PROXY_NAMES.map((n) => [n, [] as number[]])) as Record<ProxyName, number[]>;
    await withProxies(echo, projectDir, workDir, async (subjects) => {
      const nameOf = new Map(PROXY_NAMES.map((n) => [subjects[n].port, n]));
      await rounds(options, 'latency', subjects, async (port, sampleMs, warmUp) => {
        const t = await roundTrips(port, scripts, request, sampleMs, LATENCY_MAX_SAMPLES);
        if (!warmUp) times[nameOf.get(port)!].push(...t);
        return { rate: percentile(t, 50), units: t.length };
      });
    });
    const latency = Object.fromEntries(
      PROXY_NAMES.map((n) => [
        n,
        { p50: percentile(times[n], 50), p99: percentile(times[n], 99), samples: times[n].length },
      ]),
    ) as Results['latency'];

    options.log('memory with idle TLS connections held open');
    const memory = await idleMemory(
      projectDir,
      workDir,
      options.quick ? QUICK_HELD_CONNECTIONS : HELD_CONNECTIONS,
      options.log,
    );
    options.log('memory during and after a hello-pinning flood');
    const flood = await helloFlood(projectDir, workDir, options.quick ? QUICK_FLOOD_CONNECTIONS : FLOOD_CONNECTIONS);
    options.log(`  flood: RSS ${flood.before} KiB before, ${flood.during} during, ${flood.after} after`);
    return {
      machine: describeMachine(),
      load: [loadBefore, loadavg()[0]!],
      rounds: options.rounds,
      sampleMs: ms,
      bulk,
      connections,
      latency,
      memory,
      flood,
    };
  } finally {
    await Promise.all(upstreams.map((u) => u.stop()));
    await rm(workDir, { recursive: true, force: true });
  }
}

function ratio(a: Rate, b: Rate): number {
  return a.rate.median / b.rate.median;
}

function tables(r: Results): {
  rate: { header: Row; rows: Row[] };
  latency: { header: Row; rows: Row[] };
  checks: { header: Row; rows: Row[] };
  met: boolean;
} {
  const rate = {
    header: [
      'subject',
      'bulk MB/s (median)',
      'bulk min–max',
      'proxy CPU ms/GB',
      'connections/s (median)',
      'connections min–max',
      'proxy CPU µs/connection',
    ],
    rows: PROXY_NAMES.map((n): Row => [
      n === 'direct' ? 'no proxy' : n,
      fixed(r.bulk[n].rate.median, 0),
      `${fixed(r.bulk[n].rate.min, 0)}–${fixed(r.bulk[n].rate.max, 0)}`,
      n === 'direct' ? '—' : fixed(r.bulk[n].cpuPerUnit * 1e6, 0),
      fixed(r.connections[n].rate.median, 0),
      `${fixed(r.connections[n].rate.min, 0)}–${fixed(r.connections[n].rate.max, 0)}`,
      n === 'direct' ? '—' : fixed(r.connections[n].cpuPerUnit * 1e6, 0),
    ]),
  };
  const d = r.latency.direct;
  const latency = {
    header: ['subject', 'p50 µs', 'p99 µs', 'added p50 µs', 'added p99 µs', 'samples'],
    rows: PROXY_NAMES.map((n): Row => {
      const l = r.latency[n];
      return [
        n === 'direct' ? 'no proxy' : n,
        fixed(l.p50, 0),
        fixed(l.p99, 0),
        n === 'direct' ? '—' : fixed(l.p50 - d.p50, 0),
        n === 'direct' ? '—' : fixed(l.p99 - d.p99, 0),
        String(l.samples),
      ];
    }),
  };
  const bulkRatio = ratio(r.bulk.guard, r.bulk.socat);
  const connRatio = ratio(r.connections.guard, r.connections.haproxy);
  const memOk = r.memory.bytesPerConnection <= TARGETS.memoryBytes && r.memory.failed === 0;
  const floodChange = r.flood.after / r.flood.before - 1;
  // Below the baseline is back too: a fresh guard's baseline still holds its start-up garbage,
  // which the collections after the flood free as well.
  const floodOk = floodChange <= TARGETS.floodReturn;
  const checks = {
    header: ['measure', 'value', 'target', 'met'],
    rows: [
      [
        'bulk throughput, guard / socat',
        `${fixed(bulkRatio, 2)}x`,
        `>= ${TARGETS.bulk}x`,
        bulkRatio >= TARGETS.bulk ? 'yes' : 'NO',
      ],
      [
        'new connections, guard / haproxy',
        `${fixed(connRatio, 2)}x`,
        `>= ${TARGETS.connections}x`,
        connRatio >= TARGETS.connections ? 'yes' : 'NO',
      ],
      [
        `memory per idle TLS connection (${r.memory.held} held)`,
        `${fixed(r.memory.bytesPerConnection, 0)} bytes`,
        `<= ${TARGETS.memoryBytes} bytes`,
        memOk ? 'yes' : 'NO',
      ],
      [
        `RSS ${r.flood.afterSeconds} s after a ${r.flood.opened}-connection hello-pinning flood, against before`,
        `${floodChange >= 0 ? '+' : ''}${fixed(floodChange * 100, 1)}%`,
        `<= +${TARGETS.floodReturn * 100}%`,
        floodOk ? 'yes' : 'NO',
      ],
      [
        "JS heap per idle TLS connection (the guard's heapUsed, no forced collection)",
        `${fixed(r.memory.heapBytesPerConnection, 0)} bytes`,
        '(information)',
        '',
      ],
      ['bulk throughput, guard / haproxy', `${fixed(ratio(r.bulk.guard, r.bulk.haproxy), 2)}x`, '(information)', ''],
      ['bulk throughput, guard / no proxy', `${fixed(ratio(r.bulk.guard, r.bulk.direct), 2)}x`, '(information)', ''],
      [
        'new connections, guard / socat',
        `${fixed(ratio(r.connections.guard, r.connections.socat), 2)}x`,
        '(information)',
        '',
      ],
      [
        'proxy CPU per connection, guard / haproxy',
        `${fixed(r.connections.guard.cpuPerUnit / r.connections.haproxy.cpuPerUnit, 2)}x`,
        '(information)',
        '',
      ],
      [
        'proxy CPU per byte, guard / socat',
        `${fixed(r.bulk.guard.cpuPerUnit / r.bulk.socat.cpuPerUnit, 2)}x`,
        '(information)',
        '',
      ],
    ] as Row[],
  };
  return {
    rate,
    latency,
    checks,
    met: bulkRatio >= TARGETS.bulk && connRatio >= TARGETS.connections && memOk && floodOk,
  };
}

const SETTLE_S = 2;

function mib(bytes: number): string {
  return fixed(bytes / 1024 / 1024, 1);
}

function floodLine(f: FloodMemory): string {
  return (
    `Flood: guard RSS ${f.before} KiB before, ${f.during} KiB with ${f.opened} pinning connections held, ` +
    `${f.after} KiB ${f.afterSeconds} s after they closed; the guard's heapUsed ${mib(f.guardBefore.heapUsed)} → ` +
    `${mib(f.guardAfter.heapUsed)} MiB, external ${mib(f.guardBefore.external)} → ${mib(f.guardAfter.external)} MiB.`
  );
}

function render(r: Results, options: SuiteOptions): SuiteResult {
  const t = tables(r);
  const m = r.machine;
  const text = [
    textTable(t.rate.header, t.rate.rows),
    '',
    textTable(t.latency.header, t.latency.rows),
    '',
    `memory: guard RSS ${r.memory.before} KiB idle, ${r.memory.after} KiB with ${r.memory.held} TLS connections held (${r.memory.failed} failed)`,
    floodLine(r.flood),
    '',
    textTable(t.checks.header, t.checks.rows),
  ].join('\n');
  const markdown = [
    '## Guard',
    '',
    `\`renego guard --policy deny\` against socat and haproxy in \`mode tcp\` and against no proxy, in front of the same upstream, on loopback. ${m.date}, ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.source}.`,
    '',
    `Command: \`npm run bench -- --only guard\` (${r.rounds} rounds of ${r.sampleMs / 1000} s). The machine is shared: 1-minute load average ${fixed(r.load[0], 1)} when the run started and ${fixed(r.load[1], 1)} when it ended, on ${m.nproc} cores, so rates moved between rounds (min–max columns); the proxies' CPU per connection or per GB depends less on the neighbours.`,
    '',
    '- Workloads: scripted TLS 1.2 conversations (`bench/guard-script.ts`): a real ClientHello and ServerHello, then records of real sizes with random bytes for ciphertext, so the guard inspects everything while the endpoints do no cryptography and the proxies are what is measured. Bulk: one connection, the upstream streams 16 KiB application-data records. Connections: 32 clients, each connection a full scripted handshake both ways, then the upstream closes. Latency: one 100-byte record echoed at a time on one connection.',
    `- Method: ${r.rounds} interleaved rounds (A B C D, D C B A, …), one ${r.sampleMs / 1000} s sample per subject per round, after a ${WARMUP_MS / 1000} s warm-up sample per subject, waiting (up to ${QUIET_WAIT_MS / 1000} s) before each round for other processes to use under ${QUIET_CORES} core; medians; the min–max columns show how much the rest of the (shared) machine moved them. Latency percentiles are over all round trips of all rounds. Proxy CPU: user + system time of the proxy process (and of socat's reaped children) during each sample, per connection or per GB moved; it does not depend on how busy the rest of the machine was.`,
    '- Subjects: the guard runs as its own Node process (`bench/guard-process.ts guard`, the code behind `renego guard --policy deny`, at its default log level `info`, rate limited, its log on a pipe); socat 1.7 with `fork` (a process per connection, default 8 KiB buffer); haproxy 2.6 with `nbthread 1`, no logging. The upstreams are Node processes of their own.',
    `- Memory: the guard's RSS (/proc VmRSS) after 200 warm-up connections, then with ${r.memory.held} idle TLS 1.2 connections (node:tls, ECDSA P-256, real handshakes through the guard) held open by another process; per connection = difference / count. The file limit is raised (\`ulimit -n\`) for the benchmark's child processes only. Flood: a fresh guard, ${r.flood.opened} connections that each send a 9-byte hello header claiming 64 KiB and are held ${SETTLE_S} s, then closed by the client; RSS ${r.flood.afterSeconds} s later (the guard's two collections after a flood, \`src/guard/reclaim.ts\`, come 1 s and 11 s after the last close), against RSS before; the guard's own heapUsed and external memory (process.memoryUsage(), no collection forced) beside it.`,
    options.quick ? '- **Quick run** (`--quick`): checks the harness; numbers not to be quoted.' : '',
    '',
    markdownTable(t.rate.header, t.rate.rows),
    '',
    markdownTable(t.latency.header, t.latency.rows),
    '',
    `Memory: guard RSS ${r.memory.before} KiB before, ${r.memory.after} KiB with ${r.memory.held} TLS connections held (${r.memory.failed} failed to connect).` +
      (r.memory.held < r.memory.wanted
        ? ` The host's hard limit of ${r.memory.fileLimit} open files (not raisable here: no CAP_SYS_RESOURCE) leaves room for ${r.memory.held} proxied connections, not ${r.memory.wanted}; the per-connection figure is measured on those.`
        : ''),
    '',
    floodLine(r.flood),
    '',
    markdownTable(t.checks.header, t.checks.rows),
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
  return { text, markdown, targetsMet: t.met };
}

export const guardSuite: Suite = {
  name: 'guard',
  description:
    'renego guard vs socat, haproxy (mode tcp) and no proxy: bulk, connections/s, latency, memory per idle connection',
  run: async (options) => render(await measure(options), options),
};

runStandalone(guardSuite, import.meta.url);
