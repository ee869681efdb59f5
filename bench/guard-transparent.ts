/**
 * The transparent guard benchmark: inside two network namespaces joined by a veth pair
 * (test/peers/netns.ts), the same scripted TLS traffic from the client namespace to upstreams in
 * the server namespace, three ways, in interleaved rounds:
 *
 * - direct: no interception, no proxy;
 * - explicit: `renego guard --listen 127.0.0.1:… --upstream 198.18.0.2:…` in the client namespace,
 *   the clients connecting to it;
 * - transparent: the clients connect to the upstream's own address, the outbound nftables ruleset
 *   (`renego guard transparent install --direction outbound`) redirects them to
 *   `renego guard --transparent`, which reads each one's original destination.
 *
 * Bulk: one connection, MB/s; connections: 32 clients connecting one after another. Targets:
 * transparent >= 0.9x explicit for both. Then the original-destination lookup itself, timed over
 * 1,000 open redirected connections: getsockopt(SO_ORIGINAL_DST) per connection (target < 50 µs),
 * and one read and parse of /proc/net/nf_conntrack for comparison. Needs root, ip and nft.
 *
 *   tsx bench/guard-transparent.ts [--quick] [--rounds N] [--seconds S] [--no-docs]
 *   npm run bench -- --only transparent
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNetnsPair, netnsSkipReason, SERVER_ADDRESS, type NetnsPair } from '../test/peers/netns.ts';
import { waitForQuiet } from './lib/cpu.ts';
import { describeMachine, type Machine } from './lib/machine.ts';
import { interleavedRounds } from './lib/rounds.ts';
import { summarise, type Summary } from './lib/stats.ts';
import { runStandalone, type Suite, type SuiteOptions, type SuiteResult } from './lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';
import { startRole, type BenchProcess } from './guard-proxies.ts';

const SUBJECTS = ['direct', 'explicit', 'transparent'] as const;
type Subject = (typeof SUBJECTS)[number];
const CONCURRENCY = 32;
const GUARD_PORT = 15001;
/** The group the transparent guard runs as (the ruleset lets its own connections through). */
const GUARD_GID = 39871;
const LOOKUP_CONNECTIONS = 1_000;
const TARGETS = { ratio: 0.9, lookupUs: 50 } as const;
const QUIET_CORES = 0.5;
const QUIET_WINDOW_MS = 300;
const QUIET_WAIT_MS = 10_000;
const RESULT_TIMEOUT_MS = 60_000;

interface Results {
  readonly machine: Machine;
  readonly rounds: number;
  readonly sampleMs: number;
  readonly bulk: Rates;
  readonly connections: Rates;
  readonly lookup: { us: number; found: number; count: number; procUs: number; entries: number };
}

/** Per subject the summary, and per round transparent / explicit (rounds are paired: same index, same round). */
interface Rates {
  readonly summary: Record<Subject, Summary>;
  readonly pairedRatio: Summary;
}

interface Setup {
  readonly pair: NetnsPair;
  readonly projectDir: string;
  readonly processes: BenchProcess[];
}

async function role(s: Setup, ns: string, name: string, args: readonly string[], env: string[] = []) {
  const p = await startRole(s.projectDir, name, args, [
    ...s.pair.prefix(ns),
    ...(env.length > 0 ? ['env', ...env] : []),
  ]);
  s.processes.push(p);
  return p;
}

