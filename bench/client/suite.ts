/**
 * The client suite: the renego client against node:tls, both talking to the same local
 * `openssl s_server` processes in the same run.
 *
 * - Handshakes: sequential full handshakes per second (TCP connect, TLS 1.2 full handshake with
 *   ECDHE-RSA-AES128-GCM-SHA256 over X25519 and an RSA-2048 certificate, close_notify, wait for
 *   the server's close). Target: renego >= 0.7x node:tls.
 * - Write: 1 MiB writes into a sink server until its close acknowledges the last byte.
 *   Target: renego >= 0.8x node:tls.
 * - Read: a source server streams zeros; application bytes received per second. The issue's
 *   bulk target is stated for writes; reads are held to the same 0.8x for information.
 *
 * Two s_server processes, because one s_server cannot both stay silent (sink) and stream
 * (source): the sink gets a silent stdin pipe, the source /dev/zero. Both run the same
 * certificate and the same TLS arguments; handshakes use the sink.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTestPki, writePkiFiles } from '../../src/pki/throwaway.ts';
import { machineBusySeconds, ownCpuSeconds, waitForQuiet } from '../lib/cpu.ts';
import { describeMachine, type Machine } from '../lib/machine.ts';
import { saveProfile, summariseProfile, withCpuProfile, type ProfileSummary } from '../lib/profile.ts';
import { interleavedRounds, type RoundSample } from '../lib/rounds.ts';
import { median, spread, summarise, type Summary } from '../lib/stats.ts';
import type { Suite, SuiteOptions, SuiteResult } from '../lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from '../lib/table.ts';
import { startBenchServer, type BenchServer } from '../peers/openssl-server.ts';
import {
  CLIENT_NAMES,
  SUITE_OPENSSL_NAME,
  nodeTlsClient,
  renegoClient,
  type BenchClient,
  type ClientName,
  type Target,
} from './clients.ts';
import {
  STEP_TIMEOUT_MS,
  WRITE_SIZE,
  bulkRead,
  bulkWrite,
  rate,
  sequentialHandshakes,
  type Measurement,
} from './workloads.ts';

type MetricName = 'handshakes' | 'write' | 'read';

interface MetricSpec {
  readonly name: MetricName;
  readonly label: string;
  readonly unit: string;
  readonly target: number;
  /** The issue sets this target; the others are informational. */
  readonly required: boolean;
  readonly server: BenchServer;
  run(client: ClientName, ms: number): Promise<Measurement>;
}

/** One sample: the rate (`value`), and who was busy while it ran. */
interface Sample extends RoundSample {
  /** Units per CPU-second of this process: the rate the client could reach with a core to itself. */
  readonly perCpuSecond: number;
  /** CPU seconds per wall second, all threads of this process. */
  readonly clientCpu: number;
  /** Same, for the s_server process serving the sample. */
  readonly serverCpu: number;
  /** Same, for everything else on the machine: competition for the cores. */
  readonly otherCpu: number;
}

interface ClientResult {
  readonly rate: Summary;
  readonly perCpuSecond: number;
  readonly clientCpu: number;
  readonly serverCpu: number;
  readonly otherCpu: number;
}

interface MetricResult {
  readonly spec: MetricSpec;
  readonly results: Record<ClientName, ClientResult>;
  readonly ratio: number;
  readonly cpuRatio: number;
  readonly met: boolean;
  readonly rounds: { readonly used: number; readonly attempts: number; readonly quietOnly: boolean };
  profiles?: Partial<Record<ClientName, { summary: ProfileSummary; file: string }>>;
}

const SERVER_TLS_ARGS = ['-tls1_2', '-cipher', SUITE_OPENSSL_NAME, '-groups', 'X25519'];
const MAX_HANDSHAKES_PER_SAMPLE = 1_000_000;
/** 64 GiB: samples are time-bound; this only bounds a runaway loop. */
const MAX_BYTES_PER_SAMPLE = 64 * 2 ** 30;
const FULL_PROFILE_MS = 5_000;
const QUICK_PROFILE_MS = 500;
const WARMUP_FRACTION = 0.3;
/**
 * A sample is quiet when the rest of the machine used less than this many cores meanwhile.
 * The client and the server need one core each; on a 2-core machine anything more competes.
 */
const QUIET_OTHER_CPU = 0.25;
const MAX_ATTEMPTS_PER_ROUND = 2;
/** Before each round, wait up to this long for the machine to be quiet for one window. */
const QUIET_WAIT_MS = 10_000;
const QUIET_WINDOW_MS = 500;
const MIN_QUIET_ROUNDS = 3;

