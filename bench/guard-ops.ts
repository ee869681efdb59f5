/**
 * The guard as operated, at its default log level (info, rate limited): new connections per
 * second against haproxy (and the guard at warn, to show what the logs cost, and a Node proxy
 * that only relays, to show what Node itself costs per connection), the guard's memory
 * per idle TLS connection, and its memory during and after a flood of connections that each send
 * a 9-byte hello header claiming 64 KiB and then nothing (they are held until the handshake
 * timeout; bench/guard-memory.ts). Every process is a child of its own (bench/guard-process.ts), on loopback.
 *
 *   tsx bench/guard-ops.ts [--rounds N] [--seconds S] [--warmup S] [--held N] [--flood N] [--rates-only]
 *                          [--baseline DIR]
 *
 * --warmup: one uncounted sample per subject first (default 0): the guard's first seconds under
 * load are spent compiling (V8 optimises a few hundred functions), which would land in round 1.
 * --baseline DIR: also runs the guard of another checkout of the project (e.g. `git archive` of
 * an older commit, with node_modules beside it) in the same rounds, to compare two versions.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helloFlood, idleMemory } from './guard-memory.ts';
import { cpuSeconds, startProxy, startRole, type BenchProcess } from './guard-proxies.ts';
import { clientScript, serverScript } from './guard-script.ts';
import { connectionRate, type Scripts } from './guard-workloads.ts';
import { median } from './lib/stats.ts';

const CONCURRENCY = 32;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '2' },
    held: { type: 'string', default: '4000' },
    flood: { type: 'string', default: '4000' },
    'rates-only': { type: 'boolean', default: false },
    warmup: { type: 'string', default: '0' },
    baseline: { type: 'string' },
  },
});
const warmupMs = Number(values.warmup) * 1000;
const rounds = Number(values.rounds);
const sampleMs = Number(values.seconds) * 1000;
const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string): void => console.error(`[bench] ${line}`);

interface AcceptRate {
  /** Median over rounds. */
  readonly rate: number;
  /**
   * Median over rounds of this subject's rate / haproxy's in the same round: samples taken
   * seconds apart share more of the neighbours' load than two medians do.
   */
  readonly roundRatio: number;
  /** The proxy's CPU µs per connection, over all rounds. */
  readonly cpuUs: number;
  /** Median over rounds of this subject's CPU per connection / the relay-only Node proxy's in the same round. */
  readonly cpuPerPipe: number;
}

const PIPE = 'node pipe (relay only)';

async function acceptRates(workDir: string): Promise<Record<string, AcceptRate>> {
  const upstream = await startRole(projectDir, 'script-upstream', ['close']);
  const subjects: Record<string, BenchProcess | undefined> = {};
  try {
    subjects['guard (info)'] = await startProxy('guard', upstream.port, projectDir, workDir, 'info');
    subjects['guard (warn)'] = await startProxy('guard', upstream.port, projectDir, workDir, 'warn');
    subjects['haproxy'] = await startProxy('haproxy', upstream.port, projectDir, workDir).catch(() => undefined);
    if (values.baseline !== undefined) {
      subjects['guard (info), baseline'] = await startProxy(
        'guard',
        upstream.port,
        resolve(values.baseline),
        workDir,
        'info',
      );
    }
    subjects[PIPE] = await startRole(projectDir, 'pipe', [String(upstream.port)]);
    const scripts: Scripts = { client: clientScript(), serverLength: serverScript().length };
    const samples: Record<string, number[]> = {};
    const cpu: Record<string, { seconds: number; connections: number }> = {};
    const roundCpu: Record<string, number[]> = {};
    if (warmupMs > 0) {
      for (const [name, p] of Object.entries(subjects)) {
        if (p === undefined) continue;
        await connectionRate(p.port, scripts, warmupMs, CONCURRENCY);
        log(`warm-up ${name}`);
      }
    }
    for (let r = 0; r < rounds; r++) {
      const names = Object.keys(subjects).filter((n) => subjects[n] !== undefined);
      for (const name of r % 2 === 0 ? names : names.reverse()) {
        const p = subjects[name]!;
        const cpu0 = cpuSeconds(p.pid);
        const m = await connectionRate(p.port, scripts, sampleMs, CONCURRENCY);
        const c = (cpu[name] ??= { seconds: 0, connections: 0 });
        const seconds = cpuSeconds(p.pid) - cpu0;
        c.seconds += seconds;
        c.connections += m.units;
        (roundCpu[name] ??= []).push(seconds / m.units);
        (samples[name] ??= []).push(m.rate);
        log(`round ${r + 1} ${name}: ${m.rate.toFixed(0)} connections/s`);
      }
    }
    const reference = samples['haproxy'];
    const pipeCpu = roundCpu[PIPE]!;
    return Object.fromEntries(
      Object.entries(samples).map(([n, s]) => [
        n,
        {
          rate: median(s),
          roundRatio: reference === undefined ? Number.NaN : median(s.map((v, i) => v / reference[i]!)),
          cpuUs: (cpu[n]!.seconds / cpu[n]!.connections) * 1e6,
          cpuPerPipe: median(roundCpu[n]!.map((v, i) => v / pipeCpu[i]!)),
        },
      ]),
    );
  } finally {
    const all = [...Object.values(subjects), upstream].filter((p): p is BenchProcess => p !== undefined);
    await Promise.all(all.map((p) => p.stop()));
  }
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'renego-bench-guard-ops-'));
  try {
    const rates = await acceptRates(workDir);
    const table = [
      '| subject | connections/s (median) | / haproxy, same round (median) | proxy CPU µs/connection | CPU / node pipe, same round (median) |',
      '| ------- | ---------------------- | ------------------------------ | ----------------------- | ------------------------------------ |',
      ...Object.entries(rates).map(
        ([n, r]) =>
          `| ${n} | ${r.rate.toFixed(0)} | ${r.roundRatio.toFixed(2)}x | ${r.cpuUs.toFixed(0)} | ${r.cpuPerPipe.toFixed(2)}x |`,
      ),
    ];
    if (values['rates-only']) {
      console.log(table.join('\n'));
      return;
    }
    const idle = await idleMemory(projectDir, workDir, Number(values.held), log);
    const flood = await helloFlood(projectDir, workDir, Number(values.flood));
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    const lines = [
      ...table,
      '',
      `Idle TLS connections: guard (info) RSS ${idle.before} KiB before, ${idle.after} KiB with ${idle.held} held: ` +
        `${idle.bytesPerConnection.toFixed(0)} bytes (${(idle.bytesPerConnection / 1024).toFixed(1)} KiB) per connection, ` +
        `${idle.heapBytesPerConnection.toFixed(0)} of them JS heap.`,
      '',
      `Hello-pinning flood: ${flood.opened} connections each sent a 9-byte header claiming a 64 KiB hello: ` +
        `guard RSS ${flood.before} KiB before, ${flood.during} KiB while they were held ` +
        `(${((flood.during - flood.before) / 1024).toFixed(1)} MiB more), ${flood.after} KiB ${flood.afterSeconds} s after they closed ` +
        `(${(((flood.after - flood.before) / flood.before) * 100).toFixed(1)}% against before); the guard's heapUsed ` +
        `${mib(flood.guardBefore.heapUsed)} → ${mib(flood.guardAfter.heapUsed)} MiB, external ` +
        `${mib(flood.guardBefore.external)} → ${mib(flood.guardAfter.external)} MiB.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
