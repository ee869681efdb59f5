/**
 * The transparent guard benchmark, both directions, in one run inside one pair of network
 * namespaces joined by a veth pair (test/peers/netns.ts): the client namespace (198.18.0.1) and the
 * server namespace (198.18.0.2), where the upstreams listen. Every sample is the same client
 * program (`bench/guard-process.ts workload`) in the client namespace, against the same upstream
 * program in the server namespace, through the same guard code; five subjects in interleaved rounds:
 *
 * - direct: no interception, no proxy.
 * - inbound (the guards run in the server namespace, where the interception happens, and serve
 *   clients that come over the veth):
 *   - explicit: `renego guard --listen 198.18.0.2:… --upstream 198.18.0.2:…`, the client connecting
 *     to the guard's own address and port;
 *   - transparent: the client connects to the upstream's address and port, the inbound ruleset
 *     (`renego guard transparent install --direction inbound`) redirects it in prerouting to
 *     `renego guard --transparent`.
 * - outbound (the guards run in the client namespace, the client's own host):
 *   - explicit: the guard listens on the client namespace's own veth address, the client connects
 *     to it there;
 *   - transparent: the client connects to the upstream's address, the outbound ruleset redirects it
 *     in the output hook to the transparent guard.
 *
 * Same path for both guards of a direction: inbound, both serve clients over the veth. Outbound,
 * an intercepted client's socket was routed to the upstream over the veth and keeps that route's
 * MSS (1448) after the redirect; a socket connecting to a local address gets the loopback's
 * (65483), and with it 45 times fewer segments for the guard to write. So the client namespace's
 * local route to its own address is given the veth's MTU (`ip route change local 198.18.0.1 …
 * mtu 1500`), and the explicit guard's clients use the same segment size as intercepted ones
 * (`ss -tin` shows mss:1448 on both guards' client sockets).
 *
 * Bulk: one connection, MB/s; connections: 32 clients connecting one after another, per second;
 * beside each the guard process's CPU per GB or per connection (it depends less on the
 * neighbours of a shared machine). Targets: transparent >= 0.9x explicit, both workloads, both
 * directions. Then the original-destination lookup itself, timed over 1,000 open redirected
 * connections: getsockopt(SO_ORIGINAL_DST) per connection (target < 50 µs), and one read and
 * parse of /proc/net/nf_conntrack for comparison. Needs root, ip and nft.
 *
 *   tsx bench/guard-transparent.ts [--quick] [--rounds N] [--seconds S] [--no-docs]
 *   npm run bench -- --only transparent
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import {
  CLIENT_ADDRESS,
  createNetnsPair,
  netnsSkipReason,
  SERVER_ADDRESS,
  type NetnsPair,
} from '../test/peers/netns.ts';
import { processCpuSplit, waitForQuiet } from './lib/cpu.ts';
import { describeMachine, type Machine } from './lib/machine.ts';
import { interleavedRounds, type RoundSample } from './lib/rounds.ts';
import { bootstrapMedianInterval, median, summarise, type Summary } from './lib/stats.ts';
import { runStandalone, type Suite, type SuiteOptions, type SuiteResult } from './lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';
import { startRole, type BenchProcess } from './guard-proxies.ts';

const SUBJECTS = [
  'direct',
  'explicit-inbound',
  'transparent-inbound',
  'explicit-outbound',
  'transparent-outbound',
] as const;
type Subject = (typeof SUBJECTS)[number];
const DIRECTIONS = ['inbound', 'outbound'] as const;
type Direction = (typeof DIRECTIONS)[number];
type Kind = 'bulk' | 'connections';
const LABELS: Record<Subject, string> = {
  direct: 'no interception, no proxy',
  'explicit-inbound': 'inbound, explicit guard (--upstream)',
  'transparent-inbound': 'inbound, transparent guard',
  'explicit-outbound': 'outbound, explicit guard (--upstream)',
  'transparent-outbound': 'outbound, transparent guard',
};
const CONCURRENCY = 32;
const GUARD_PORT = 15001;
/** The group the transparent guards run as (the outbound ruleset lets its own connections through). */
const GUARD_GID = 39871;
const LOOKUP_CONNECTIONS = 1_000;
const TARGETS = { ratio: 0.9, lookupUs: 50 } as const;
const QUIET_CORES = 0.5;
const QUIET_WINDOW_MS = 300;
const QUIET_WAIT_MS = 10_000;
const RESULT_TIMEOUT_MS = 60_000;
/**
 * With two cores or more, the guard under test gets core 1 to itself and everything that makes
 * its load (the upstreams and the client workloads) runs on core 0; the rest of the machine is
 * not pinned. The kernel's work for a packet sent over the veth is mostly done on the sender's
 * core, so the guard's core also carries the receive side of what the guard sends.
 */
