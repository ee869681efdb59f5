/**
 * The campaign benchmark: N distinct local targets scanned through the Redis
 * queue by 1 and by 3 worker processes on this machine, against the local
 * `renego scan` of the same list in the same run (the reference), with the
 * Redis memory each target costs.
 *
 *   npx tsx bench/campaign.ts [--targets N] [--concurrency C] [--no-local] [--no-docs]
 *   npm run bench -- --only campaign
 *
 * Targets: N listening ports on 127.0.0.1 in one child process, each handing its
 * connections to one of two node:https servers (OpenSSL in C++, ECDSA, so that
 * the servers' CPU is not what is measured; one refuses renegotiation with
 * SSL_OP_NO_RENEGOTIATION), so every target is distinct for the queue's
 * idempotency while no proxy copies bytes. All on one address, so the workers'
 * politeness limit is set out of the way (--max-per-address 100000); the
 * semaphore's Redis round trips are still made for every target.
 *
 * Redis memory: INFO used_memory after enqueueing and after the campaign, minus
 * before, per target: the queued jobs, then the deflated reports kept until
 * `delete`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { createTestPki } from '../src/pki/throwaway.ts';
import { connectOnce, parseQueueAddress } from '../src/scan/queue/redis.ts';
import { campaignResults, campaignStatus, openQueue } from '../src/scan/queue/store.ts';
import { startRedisServer } from '../test/peers/redis-server.ts';
import { processCpuSeconds } from './lib/cpu.ts';
import { updateSection } from './lib/docs.ts';
import { describeMachine } from './lib/machine.ts';
import type { Suite, SuiteOptions, SuiteResult } from './lib/suite.ts';
import { fixed, markdownTable, textTable, type Row } from './lib/table.ts';

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVE_FLAG = '--serve-many-ports';
const CLI = ['--import', 'tsx', join(projectDir, 'src', 'cli', 'main.ts')];
const CAMPAIGN_TIMEOUT_MS = 3_600_000;

/** Child mode: `count` listeners on 127.0.0.1, alternating between two node:https servers; prints the ports. */
async function serveManyPorts(count: number): Promise<void> {
  const pki = await createTestPki({ keyType: 'ecdsa' });
  const options = { cert: pki.server.certPem, key: pki.server.keyPem, maxVersion: 'TLSv1.2' as const };
  const answer = (_req: unknown, res: { end(s: string): void }): void => res.end('ok\n');
  const servers = [
    createHttpsServer(options, answer),
    createHttpsServer({ ...options, secureOptions: constants.SSL_OP_NO_RENEGOTIATION }, answer),
  ];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const https = servers[i % servers.length]!;
    const l = net.createServer((socket) => https.emit('connection', socket));
    await new Promise<void>((r) => l.listen({ host: '127.0.0.1', port: 0 }, r));
    ports.push((l.address() as net.AddressInfo).port);
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function startTargets(count: number): Promise<{ ports: number[]; stop(): void }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), SERVE_FLAG, String(count)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      cwd: projectDir,
    },
  );
  const stop = (): void => {
    child.stdin!.end();
    child.kill('SIGTERM');
  };
  return new Promise((resolvePorts, reject) => {
    const timer = setTimeout(() => reject(new Error('the target servers did not start within 120 s')), 120_000);
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      if (!text.includes('\n')) return;
      clearTimeout(timer);
      resolvePorts({ ports: JSON.parse(text.split('\n')[0]!) as number[], stop });
    });
    child.once('exit', () => reject(new Error('the target server process exited')));
  });
}

