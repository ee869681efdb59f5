/**
 * The guard as operated, at its default log level (info, rate limited): new connections per
 * second against haproxy (and the guard at warn, to show what the logs cost), the guard's memory
 * per idle TLS connection, and its memory during and after a flood of connections that each send
 * a 9-byte hello header claiming 64 KiB and then nothing (they are held until the handshake
 * timeout). Every process is a child of its own (bench/guard-process.ts), on loopback.
 *
 *   tsx bench/guard-ops.ts [--rounds N] [--seconds S] [--held N] [--flood N] [--rates-only]
 */
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, startProxy, startRole, type BenchProcess } from './guard-proxies.ts';
import { clientScript, serverScript } from './guard-script.ts';
import { connectionRate, type Scripts } from './guard-workloads.ts';
import { median } from './lib/stats.ts';

const HOST = '127.0.0.1';
const CONCURRENCY = 32;
const SETTLE_MS = 2_000;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '2' },
    held: { type: 'string', default: '4000' },
    flood: { type: 'string', default: '4000' },
    'rates-only': { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const sampleMs = Number(values.seconds) * 1000;
const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string): void => console.error(`[bench] ${line}`);

/** Per subject: connections per second (median over rounds) and the proxy's CPU µs per connection (over all rounds). */
async function acceptRates(workDir: string): Promise<Record<string, { rate: number; cpuUs: number }>> {
  const upstream = await startRole(projectDir, 'script-upstream', ['close']);
  const subjects: Record<string, BenchProcess | undefined> = {};
  try {
    subjects['guard (info)'] = await startProxy('guard', upstream.port, projectDir, workDir, 'info');
    subjects['guard (warn)'] = await startProxy('guard', upstream.port, projectDir, workDir, 'warn');
    subjects['haproxy'] = await startProxy('haproxy', upstream.port, projectDir, workDir).catch(() => undefined);
    const scripts: Scripts = { client: clientScript(), serverLength: serverScript().length };
    const samples: Record<string, number[]> = {};
    const cpu: Record<string, { seconds: number; connections: number }> = {};
    for (let r = 0; r < rounds; r++) {
      const names = Object.keys(subjects).filter((n) => subjects[n] !== undefined);
      for (const name of r % 2 === 0 ? names : names.reverse()) {
        const p = subjects[name]!;
        const cpu0 = cpuSeconds(p.pid);
        const m = await connectionRate(p.port, scripts, sampleMs, CONCURRENCY);
        const c = (cpu[name] ??= { seconds: 0, connections: 0 });
        c.seconds += cpuSeconds(p.pid) - cpu0;
        c.connections += m.units;
        (samples[name] ??= []).push(m.rate);
        log(`round ${r + 1} ${name}: ${m.rate.toFixed(0)} connections/s`);
      }
    }
    return Object.fromEntries(
      Object.entries(samples).map(([n, s]) => [
        n,
        { rate: median(s), cpuUs: (cpu[n]!.seconds / cpu[n]!.connections) * 1e6 },
      ]),
    );
  } finally {
    const all = [...Object.values(subjects), upstream].filter((p): p is BenchProcess => p !== undefined);
    await Promise.all(all.map((p) => p.stop()));
  }
}

async function idleMemory(workDir: string, count: number): Promise<{ before: number; after: number; held: number }> {
  const upstream = await startRole(projectDir, 'tls-upstream', []);
  const processes: BenchProcess[] = [upstream];
  try {
    const guard = (await startProxy('guard', upstream.port, projectDir, workDir, 'info'))!;
    processes.push(guard);
    const warm = await startRole(projectDir, 'holder', [String(guard.port), '200']);
    await warm.waitFor(/HELD \d+/, 60_000);
    await warm.stop();
    await sleep(SETTLE_MS);
    const before = guard.rssKiB();
    const holder = await startRole(projectDir, 'holder', [String(guard.port), String(count)]);
    processes.push(holder);
    const m = await holder.waitFor(/HELD (\d+) FAILED (\d+)/, 300_000);
    await sleep(SETTLE_MS);
    return { before, after: guard.rssKiB(), held: Number(m[1]) };
  } finally {
    await Promise.all(processes.reverse().map((p) => p.stop()));
  }
}

/** A record header and a ClientHello header claiming 65,000 bytes: 9 bytes. */
const PINNING_HEADER = Uint8Array.of(22, 3, 1, 0x40, 0x00, 1, 0, 0xfd, 0xe8);

async function helloFlood(
  workDir: string,
  count: number,
): Promise<{ before: number; during: number; after: number; opened: number }> {
  const upstream = await startRole(projectDir, 'script-upstream', ['echo']);
  const processes: BenchProcess[] = [upstream];
  const sockets: net.Socket[] = [];
  try {
    const guard = (await startProxy('guard', upstream.port, projectDir, workDir, 'info'))!;
    processes.push(guard);
    await sleep(SETTLE_MS);
    const before = guard.rssKiB();
    for (let i = 0; i < count; i += 200) {
      await Promise.all(
        Array.from(
          { length: Math.min(200, count - i) },
          () =>
            new Promise<void>((done) => {
              const s = net.connect({ host: HOST, port: guard.port }, () => {
                s.write(PINNING_HEADER);
                done();
              });
              s.on('error', () => done());
              sockets.push(s);
            }),
        ),
      );
    }
    await sleep(SETTLE_MS);
    const during = guard.rssKiB();
    const opened = sockets.filter((s) => !s.destroyed).length;
    for (const s of sockets) s.destroy();
    // Past the 10 s handshake timeout, had the sockets stayed; then the guard is idle again.
    await sleep(3 * SETTLE_MS);
    return { before, during, after: guard.rssKiB(), opened };
  } finally {
    for (const s of sockets) s.destroy();
    await Promise.all(processes.reverse().map((p) => p.stop()));
  }
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'renego-bench-guard-ops-'));
  try {
    const rates = await acceptRates(workDir);
    const table = [
      '| subject | connections/s (median) | proxy CPU µs/connection |',
      '| ------- | ---------------------- | ----------------------- |',
      ...Object.entries(rates).map(([n, r]) => `| ${n} | ${r.rate.toFixed(0)} | ${r.cpuUs.toFixed(0)} |`),
    ];
    if (values['rates-only']) {
      console.log(table.join('\n'));
      return;
    }
    const idle = await idleMemory(workDir, Number(values.held));
    const flood = await helloFlood(workDir, Number(values.flood));
    const lines = [
      ...table,
      '',
      `Idle TLS connections: guard (info) RSS ${idle.before} KiB before, ${idle.after} KiB with ${idle.held} held: ` +
        `${((idle.after - idle.before) / idle.held).toFixed(1)} KiB per connection.`,
      '',
      `Hello-pinning flood: ${flood.opened} connections each sent a 9-byte header claiming a 64 KiB hello: ` +
        `guard RSS ${flood.before} KiB before, ${flood.during} KiB while they were held ` +
        `(${((flood.during - flood.before) / 1024).toFixed(1)} MiB more), ${flood.after} KiB 6 s after they closed.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