const CORES = { guard: 1, load: 0 } as const;
type CoreRole = keyof typeof CORES;

/** taskset and two cores or more: pin (see CORES); else nothing is pinned, and the docs say so. */
function canPin(): boolean {
  return availableParallelism() >= 2 && spawnSync('taskset', ['--version']).status === 0;
}

interface Results {
  readonly machine: Machine;
  readonly pinned: boolean;
  readonly rounds: number;
  readonly sampleMs: number;
  readonly mtu: number;
  readonly bulk: Rates;
  readonly connections: Rates;
  readonly lookup: { us: number; found: number; count: number; procUs: number; entries: number };
}

/**
 * Per subject the rates, the guard's median CPU seconds per unit and the share of a core it used;
 * per direction transparent / explicit, round by round, for the rate and for the CPU per unit.
 */
interface Rates {
  readonly summary: Record<Subject, Summary>;
  readonly cpuPerUnit: Record<Subject, number>;
  readonly systemPerUnit: Record<Subject, number>;
  readonly guardCores: Record<Subject, number>;
  readonly pairedRatio: Record<Direction, Summary>;
  readonly pairedCpuRatio: Record<Direction, Summary>;
}

interface RateSample extends RoundSample {
  readonly cpuPerUnit: number;
  /** The kernel's part of cpuPerUnit (system time). */
  readonly systemPerUnit: number;
  /** The guard's CPU seconds over the sample's seconds: near 1, the guard limited the sample. */
  readonly guardCores: number;
}

interface Setup {
  readonly pair: NetnsPair;
  readonly projectDir: string;
  readonly processes: BenchProcess[];
  readonly pinned: boolean;
}

interface Target {
  readonly host: string;
  readonly port: number;
  /** The guard process whose CPU time a sample costs; none for direct. */
  readonly pid: number | undefined;
}

async function role(s: Setup, ns: string, core: CoreRole, name: string, args: readonly string[], env: string[] = []) {
  const p = await startRole(s.projectDir, name, args, [
    ...s.pair.prefix(ns),
    ...(s.pinned ? ['taskset', '-c', String(CORES[core])] : []),
    ...(env.length > 0 ? ['env', ...env] : []),
  ]);
  s.processes.push(p);
  return p;
}