async function renego(s: Setup, ns: string, args: readonly string[]): Promise<void> {
  const cli = [process.execPath, '--import', 'tsx', join(s.projectDir, 'src/cli/main.ts')];
  const r = await s.pair.exec(ns, [...cli, ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`renego ${args.join(' ')}: ${r.stderr}`);
}

/** One workload sample run inside the client namespace; its rate. */
async function sample(s: Setup, kind: 'bulk' | 'connections', host: string, port: number, ms: number): Promise<number> {
  const p = await role(s, s.pair.client, 'workload', [kind, host, String(port), String(ms), String(CONCURRENCY)]);
  try {
    const m = await p.waitFor(/RESULT (\S+) (\S+)/, RESULT_TIMEOUT_MS + ms);
    return Number(m[1]);
  } finally {
    await p.stop();
  }
}

async function measureRates(
  s: Setup,
  options: SuiteOptions,
  kind: 'bulk' | 'connections',
  targets: Record<Subject, { host: string; port: number }>,
): Promise<Rates> {
  const quiet = options.quietRounds ?? true;
  // Warm-up: one sample each, so the guards' hot paths are compiled before the rounds.
  for (const n of SUBJECTS) await sample(s, kind, targets[n].host, targets[n].port, Math.min(options.sampleMs, 1_000));
  const outcome = await interleavedRounds(
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
    async (n) => ({ value: await sample(s, kind, targets[n].host, targets[n].port, options.sampleMs), quiet: true }),
  );
  const values = (n: Subject): number[] => outcome.samples[n].map((x) => x.value);
  const explicit = values('explicit');
  return {
    summary: Object.fromEntries(SUBJECTS.map((n) => [n, summarise(values(n))])) as Record<Subject, Summary>,
    // On a shared machine a round's load lands on its three samples alike: the ratio within each
    // round is steadier than the ratio of medians taken over different rounds.
    pairedRatio: summarise(values('transparent').map((v, i) => v / explicit[i]!)),
  };
}

async function measure(options: SuiteOptions): Promise<Results> {
  const pair = await createNetnsPair();
  const s: Setup = { pair, projectDir: options.projectDir, processes: [] };
  try {
    const upstream = (mode: string) =>
      role(s, pair.server, 'script-upstream', [mode], [`BENCH_HOST=${SERVER_ADDRESS}`]).then((p) => p.port);
    // One pair of upstreams reached without interception (direct, explicit), one intercepted.
    const plain = { source: await upstream('source'), close: await upstream('close') };
    const caught = { source: await upstream('source'), close: await upstream('close') };
    await renego(s, pair.client, [
      'guard',
      'transparent',
      'install',
      '--ports',
      `${caught.source},${caught.close}`,
      '--direction',
      'outbound',
      '--gid',
      String(GUARD_GID),
      '--guard-port',
      String(GUARD_PORT),
    ]);
    const transparent = await role(s, pair.client, 'transparent-guard', [String(GUARD_PORT), String(GUARD_GID)]);
    const explicitFor = (port: number) =>
      role(s, pair.client, 'guard', [String(port), 'warn', SERVER_ADDRESS]).then((p) => p.port);

    const targets = (
      kind: 'source' | 'close',
      explicitPort: number,
    ): Record<Subject, { host: string; port: number }> => ({
      direct: { host: SERVER_ADDRESS, port: plain[kind] },
      explicit: { host: '127.0.0.1', port: explicitPort },
      transparent: { host: SERVER_ADDRESS, port: caught[kind] },
    });
    options.log('bulk throughput (MB/s), client namespace → server namespace');
    const bulk = await measureRates(s, options, 'bulk', targets('source', await explicitFor(plain.source)));
    options.log(`new connections per second (${CONCURRENCY} concurrent clients)`);
    const connections = await measureRates(s, options, 'connections', targets('close', await explicitFor(plain.close)));

    options.log(`original-destination lookup at ${LOOKUP_CONNECTIONS} open connections`);
    await transparent.stop();
    const count = options.quick ? 200 : LOOKUP_CONNECTIONS;
    const lookupRole = await role(s, pair.client, 'lookup-cost', [
      String(GUARD_PORT),
      SERVER_ADDRESS,
      String(caught.source),
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
      rounds: options.rounds,
      sampleMs: options.sampleMs,
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
  const bulkRatio = r.bulk.pairedRatio.median;
  const connRatio = r.connections.pairedRatio.median;
  const range = (x: Rates): string => `${fixed(x.pairedRatio.min, 2)}–${fixed(x.pairedRatio.max, 2)}`;
  const lookupOk = r.lookup.us < TARGETS.lookupUs && r.lookup.found === r.lookup.count;
  const met = bulkRatio >= TARGETS.ratio && connRatio >= TARGETS.ratio && lookupOk;
  const rates: { header: Row; rows: Row[] } = {
    header: ['subject', 'bulk MB/s (median)', 'bulk min–max', 'connections/s (median)', 'connections min–max'],
    rows: SUBJECTS.map((n): Row => [
      n === 'direct'
        ? 'no interception, no proxy'
        : n === 'explicit'
          ? 'explicit guard (--upstream)'
          : 'transparent guard',
      fixed(r.bulk.summary[n].median, 0),
      `${fixed(r.bulk.summary[n].min, 0)}–${fixed(r.bulk.summary[n].max, 0)}`,
      fixed(r.connections.summary[n].median, 0),
      `${fixed(r.connections.summary[n].min, 0)}–${fixed(r.connections.summary[n].max, 0)}`,
    ]),
  };
  const checks: { header: Row; rows: Row[] } = {
    header: ['measure', 'value', 'target', 'met'],
    rows: [
      [
        `bulk throughput, transparent / explicit (median of per-round ratios; ${range(r.bulk)})`,
        `${fixed(bulkRatio, 2)}x`,
        `>= ${TARGETS.ratio}x`,
        bulkRatio >= TARGETS.ratio ? 'yes' : 'NO',
      ],
      [
        `new connections, transparent / explicit (median of per-round ratios; ${range(r.connections)})`,
        `${fixed(connRatio, 2)}x`,
        `>= ${TARGETS.ratio}x`,
        connRatio >= TARGETS.ratio ? 'yes' : 'NO',
      ],
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
      [
        'bulk throughput, transparent / explicit (ratio of medians)',
        `${fixed(ratio(r.bulk, 'transparent', 'explicit'), 2)}x`,
        '(information)',
        '',
      ],
      [
        'new connections, transparent / explicit (ratio of medians)',
        `${fixed(ratio(r.connections, 'transparent', 'explicit'), 2)}x`,
        '(information)',
        '',
      ],
      [
        'bulk throughput, transparent / no proxy',
        `${fixed(ratio(r.bulk, 'transparent', 'direct'), 2)}x`,
        '(information)',
        '',
      ],
      [
        'new connections, transparent / no proxy',
        `${fixed(ratio(r.connections, 'transparent', 'direct'), 2)}x`,
        '(information)',
        '',
      ],
    ],
  };
  const m = r.machine;
  const text = [textTable(rates.header, rates.rows), '', textTable(checks.header, checks.rows)].join('\n');
  const markdown = [
    '## Transparent guard',
    '',
    `\`renego guard --transparent --policy deny\` behind the outbound nftables ruleset, against the explicit guard (\`--upstream\`) and against no interception, in one run, inside two network namespaces joined by a veth pair (client 198.18.0.1 → upstreams on 198.18.0.2). ${m.date}, ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.source}. Command: \`npm run bench -- --only transparent\` (root, ip and nft needed).`,
    '',
    `- Workloads: the guard benchmark's scripted TLS 1.2 conversations (\`bench/guard-script.ts\`); bulk: one connection, the upstream streams 16 KiB records; connections: ${CONCURRENCY} clients, a full scripted handshake each, then the upstream closes. Each sample runs in a process of its own inside the client namespace (\`bench/guard-process.ts workload\`).`,
    `- Method: ${r.rounds} interleaved rounds of one ${r.sampleMs / 1000} s sample per subject after a warm-up sample each, waiting (up to ${QUIET_WAIT_MS / 1000} s) for a quiet machine before each round; medians, min–max beside them. The machine is shared with other work, so single samples move a lot (see min–max); the targets are judged on the median of the per-round ratios (the three subjects of a round share its load).`,
    `- Lookup: \`bench/guard-process.ts lookup-cost\` opens ${r.lookup.count} connections that the ruleset redirects to itself, then times getsockopt(SO_ORIGINAL_DST) through koffi over all the accepted sockets (20 passes), and one read and parse of /proc/net/nf_conntrack (20 reads), which a conntrack-file lookup would pay per connection.`,
    `- Outbound interception: the clients' sockets are routed to 198.18.0.2 over the veth and advertise its MSS (1448), so after the redirect the transparent guard sends to them over loopback in 1448-byte segments, where the explicit guard's loopback clients advertise 65483 (docs/guard.md, Transparent mode, discusses the bulk result).`,
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