function metricSpecs(sink: BenchServer, source: BenchServer, caPem: string, chunk: Uint8Array): MetricSpec[] {
  const make = (s: BenchServer): Record<ClientName, BenchClient> => {
    const t: Target = { host: s.host, port: s.port, caPem };
    return { renego: renegoClient(t), 'node:tls': nodeTlsClient(t) };
  };
  const toSink = make(sink);
  const toSource = make(source);
  return [
    {
      name: 'handshakes',
      label: 'full handshakes/s (sequential)',
      unit: '/s',
      target: 0.7,
      required: true,
      server: sink,
      run: (c, ms) => sequentialHandshakes(toSink[c], { maxMs: ms, maxCount: MAX_HANDSHAKES_PER_SAMPLE }),
    },
    {
      name: 'write',
      label: 'bulk write MB/s (1 MiB writes)',
      unit: 'MB/s',
      target: 0.8,
      required: true,
      server: sink,
      run: (c, ms) => bulkWrite(toSink[c], chunk, { maxMs: ms, maxBytes: MAX_BYTES_PER_SAMPLE }),
    },
    {
      name: 'read',
      label: 'bulk read MB/s (server streams)',
      unit: 'MB/s',
      target: 0.8,
      required: false,
      server: source,
      run: (c, ms) => bulkRead(toSource[c], { maxMs: ms, maxBytes: MAX_BYTES_PER_SAMPLE }),
    },
  ];
}

async function checkNegotiation(target: Target): Promise<Record<ClientName, string>> {
  const clients = { renego: renegoClient(target), 'node:tls': nodeTlsClient(target) };
  const out = {} as Record<ClientName, string>;
  for (const name of CLIENT_NAMES) {
    const conn = await clients[name].connect(STEP_TIMEOUT_MS);
    try {
      out[name] = conn.describe();
      await conn.close(STEP_TIMEOUT_MS);
    } finally {
      conn.destroy();
    }
  }
  return out;
}

async function takeSample(spec: MetricSpec, client: ClientName, ms: number): Promise<Sample> {
  const cpu0 = ownCpuSeconds();
  const server0 = spec.server.cpuSeconds() ?? Number.NaN;
  const machine0 = machineBusySeconds() ?? Number.NaN;
  const t0 = performance.now();
  const m = await spec.run(client, ms);
  const wall = (performance.now() - t0) / 1000;
  const cpu = ownCpuSeconds() - cpu0;
  const server = (spec.server.cpuSeconds() ?? Number.NaN) - server0;
  const other = (machineBusySeconds() ?? Number.NaN) - machine0 - cpu - server;
  const otherCpu = Math.max(0, other / wall);
  return {
    value: rate(m),
    // NaN (no /proc) counts as quiet: nothing is known to have competed.
    quiet: !(otherCpu > QUIET_OTHER_CPU),
    perCpuSecond: m.amount / cpu,
    clientCpu: cpu / wall,
    serverCpu: server / wall,
    otherCpu,
  };
}

async function measure(specs: readonly MetricSpec[], options: SuiteOptions): Promise<MetricResult[]> {
  const quiet = options.quietRounds ?? true;
  const results: MetricResult[] = [];
  for (const spec of specs) {
    options.log(`${spec.label}: warm-up`);
    for (const name of CLIENT_NAMES) await spec.run(name, Math.max(200, options.sampleMs * WARMUP_FRACTION));
    const outcome = await interleavedRounds<ClientName, Sample>(
      CLIENT_NAMES,
      {
        rounds: options.rounds,
        maxAttempts: quiet ? options.rounds * MAX_ATTEMPTS_PER_ROUND : options.rounds,
        minQuietRounds: quiet ? MIN_QUIET_ROUNDS : Number.POSITIVE_INFINITY,
        beforeRound: async () => {
          if (quiet) await waitForQuiet(QUIET_OTHER_CPU, QUIET_WINDOW_MS, QUIET_WAIT_MS);
        },
        onSample: (subject, attempt, s) =>
          options.log(
            `  attempt ${attempt + 1} ${subject.padEnd(8)} ${fixed(s.value, 1)} ${spec.unit}` +
              ` (CPU: client ${pct(s.clientCpu)}, s_server ${pct(s.serverCpu)}, others ${pct(s.otherCpu)})` +
              (s.quiet ? '' : ' noisy'),
          ),
      },
      (name) => takeSample(spec, name, options.sampleMs),
    );
    options.log(
      `  ${outcome.quietRounds} quiet rounds of ${outcome.attempts}; ` +
        (outcome.quietOnly ? 'using the quiet rounds' : 'too few quiet rounds: using all of them'),
    );
    const result = (name: ClientName): ClientResult => {
      const all = outcome.samples[name];
      return {
        rate: summarise(all.map((s) => s.value)),
        perCpuSecond: median(all.map((s) => s.perCpuSecond)),
        clientCpu: median(all.map((s) => s.clientCpu)),
        serverCpu: median(all.map((s) => s.serverCpu)),
        otherCpu: median(all.map((s) => s.otherCpu)),
      };
    };
    const byClient = { renego: result('renego'), 'node:tls': result('node:tls') };
    const ratio = byClient.renego.rate.median / byClient['node:tls'].rate.median;
    const cpuRatio = byClient.renego.perCpuSecond / byClient['node:tls'].perCpuSecond;
    results.push({
      spec,
      results: byClient,
      ratio,
      cpuRatio,
      met: ratio >= spec.target,
      rounds: { used: outcome.samples.renego.length, attempts: outcome.attempts, quietOnly: outcome.quietOnly },
    });
  }
  return results;
}