async function must(s: Setup, ns: string, args: readonly string[]): Promise<string> {
  const r = await s.pair.exec(ns, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function renego(s: Setup, ns: string, args: readonly string[]): Promise<string> {
  return must(s, ns, [process.execPath, '--import', 'tsx', join(s.projectDir, 'src/cli/main.ts'), ...args]);
}

/**
 * Gives the client namespace's local route to its own veth address the veth's MTU, so that a
 * socket connecting to that address advertises and uses the veth's MSS, as an intercepted one
 * does. Answers the MTU.
 */
async function vethMtuForLocalAddress(s: Setup): Promise<number> {
  const ns = s.pair.client;
  const route = (await must(s, ns, ['ip', 'route', 'show', 'table', 'local', 'exact', CLIENT_ADDRESS])).trim();
  const device = /\bdev (\S+)/.exec(route)?.[1];
  if (device === undefined) throw new Error(`no local route to ${CLIENT_ADDRESS}: ${route}`);
  const mtu = Number((await must(s, ns, ['cat', `/sys/class/net/${device}/mtu`])).trim());
  await must(s, ns, ['ip', 'route', 'change', ...route.split(/\s+/), 'table', 'local', 'mtu', String(mtu)]);
  return mtu;
}

/** One workload sample run inside the client namespace: its rate, and the guard's CPU seconds per unit. */
async function sample(
  s: Setup,
  kind: Kind,
  t: Target,
  ms: number,
): Promise<{ rate: number; cpuPerUnit: number; systemPerUnit: number; guardCores: number }> {
  const p = await role(s, s.pair.client, 'load', 'workload', [
    kind,
    t.host,
    String(t.port),
    String(ms),
    String(CONCURRENCY),
  ]);
  try {
    const split = (): { user: number; system: number } =>
      (t.pid === undefined ? undefined : processCpuSplit(t.pid)) ?? { user: Number.NaN, system: Number.NaN };
    const cpu0 = split();
    const t0 = performance.now();
    p.send('go');
    const m = await p.waitFor(/RESULT (\S+) (\S+)/, RESULT_TIMEOUT_MS + ms);
    const cpu1 = split();
    const system = cpu1.system - cpu0.system;
    const cpu = cpu1.user - cpu0.user + system;
    const units = Number(m[2]);
    return {
      rate: Number(m[1]),
      cpuPerUnit: cpu / units,
      systemPerUnit: system / units,
      guardCores: cpu / ((performance.now() - t0) / 1000),
    };
  } finally {
    await p.stop();
  }
}

async function measureRates(
  s: Setup,
  options: SuiteOptions,
  kind: Kind,
  targets: Record<Subject, Target>,
): Promise<Rates> {
  const quiet = options.quietRounds ?? true;
  // Warm-up: one sample each, so the guards' hot paths are compiled before the rounds.
  for (const n of SUBJECTS) await sample(s, kind, targets[n], Math.min(options.sampleMs, 1_000));
  const outcome = await interleavedRounds<Subject, RateSample>(
    SUBJECTS,
    {
      rounds: options.rounds,
      maxAttempts: options.rounds,
      minQuietRounds: 1,
      beforeRound: quiet
        ? () => waitForQuiet(QUIET_CORES, QUIET_WINDOW_MS, QUIET_WAIT_MS).then(() => undefined)
        : undefined,
      onSample: (n, attempt, x) => options.log(`  ${kind} round ${attempt + 1} ${n}: ${fixed(x.value, 1)}`),
    },
    async (n) => {
      const x = await sample(s, kind, targets[n], options.sampleMs);
      return { value: x.rate, ...x, quiet: true };
    },
  );
  const values = (n: Subject, field: 'value' | 'cpuPerUnit' | 'systemPerUnit' | 'guardCores' = 'value'): number[] =>
    outcome.samples[n].map((x) => x[field]);
  // On a shared machine a round's load lands on all its samples alike: the ratio within each
  // round is steadier than the ratio of medians taken over different rounds.
  const paired = (d: Direction, field: 'value' | 'cpuPerUnit'): Summary => {
    const explicit = values(`explicit-${d}`, field);
    return summarise(values(`transparent-${d}`, field).map((v, i) => v / explicit[i]!));
  };
  const perSubject = (f: (n: Subject) => number): Record<Subject, number> =>
    Object.fromEntries(SUBJECTS.map((n) => [n, f(n)])) as Record<Subject, number>;
  return {
    summary: Object.fromEntries(SUBJECTS.map((n) => [n, summarise(values(n))])) as Record<Subject, Summary>,
    cpuPerUnit: perSubject((n) => median(values(n, 'cpuPerUnit'))),
    systemPerUnit: perSubject((n) => median(values(n, 'systemPerUnit'))),
    guardCores: perSubject((n) => median(values(n, 'guardCores'))),
    pairedRatio: { inbound: paired('inbound', 'value'), outbound: paired('outbound', 'value') },
    pairedCpuRatio: { inbound: paired('inbound', 'cpuPerUnit'), outbound: paired('outbound', 'cpuPerUnit') },
  };
}

async function measure(options: SuiteOptions): Promise<Results> {
  const pair = await createNetnsPair();
  const s: Setup = { pair, projectDir: options.projectDir, processes: [], pinned: canPin() };
  try {
    const upstream = (mode: string) =>
      role(s, pair.server, 'load', 'script-upstream', [mode], [`BENCH_HOST=${SERVER_ADDRESS}`]).then((p) => p.port);
    const upstreams = async () => ({ source: await upstream('source'), close: await upstream('close') });
    // Upstreams reached without interception (direct, both explicit guards), and one pair per
    // direction of interception, so that no connection is intercepted twice.
    const plain = await upstreams();
    const caught = { inbound: await upstreams(), outbound: await upstreams() };
    const install = (ns: string, direction: Direction) =>
      renego(s, ns, [
        'guard',
        'transparent',
        'install',
        '--ports',
        `${caught[direction].source},${caught[direction].close}`,
        '--direction',
        direction,
        '--gid',
        String(GUARD_GID),
        '--guard-port',
        String(GUARD_PORT),
      ]);
    await install(pair.server, 'inbound');
    await install(pair.client, 'outbound');
    const mtu = await vethMtuForLocalAddress(s);
    const transparentGuard = (ns: string) =>
      role(s, ns, 'guard', 'transparent-guard', [String(GUARD_PORT), String(GUARD_GID)]);
    const explicitGuard = (ns: string, listenHost: string, upstreamPort: number) =>
      role(s, ns, 'guard', 'guard', [String(upstreamPort), 'warn', SERVER_ADDRESS], [`BENCH_HOST=${listenHost}`]);

    // Every guard starts afresh for each workload, so that the two guards of a direction compared
    // have the same history (a guard that has relayed gigabytes holds a larger heap than a new one).
    const measureKind = async (kind: Kind, mode: 'source' | 'close'): Promise<Rates> => {
      const transparent = {
        inbound: await transparentGuard(pair.server),
        outbound: await transparentGuard(pair.client),
      };
      const explicitIn = await explicitGuard(pair.server, SERVER_ADDRESS, plain[mode]);
      const explicitOut = await explicitGuard(pair.client, CLIENT_ADDRESS, plain[mode]);
      const targets: Record<Subject, Target> = {
        direct: { host: SERVER_ADDRESS, port: plain[mode], pid: undefined },
        'explicit-inbound': { host: SERVER_ADDRESS, port: explicitIn.port, pid: explicitIn.pid },
        'transparent-inbound': { host: SERVER_ADDRESS, port: caught.inbound[mode], pid: transparent.inbound.pid },
        'explicit-outbound': { host: CLIENT_ADDRESS, port: explicitOut.port, pid: explicitOut.pid },
        'transparent-outbound': { host: SERVER_ADDRESS, port: caught.outbound[mode], pid: transparent.outbound.pid },
      };
      try {
        return await measureRates(s, options, kind, targets);
      } finally {
        await Promise.all([
          explicitIn.stop(),
          explicitOut.stop(),
          transparent.inbound.stop(),
          transparent.outbound.stop(),
        ]);
      }
    };
    options.log('bulk throughput (MB/s), client namespace → server namespace');
    const bulk = await measureKind('bulk', 'source');
    options.log(`new connections per second (${CONCURRENCY} concurrent clients)`);
    const connections = await measureKind('connections', 'close');

    options.log(`original-destination lookup at ${LOOKUP_CONNECTIONS} open connections`);
    const count = options.quick ? 200 : LOOKUP_CONNECTIONS;
    const lookupRole = await role(s, pair.client, 'guard', 'lookup-cost', [
      String(GUARD_PORT),
      SERVER_ADDRESS,
      String(caught.outbound.source),
      String(count),
    ]);
    const m = await lookupRole.waitFor(/LOOKUP (\S+) FOUND (\d+) OF (\d+) PROC (\S+) ENTRIES (\d+)/, RESULT_TIMEOUT_MS);
    const lookup = {
      us: Number(m[1]),
      found: Number(m[2]),
      count: Number(m[3]),
      procUs: Number(m[4]),
      entries: Number(m[5]),
    };
    return {
      machine: describeMachine(),
      pinned: s.pinned,
      rounds: options.rounds,
      sampleMs: options.sampleMs,
      mtu,
      bulk,
      connections,
      lookup,
    };
  } finally {
    await Promise.all(s.processes.reverse().map((p) => p.stop()));
    await pair.remove();
  }
}

function render(r: Results, options: SuiteOptions): SuiteResult {
  const ratio = (x: Rates, a: Subject, b: Subject): number => x.summary[a].median / x.summary[b].median;
  const spanOf = (x: Summary): string => {
    const i = bootstrapMedianInterval(x.samples);
    return `95% interval of the median ${fixed(i.low, 2)}–${fixed(i.high, 2)}; rounds ${fixed(x.min, 2)}–${fixed(x.max, 2)}`;
  };
  const lookupOk = r.lookup.us < TARGETS.lookupUs && r.lookup.found === r.lookup.count;
  const ratioRows: Row[] = [];
  const cpuRows: Row[] = [];
  let met = lookupOk;
  for (const d of DIRECTIONS)
    for (const [kind, x] of [
      ['bulk throughput', r.bulk],
      ['new connections', r.connections],
    ] as const) {
      const v = x.pairedRatio[d].median;
      const interval = bootstrapMedianInterval(x.pairedRatio[d].samples);
      met &&= v >= TARGETS.ratio;
      ratioRows.push([
        `${d}: ${kind}, transparent / explicit (median of per-round ratios; ${spanOf(x.pairedRatio[d])})`,
        `${fixed(v, 2)}x`,
        `>= ${TARGETS.ratio}x`,
        // The interval says whether the run could tell: entirely above or below the target, or across it.
        `${v >= TARGETS.ratio ? 'yes' : 'NO'}${interval.low < TARGETS.ratio && interval.high >= TARGETS.ratio ? ' (interval spans the target)' : ''}`,
      ]);
      const unit = kind === 'bulk throughput' ? 'per GB' : 'per connection';
      cpuRows.push([
        `${d}: guard CPU ${unit}, transparent / explicit (median of per-round ratios; ${spanOf(x.pairedCpuRatio[d])})`,
        `${fixed(x.pairedCpuRatio[d].median, 2)}x`,
        '(information; <= 1.11x is the same 0.9)',
        '',
      ]);
    }
  const information: Row[] = [];
  for (const d of DIRECTIONS)
    for (const [kind, x] of [
      ['bulk throughput', r.bulk],
      ['new connections', r.connections],
    ] as const)
      information.push(
        [
          `${d}: ${kind}, transparent / explicit (ratio of medians)`,
          `${fixed(ratio(x, `transparent-${d}`, `explicit-${d}`), 2)}x`,
          '(information)',
          '',
        ],
        [
          `${d}: ${kind}, transparent / no proxy`,
          `${fixed(ratio(x, `transparent-${d}`, 'direct'), 2)}x`,
          '(information)',
          '',
        ],
      );
  const cpu = (x: number, system: number, scale: number): string =>
    Number.isNaN(x) ? '—' : `${fixed(x * scale, 0)} (${fixed(system * scale, 0)})`;
  const rates: { header: Row; rows: Row[] } = {
    header: [
      'subject',
      'bulk MB/s (median)',
      'bulk min–max',
      'guard CPU ms/GB (system)',
      'connections/s (median)',
      'connections min–max',
      'guard CPU µs/connection (system)',
      'guard cores used (bulk / connections)',
    ],
    rows: SUBJECTS.map((n): Row => [
      LABELS[n],
      fixed(r.bulk.summary[n].median, 0),
      `${fixed(r.bulk.summary[n].min, 0)}–${fixed(r.bulk.summary[n].max, 0)}`,
      // units: MB for bulk (s/MB × 1e6 = ms/GB), connections for the rate (s × 1e6 = µs).
      cpu(r.bulk.cpuPerUnit[n], r.bulk.systemPerUnit[n], 1e6),
      fixed(r.connections.summary[n].median, 0),
      `${fixed(r.connections.summary[n].min, 0)}–${fixed(r.connections.summary[n].max, 0)}`,
      cpu(r.connections.cpuPerUnit[n], r.connections.systemPerUnit[n], 1e6),
      Number.isNaN(r.bulk.guardCores[n])
        ? '—'
        : `${fixed(r.bulk.guardCores[n], 2)} / ${fixed(r.connections.guardCores[n], 2)}`,
    ]),
  };
  const checks: { header: Row; rows: Row[] } = {
    header: ['measure', 'value', 'target', 'met'],
    rows: [
      ...ratioRows,
      ...cpuRows,
      [
        `SO_ORIGINAL_DST lookup at ${r.lookup.count} open connections (${r.lookup.found} found)`,
        `${fixed(r.lookup.us, 2)} µs`,
        `< ${TARGETS.lookupUs} µs`,
        lookupOk ? 'yes' : 'NO',
      ],
      [
        `/proc/net/nf_conntrack read and parse (${r.lookup.entries} entries of the port)`,
        Number.isNaN(r.lookup.procUs) ? 'no such file' : `${fixed(r.lookup.procUs, 0)} µs`,
        '(information)',
        '',
      ],
      ...information,
    ],
  };
  const m = r.machine;
  const text = [textTable(rates.header, rates.rows), '', textTable(checks.header, checks.rows)].join('\n');
  const markdown = [
    '## Transparent guard',
    '',
    `\`renego guard --transparent --policy deny\` behind the inbound and the outbound nftables ruleset, against the explicit guard (\`--upstream\`) serving the same clients over the same path, and against no interception, in one run inside two network namespaces joined by a veth pair (client namespace 198.18.0.1, upstreams in the server namespace on 198.18.0.2). ${m.date}, ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.source}. Command: \`npm run bench -- --only transparent --rounds ${r.rounds} --seconds ${r.sampleMs / 1000}\` (root, ip and nft needed).`,
    '',
    `- Subjects: every sample is the same client program in the client namespace (\`bench/guard-process.ts workload\`) against the same upstream program in the server namespace, through the same guard code. **Inbound**: both guards run in the server namespace, where the interception happens; the explicit guard listens on 198.18.0.2 and the client connects to it; the transparent guard gets the client's connection to the upstream's own address through the prerouting redirect. Both serve their clients over the veth. **Outbound**: both guards run in the client namespace; the transparent guard gets the client's connection to 198.18.0.2 through the output-hook redirect; the explicit guard listens on the client namespace's own address 198.18.0.1 and the client connects to it there.`,
    `- Same segment size outbound: an intercepted client's socket was routed to the upstream over the veth and keeps its MSS (1448) after the redirect, where a socket connecting to a local address would get the loopback's (65483) and send and receive in 45 times fewer segments. The benchmark therefore gives the client namespace's local route to 198.18.0.1 the veth's MTU (\`ip route change local 198.18.0.1 … mtu ${r.mtu}\`): \`ss -tin\` shows mss:1448 on both guards' client sockets. (Before this, the explicit guard's clients were on loopback and bulk measured 0.36x.)`,
    `- Workloads: the guard benchmark's scripted TLS 1.2 conversations (\`bench/guard-script.ts\`); bulk: one connection, the upstream streams 16 KiB records; connections: ${CONCURRENCY} clients, a full scripted handshake each, then the upstream closes. Every guard is started afresh for each workload, so both guards of a direction have the same history. Guard CPU: user + system time of the guard process during each sample, per GB or per connection (median; the system time in parentheses); the kernel's work for the guard's sends (the veth or loopback and, when intercepted, conntrack's NAT) is done in the guard's write calls and counts as its system time.`,
    `- Method: ${r.rounds} interleaved rounds of one ${r.sampleMs / 1000} s sample per subject after a warm-up sample each, waiting (up to ${QUIET_WAIT_MS / 1000} s) for a quiet machine before each round; medians, min–max beside them. The machine is shared with other work, so single samples move a lot (see min–max); the targets are judged on the median of the per-round ratios (the subjects of a round share its load), with a 95% bootstrap interval of that median beside it (4,000 resamples of the rounds, fixed seed): where the interval spans the target, the run could not tell. The guard's CPU per GB or per connection, also as per-round ratios, is the second measure: it counts what the guard did, whoever else used the machine (though a guard that is not saturated wakes for fewer events at a time and spends a little more per connection).`,
    r.pinned
      ? `- Pinning (\`taskset\`): each guard runs on core ${CORES.guard}, alone among the benchmark's processes; the upstreams and the client workloads run on core ${CORES.load}; the rest of the machine is not pinned. The kernel's work for a packet sent over the veth is mostly done on the sending core, so the guard's core also carries the receiving side of what the guard sends. "Guard cores used" near 1.00 means the guard limited the sample; well below, the load generators' core did.`
      : '- Not pinned (one core, or no `taskset`): guards and load generators share the cores.',
    `- Lookup: \`bench/guard-process.ts lookup-cost\` opens ${r.lookup.count} connections that the outbound ruleset redirects to itself, then times getsockopt(SO_ORIGINAL_DST) through koffi over all the accepted sockets (20 passes), and one read and parse of /proc/net/nf_conntrack (20 reads), which a conntrack-file lookup would pay per connection.`,
    options.quick ? '- **Quick run** (`--quick`): checks the harness; numbers not to be quoted.' : '',
    '',
    markdownTable(rates.header, rates.rows),
    '',
    markdownTable(checks.header, checks.rows),
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
  return { text, markdown, targetsMet: met };
}

async function lastSection(projectDir: string): Promise<string> {
  const text = await readFile(join(projectDir, 'docs', 'benchmarks.md'), 'utf8').catch(() => '');
  const start = '<!-- bench:transparent:start -->';
  const from = text.indexOf(start);
  const to = text.indexOf('<!-- bench:transparent:end -->');
  return from >= 0 && to > from ? text.slice(from + start.length, to) : '## Transparent guard\n\nNot measured yet.';
}

export const transparentSuite: Suite = {
  name: 'transparent',
  description:
    'renego guard --transparent vs the explicit guard and no interception, in network namespaces; SO_ORIGINAL_DST cost',
  run: async (options) => {
    const skip = netnsSkipReason();
    if (skip === undefined) return render(await measure(options), options);
    // `npm run bench` runs every suite: without root or nftables this one says why and stays out of the way.
    // The section keeps the last measured results.
    options.log(`transparent: skipped (${skip})`);
    return { text: `skipped: ${skip}`, markdown: await lastSection(options.projectDir), targetsMet: true };
  },
};

runStandalone(transparentSuite, import.meta.url);