function cli(
  args: readonly string[],
  timeoutMs = CAMPAIGN_TIMEOUT_MS,
): Promise<{ ms: number; code: number; stdout: string; stderr: string }> {
  const t0 = performance.now();
  return new Promise((r) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      { cwd: projectDir, timeout: timeoutMs, maxBuffer: 1 << 30 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        r({ ms: performance.now() - t0, code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

interface Measured {
  mode: string;
  processes: number;
  ms: number;
  ok: number;
  reported: number;
  enqueueMs?: number;
  queuedBytes?: number;
  resultBytes?: number;
  /** CPU (user + system) of the worker processes from the end of enqueue to the last report, per target. */
  workerCpuMs?: number;
}

async function runCampaign(
  url: string,
  redis: Redis,
  list: string,
  n: number,
  workers: number,
  concurrency: number,
  log: (s: string) => void,
): Promise<Measured> {
  const campaign = `bench-${workers}`;
  const address = parseQueueAddress(url);
  const procs: ChildProcess[] = [];
  const queue = openQueue(address, campaign);
  try {
    for (let i = 0; i < workers; i++) {
      const args = [
        ...CLI,
        'scan',
        'worker',
        '--queue',
        url,
        '--campaign',
        campaign,
        '--concurrency',
        String(concurrency),
        '--max-per-address',
        '100000',
      ];
      const p = spawn(process.execPath, args, { cwd: projectDir, stdio: ['ignore', 'ignore', 'pipe'] });
      procs.push(p);
      await new Promise<void>((r, reject) => {
        let err = '';
        const timer = setTimeout(() => reject(new Error(`worker did not start: ${err}`)), 60_000);
        p.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          if (err.includes('not enqueued yet')) {
            clearTimeout(timer);
            r();
          }
        });
      });
    }
    const before = await usedMemory(redis);
    const e = await cli([
      'scan',
      'enqueue',
      '--queue',
      url,
      '--campaign',
      campaign,
      '--targets-file',
      list,
      '--servername',
      'localhost',
      '--paths',
      '/',
    ]);
    if (e.code !== 0) throw new Error(`enqueue failed: ${e.stderr}`);
    const t0 = performance.now();
    // Measured from here: module loading and the workers' start-up are not the targets' cost.
    const cpu0 = procs.map((p) => processCpuSeconds(p.pid!) ?? NaN);
    const queued = await usedMemory(redis);
    log(`${workers} worker(s): ${n} targets enqueued in ${fixed(e.ms / 1000, 1)} s`);
    let last = 0;
    for (;;) {
      const s = await campaignStatus(redis, queue, campaign);
      if (s.done + s.failed >= n) break;
      if (performance.now() - t0 > CAMPAIGN_TIMEOUT_MS) throw new Error(`campaign not finished: ${JSON.stringify(s)}`);
      if (performance.now() - last > 30_000) {
        log(`${workers} worker(s): ${s.done + s.failed}/${n}`);
        last = performance.now();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const ms = performance.now() - t0;
    const workerCpu = procs.reduce((sum, p, i) => sum + (processCpuSeconds(p.pid!) ?? NaN) - cpu0[i]!, 0);
    const done = await usedMemory(redis);
    let ok = 0;
    let reported = 0;
    for await (const { report } of campaignResults(redis, queue, campaign)) {
      if (report === undefined) continue;
      reported++;
      if (report.ok) ok++;
    }
    return {
      mode: `queue, ${workers} worker process${workers > 1 ? 'es' : ''}`,
      processes: workers,
      ms,
      ok,
      reported,
      enqueueMs: e.ms,
      queuedBytes: (queued - before) / n,
      resultBytes: (done - before) / n,
      workerCpuMs: (workerCpu * 1000) / n,
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(
      procs.map((p) => new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r())))),
    );
    await cli(['scan', 'delete', '--queue', url, '--campaign', campaign]);
    await queue.close();
  }
}

export async function runCampaignBench(o: {
  targets: number;
  concurrency: number;
  local: boolean;
  log: (s: string) => void;
}): Promise<SuiteResult> {
  const dir = await mkdtemp(join(tmpdir(), 'renego-bench-campaign-'));
  const redisServer = await startRedisServer();
  const targets = await startTargets(o.targets);
  const redis = await connectOnce(parseQueueAddress(redisServer.url));
  const rows: Measured[] = [];
  try {
    const list = join(dir, 'targets.txt');
    await writeFile(list, targets.ports.map((p) => `127.0.0.1:${p}`).join('\n'));
    if (o.local) {
      o.log(`local renego scan of ${o.targets} targets`);
      const r = await cli([
        'scan',
        '--targets-file',
        list,
        '--json',
        '--no-progress',
        '--servername',
        'localhost',
        '--paths',
        '/',
        '--concurrency',
        String(o.concurrency),
      ]);
      const reports = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { ok: boolean });
      rows.push({
        mode: 'local renego scan (reference)',
        processes: 1,
        ms: r.ms,
        ok: reports.filter((x) => x.ok).length,
        reported: reports.length,
      });
    }
    for (const workers of [1, 3])
      rows.push(await runCampaign(redisServer.url, redis, list, o.targets, workers, o.concurrency, o.log));
  } finally {
    redis.disconnect();
    targets.stop();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const local = rows.find((r) => r.mode.startsWith('local'));
  const header = [
    'mode',
    'targets/s',
    'vs local',
    'wall s',
    'reported (ok)',
    'enqueue s',
    'Redis B/target queued',
    'Redis B/target with results',
    'worker CPU ms/target',
  ];
  const table: Row[] = rows.map((r) => [
    r.mode,
    fixed((o.targets / r.ms) * 1000, 1),
    local ? fixed(local.ms / r.ms, 2) : '—',
    fixed(r.ms / 1000, 1),
    `${r.reported} (${r.ok})`,
    r.enqueueMs !== undefined ? fixed(r.enqueueMs / 1000, 1) : '—',
    r.queuedBytes !== undefined ? fixed(r.queuedBytes, 0) : '—',
    r.resultBytes !== undefined ? fixed(r.resultBytes, 0) : '—',
    r.workerCpuMs !== undefined ? fixed(r.workerCpuMs, 1) : '—',
  ]);
  const m = describeMachine();
  const machine = `Measured ${m.date} on ${m.nproc} × ${m.cpuModel} (shared with other work), ${m.memoryGiB} GiB, node ${m.node}, source ${m.source}`;
  const markdown = [
    '## Scan campaign on a Redis queue',
    '',
    `${o.targets} distinct local targets (listening ports of 127.0.0.1 handing connections to two node:https servers in one child process, ECDSA, one refusing renegotiation), full audit each (\`--paths /\`), ${o.concurrency} targets at once per process. Workers are \`renego scan worker\` processes (run through tsx) on the same machine as the servers, Redis (a private redis-server) and the reference. ${machine}.`,
    '',
    'Command: `npx tsx bench/campaign.ts --targets ' + o.targets + '` (or `npm run bench -- --only campaign`).',
    '',
    markdownTable(header, table),
    '',
    'targets/s: targets over the time from the end of `enqueue` to the last report stored (the local reference: the whole `renego scan` process). Redis bytes per target: `INFO memory` used_memory after enqueueing (jobs waiting) and after the campaign (jobs removed, deflated reports kept until `delete`), minus before, over the targets. Worker CPU per target: user + system time of the worker processes (/proc, all threads) over the same interval, over the targets: what a full audit costs a worker that is past its start-up (the issue’s target is ≤ 25 ms; these targets are node:https servers, not the gnutls-serv of the scan-latency section).',
  ].join('\n');
  return { text: textTable(header, table), markdown, targetsMet: rows.every((r) => r.reported === o.targets) };
}

export const campaignSuite: Suite = {
  name: 'campaign',
  description: 'renego scan on a Redis queue: 1 vs 3 worker processes vs the local scan, Redis memory per target',
  run: (options: SuiteOptions) =>
    runCampaignBench({ targets: options.quick ? 200 : 10_000, concurrency: 32, local: true, log: options.log }),
};

async function main(): Promise<void> {
  const serve = process.argv.indexOf(SERVE_FLAG);
  if (serve >= 0) return serveManyPorts(Number(process.argv[serve + 1]));
  const { values } = parseArgs({
    options: {
      targets: { type: 'string' },
      concurrency: { type: 'string' },
      'no-local': { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const targets = Number(values.targets ?? 10_000);
  const result = await runCampaignBench({
    targets,
    concurrency: Number(values.concurrency ?? 32),
    local: !values['no-local'],
    log: (l) => console.error(`[bench campaign] ${l}`),
  });
  console.log(result.text);
  if (!values['no-docs']) {
    await updateSection(join(projectDir, 'docs', 'benchmarks.md'), 'campaign', result.markdown);
    console.error('[bench campaign] wrote the campaign section of docs/benchmarks.md');
  }
  process.exitCode = result.targetsMet ? 0 : 3;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 1;
  });
}