async function profileMetrics(results: MetricResult[], options: SuiteOptions): Promise<void> {
  const ms = options.quick ? QUICK_PROFILE_MS : FULL_PROFILE_MS;
  for (const r of results) {
    const wanted = options.profile === 'always' || (options.profile === 'auto' && !r.met);
    if (!wanted) continue;
    r.profiles = {};
    // node:tls is profiled too, for the contrast: how busy its JavaScript thread is on the same work.
    for (const name of CLIENT_NAMES) {
      options.log(`profiling ${name} ${r.spec.name} for ${ms} ms`);
      const { profile } = await withCpuProfile(() => r.spec.run(name, ms));
      const file = join(options.profileDir, `client-${r.spec.name}-${name.replace(':', '-')}.cpuprofile`);
      await saveProfile(file, profile);
      r.profiles[name] = { summary: summariseProfile(profile, options.projectDir), file };
    }
  }
}

function resultRows(results: readonly MetricResult[]): Row[] {
  return results.map((r) => [
    r.spec.label,
    fixed(r.results.renego.rate.median, 1),
    fixed(r.results['node:tls'].rate.median, 1),
    `${fixed(r.ratio, 2)}x`,
    `>= ${r.spec.target}x${r.spec.required ? '' : ' (info)'}`,
    r.met ? 'met' : 'SHORT',
    `${pct(spread(r.results.renego.rate))} / ${pct(spread(r.results['node:tls'].rate))}`,
    r.rounds.quietOnly ? `${r.rounds.used} quiet of ${r.rounds.attempts}` : `all ${r.rounds.attempts} (few quiet)`,
  ]);
}

const RESULT_HEADER: Row = [
  'metric',
  'renego',
  'node:tls',
  'ratio',
  'target',
  'verdict',
  'spread renego / node',
  'rounds',
];

function cpuRows(results: readonly MetricResult[]): Row[] {
  const cpu = (c: ClientResult): string => `${pct(c.clientCpu)} / ${pct(c.serverCpu)} / ${pct(c.otherCpu)}`;
  return results.map((r) => [
    r.spec.label,
    cpu(r.results.renego),
    cpu(r.results['node:tls']),
    fixed(r.results.renego.perCpuSecond, 1),
    fixed(r.results['node:tls'].perCpuSecond, 1),
    `${fixed(r.cpuRatio, 2)}x`,
  ]);
}

const CPU_HEADER: Row = [
  'metric',
  'renego CPU: client / server / others',
  'node:tls CPU: client / server / others',
  'renego per client CPU-s',
  'node:tls per client CPU-s',
  'ratio',
];

function pct(x: number, digits = 0): string {
  return `${fixed(x * 100, digits)}%`;
}

function profileMarkdown(r: MetricResult): string {
  if (!r.profiles) return '';
  const parts: string[] = [`#### ${r.spec.label}`, ''];
  for (const name of CLIENT_NAMES) {
    const p = r.profiles[name];
    if (!p) continue;
    const s = p.summary;
    const busy = 1 - s.idleMs / s.wallMs;
    parts.push(
      `**${name}**: ${fixed(s.wallMs, 0)} ms profiled; main thread busy ${pct(busy, 1)}, idle ${pct(1 - busy, 1)}, of which GC ${pct(s.gcMs / s.wallMs, 1)}.`,
      '',
    );
    if (name !== 'renego') continue;
    parts.push(
      'Top self time (share of wall time):',
      '',
      markdownTable(
        ['self', 'function', 'where'],
        s.topSelf.slice(0, 12).map((f) => [pct(f.share, 1), `\`${f.name}\``, f.location ? `\`${f.location}\`` : '']),
      ),
      '',
      'The same samples charged to the innermost src/ function on the stack (the node:crypto, Buffer and stream work it asked for included):',
      '',
      markdownTable(
        ['time', 'function', 'where'],
        s.topProject.slice(0, 10).map((f) => [pct(f.share, 1), `\`${f.name}\``, f.location ? `\`${f.location}\`` : '']),
      ),
      '',
      'Project functions (src/) by inclusive time:',
      '',
      markdownTable(
        ['inclusive', 'function', 'where'],
        s.topInclusiveProject.slice(0, 10).map((f) => [pct(f.share, 1), `\`${f.name}\``, `\`${f.location}\``]),
      ),
      '',
    );
  }
  return parts.join('\n');
}

function profileText(r: MetricResult): string {
  if (!r.profiles) return '';
  const lines: string[] = [];
  for (const name of CLIENT_NAMES) {
    const p = r.profiles[name];
    if (!p) continue;
    const s = p.summary;
    lines.push(
      `profile ${name} ${r.spec.name}: busy ${pct(1 - s.idleMs / s.wallMs, 1)}, GC ${pct(s.gcMs / s.wallMs, 1)} (${p.file})`,
    );
    if (name !== 'renego') continue;
    lines.push(
      textTable(
        ['self', 'function', 'where'],
        s.topSelf.slice(0, 12).map((f) => [pct(f.share, 1), f.name, f.location]),
      ),
      '',
      textTable(
        ['charged to src/', 'function', 'where'],
        s.topProject.slice(0, 10).map((f) => [pct(f.share, 1), f.name, f.location]),
      ),
    );
  }
  return lines.join('\n');
}

interface RunContext {
  readonly machine: Machine;
  readonly options: SuiteOptions;
  readonly servers: readonly BenchServer[];
  readonly negotiated: Record<ClientName, string>;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly results: readonly MetricResult[];
}

/** The command line as typed, assuming `npm run bench` started bench/run.ts. */
function benchCommand(): string {
  const args = process.argv.slice(2);
  return `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
}

function loadText(l: readonly number[]): string {
  return l.map((x) => x.toFixed(2)).join(' / ');
}

function serverLine(s: BenchServer): string {
  const command = s.command
    .replace(/ -cert \S+ -key \S+/, ' -cert server.pem -key server.key')
    .replace(/-accept \S+/, '-accept 127.0.0.1:<port>');
  return `  - ${s.mode}: \`${command}\``;
}

function render(cx: RunContext): { text: string; markdown: string } {
  const { machine, options, results } = cx;
  const rows = resultRows(results);
  const text = [
    textTable(RESULT_HEADER, rows),
    textTable(CPU_HEADER, cpuRows(results)),
    `load average (1/5/15 min) before ${loadText(cx.loadBefore)}, after ${loadText(cx.loadAfter)}`,
    ...results.map(profileText).filter((t) => t !== ''),
  ].join('\n\n');
  const profiled = results.filter((r) => r.profiles);
  const profileSeconds = (options.quick ? QUICK_PROFILE_MS : FULL_PROFILE_MS) / 1000;
  const markdown = [
    '## Client: renego vs node:tls against openssl s_server',
    '',
    `- Date: ${machine.date}${options.quick ? ' (**--quick run: numbers not to be quoted**)' : ''}`,
    `- Machine: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM; load average (1/5/15 min) ${loadText(cx.loadBefore)} before the run, ${loadText(cx.loadAfter)} after`,
    `- Node ${machine.node} (bundled OpenSSL ${machine.nodeOpenssl}); server: ${machine.openssl}`,
    `- Source: ${machine.source}`,
    `- Command: \`${benchCommand()}\` (package.json: \`tsx bench/run.ts\`)`,
    `- Protocol: TLS 1.2, ${SUITE_OPENSSL_NAME}, X25519, RSA-2048 leaf from the throwaway CA (\`createTestPki({ keyType: 'rsa' })\`); both clients verify the chain and the name \`localhost\`, offer EMS and the session ticket extension, resume nothing.`,
    (options.quietRounds ?? true)
      ? `- Method: interleaved rounds (A B, B A, …), one ${options.sampleMs / 1000} s sample per client per round, after a warm-up; medians of ${options.rounds} quiet rounds. Before each round the harness waits (up to ${QUIET_WAIT_MS / 1000} s) for a ${QUIET_WINDOW_MS} ms window in which other processes use under ${QUIET_OTHER_CPU * 100}% of a core; a round is quiet when they stayed under that during both samples. Noisy rounds are run again, up to ${MAX_ATTEMPTS_PER_ROUND * options.rounds} rounds in all; with fewer than ${MIN_QUIET_ROUNDS} quiet rounds every round counts (column *rounds*). Ratio = renego / node:tls.`
      : `- Method: ${options.rounds} interleaved rounds (A B, B A, …), one ${options.sampleMs / 1000} s sample per client per round, after a warm-up; medians over all rounds, quiet or not (\`--no-quiet\`). Ratio = renego / node:tls.`,
    '- Servers, one process each, the same ones for both clients:',
    ...cx.servers.map(serverLine),
    '- Workloads: *handshakes* = sequential TCP connect + full handshake + close_notify + wait for the server to close; *write* = 1 MiB `write()` calls honouring backpressure, then close_notify, timed until the sink closes (it has read every byte); *read* = application bytes per second while the source streams 16 KiB records, clock started at the first chunk.',
    `- Negotiated: renego \`${cx.negotiated.renego}\`; node:tls \`${cx.negotiated['node:tls']}\`.`,
    '',
    markdownTable(RESULT_HEADER, rows),
    '',
    'Spread = (max − min) / median over the rounds.',
    '',
    'Who was busy, medians over the rounds. CPU = CPU-seconds per wall-second (100% = one core): *client* is every thread of the benchmark process, *server* the s_server process, *others* the rest of the machine (/proc/stat), i.e. competition for the cores. "Per client CPU-s" is the work done per CPU-second of the client, the inverse of its CPU cost: its ratio does not depend on whether s_server or other processes held a client back, so it is the steadier comparison on a busy machine; the targets are on the wall-clock rates.',
    '',
    markdownTable(CPU_HEADER, cpuRows(results)),
    '',
    ...(profiled.length > 0
      ? [
          '### Where the time goes (V8 CPU profile of the client)',
          '',
          `Taken in-process with the V8 sampling profiler (node:inspector: the profiler behind \`node --cpu-prof\`, same .cpuprofile format, 100 µs interval), ${profileSeconds} s of each workload short of its target, after the measured rounds. Native work called from JavaScript (node:crypto cipher calls, socket writes) counts as self time of the calling JavaScript function; "idle" is waiting for the server or the network.`,
          '',
          ...profiled.map(profileMarkdown),
        ]
      : []),
  ].join('\n');
  return { text, markdown };
}

async function runClientSuite(options: SuiteOptions): Promise<SuiteResult> {
  const machine = describeMachine();
  const loadBefore = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'renego-bench-'));
  const servers: BenchServer[] = [];
  try {
    options.log('creating the throwaway PKI (RSA-2048)');
    const files = await writePkiFiles(dir, await createTestPki({ keyType: 'rsa' }));
    const caPem = await readFile(files.ca, 'utf8');
    const common = { cert: files.serverCert, key: files.serverKey, tlsArgs: SERVER_TLS_ARGS };
    servers.push(await startBenchServer({ ...common, mode: 'sink' }));
    servers.push(await startBenchServer({ ...common, mode: 'source' }));
    const [sink, source] = servers as [BenchServer, BenchServer];
    options.log(
      `s_server sink on port ${sink.port} (pid ${sink.pid}), source on port ${source.port} (pid ${source.pid})`,
    );

    const negotiated = await checkNegotiation({ host: sink.host, port: sink.port, caPem });
    for (const name of CLIENT_NAMES) options.log(`${name} negotiated ${negotiated[name]}`);

    const chunk = new Uint8Array(WRITE_SIZE);
    randomFillSync(chunk);
    const results = await measure(metricSpecs(sink, source, caPem, chunk), options);
    await profileMetrics(results, options);
    for (const s of servers) {
      if (s.hasExited()) throw new Error(`s_server (${s.mode}) exited during the run:\n${s.stderr()}`);
    }
    const { text, markdown } = render({
      machine,
      options,
      servers,
      negotiated,
      loadBefore,
      loadAfter: loadavg(),
      results,
    });
    return { text, markdown, targetsMet: results.every((r) => r.met || !r.spec.required) };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

export const clientSuite: Suite = {
  name: 'client',
  description: 'renego client vs node:tls: full handshakes/s and bulk MB/s against openssl s_server',
  run: runClientSuite,
};
