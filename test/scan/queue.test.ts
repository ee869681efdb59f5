/**
 * renego scan on a Redis queue: a real redis-server (its own port and temporary
 * directory), renego servers on 127.0.0.1, and worker processes started through
 * the CLI, as on a fleet of machines. Every target is reached through a
 * counting proxy on its own port, so the test sees how many connections the
 * workers had open at once to 127.0.0.1, whichever worker opened them.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { AddressSemaphore, politenessKey } from '../../src/scan/queue/politeness.ts';
import { connectOnce, parseQueueAddress } from '../../src/scan/queue/redis.ts';
import { campaignStatus, openQueue, type CampaignStatus } from '../../src/scan/queue/store.ts';
import type { ScanReport } from '../../src/scan/types.ts';
import { startServer, type RunningServer } from '../../src/server/start.ts';
import { skipReason } from '../peers/binaries.ts';
import { freePort } from '../peers/ports.ts';
import { startRedisServer, type RedisServer } from '../peers/redis-server.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_TIMEOUT_MS = 60_000;
const SETTLE_MS = 150_000;
/** Politeness over all workers: connections at once to one address (every target here is 127.0.0.1). */
const PER_ADDRESS = 2;
/**
 * What the proxy may see above the limit: a scan opens its next connection as soon as it has closed one
 * (its own gate is exact), but the proxy can accept the new SYN before it reads the old FIN. Without the
 * limit, three workers scanning two targets each at six connections a target would open up to 36.
 */
const CROSSING = 1;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function renego(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: REPO_ROOT, timeout: CLI_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.code;
        if (typeof code !== 'number')
          reject(new Error(`renego ${args.join(' ')} did not exit (${String(error)})\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A TCP proxy listening on `count` ports of 127.0.0.1, all to one upstream port, counting connections open at once. */
interface CountingProxy {
  ports: number[];
  readonly open: number;
  /** The most connections open at once since the last reset. */
  readonly max: number;
  reset(): void;
  close(): Promise<void>;
}

async function startCountingProxy(upstream: number, count: number): Promise<CountingProxy> {
  let open = 0;
  let max = 0;
  const sockets = new Set<net.Socket>();
  const servers = Array.from({ length: count }, () =>
    net.createServer((client) => {
      open++;
      max = Math.max(max, open);
      const server = net.connect({ host: '127.0.0.1', port: upstream });
      sockets.add(client).add(server);
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        open--;
        client.destroy();
        server.destroy();
        sockets.delete(client);
        sockets.delete(server);
      };
      // The client's FIN is the end of its connection, whatever the upstream still has to say.
      client.on('error', close).on('end', close).on('close', close);
      server.on('error', close).on('close', close);
      client.pipe(server).pipe(client);
    }),
  );
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.listen({ host: '127.0.0.1', port: 0 }, r))));
  return {
    ports: servers.map((s) => (s.address() as net.AddressInfo).port),
    get open() {
      return open;
    },
    get max() {
      return max;
    },
    reset: () => void (max = open),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** A worker process serving every campaign, with short lock, stall and lease times so the test sees them act. */
interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(queue: string): Promise<WorkerProcess> {
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'scan', 'worker', '--queue', queue, '--concurrency', '2'];
  args.push('--max-per-address', String(PER_ADDRESS), '--lease', '2000');
  args.push('--lock-duration', '2000', '--stalled-interval', '1000');
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const w: WorkerProcess = { child, stderr: () => err, exited };
  return waitFor(
    () => /serving campaign|no campaign yet/.test(err) || child.exitCode !== null,
    30_000,
    'a worker to start',
  ).then(() => {
    assert.equal(child.exitCode, null, `the worker exited at start: ${err}`);
    return w;
  });
}

async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 30_000);
  w.child.kill('SIGTERM');
  await w.exited;
  clearTimeout(timer);
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 200): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const redisSkip = skipReason('redis-server');

describe('renego scan on a Redis queue', { skip: redisSkip }, () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let secure: RunningServer;
  let legacy: RunningServer;
  let proxy: CountingProxy;
  let legacyProxy: CountingProxy;
  let workers: WorkerProcess[] = [];
  let nextPort = 0;

  /** Targets through the proxy: each a port of its own, so each a distinct target to the same server. */
  const targets = (n: number): string[] => proxy.ports.slice(nextPort, (nextPort += n)).map((p) => `127.0.0.1:${p}`);

  const status = async (campaign: string): Promise<CampaignStatus> => {
    const queue = openQueue(parseQueueAddress(redisServer.url), campaign);
    try {
      return await campaignStatus(redis, queue, campaign);
    } finally {
      await queue.close();
    }
  };

  const settled = async (campaign: string): Promise<CampaignStatus> => {
    let s: CampaignStatus | undefined;
    await waitFor(
      async () => {
        s = await status(campaign);
        return s.total > 0 && s.waiting === 0 && s.active === 0;
      },
      SETTLE_MS,
      `campaign ${campaign} to finish (${JSON.stringify(s)}); workers said:\n${workers.map((w) => w.stderr()).join('\n')}`,
    );
    return s!;
  };

  const results = async (campaign: string): Promise<ScanReport[]> => {
    const r = await renego(['scan', 'results', '--queue', redisServer.url, '--campaign', campaign, '--json']);
    assert.ok(r.code <= 2, `results failed: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as ScanReport);
  };

  const enqueue = (campaign: string, extra: readonly string[]): Promise<CliResult> =>
    renego(['scan', 'enqueue', '--queue', redisServer.url, '--campaign', campaign, '--timeout', '3000', ...extra]);

  before(async () => {
    redisServer = await startRedisServer();
    redis = await connectOnce(parseQueueAddress(redisServer.url));
    const quiet = { host: '127.0.0.1', port: 0, www: true, log: () => undefined };
    secure = await startServer({ ...quiet, preset: 'openssl3-default' });
    legacy = await startServer({ ...quiet, preset: 'legacy-2009' });
    proxy = await startCountingProxy(secure.port, 40);
    legacyProxy = await startCountingProxy(legacy.port, 1);
    workers = await Promise.all([0, 1, 2].map(() => startWorker(redisServer.url)));
  });

  after(async () => {
    await Promise.all(workers.map(stopWorker));
    redis?.disconnect();
    await proxy?.close();
    await legacyProxy?.close();
    await secure?.close();
    await legacy?.close();
    await redisServer?.stop();
  });

  test('an unreachable Redis is one line on stderr and exit code 2', async () => {
    const port = await freePort();
    const r = await renego(['scan', 'status', '--queue', `redis://127.0.0.1:${port}/0`]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /cannot reach the queue at redis:\/\/127\.0\.0\.1:\d+\/0: connection refused/);
  });

  test('enqueueing is idempotent: the same target, however spelt, is queued once per campaign', async () => {
    const [a, b] = targets(2);
    const first = await enqueue('idem', [a!, b!]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /2 targets queued, 0 already there/);
    const again = await enqueue('idem', [`https://${a}/`, b!, a!]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /0 targets queued, 3 already there/);
    const s = await settled('idem');
    assert.equal(s.total, 2);
    const reports = await results('idem');
    assert.deepEqual(
      reports.map((r) => r.target),
      [a, b],
    );
    const dir = await mkdtemp(join(tmpdir(), 'renego-scan-queue-'));
    try {
      const files = ['--jsonl', join(dir, 'r.jsonl'), '--html', join(dir, 'r.html')];
      const r = await renego(['scan', 'results', '--queue', redisServer.url, '--campaign', 'idem', ...files]);
      assert.equal(r.code, 0, r.stderr);
      const lines = (await readFile(join(dir, 'r.jsonl'), 'utf8')).trim().split('\n');
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as ScanReport).target),
        [a, b],
      );
      const html = await readFile(join(dir, 'r.html'), 'utf8');
      assert.ok(html.includes(a!) && html.includes(b!));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a dead holder's politeness slots expire after its lease", async () => {
    const address = parseQueueAddress(redisServer.url);
    const dying = await connectOnce(address);
    const held = await new AddressSemaphore(dying, { limit: 1, leaseMs: 1000 }).acquire('127.0.0.9', 1);
    assert.ok(held);
    // The holder's process "dies": its connection goes and its renewals stop reaching Redis.
    dying.disconnect();
    const other = new AddressSemaphore(redis, { limit: 1, leaseMs: 1000 });
    await assert.rejects(other.acquire('127.0.0.9', 1, AbortSignal.timeout(300)), { name: 'TimeoutError' });
    const lease = await other.acquire('127.0.0.9', 1, AbortSignal.timeout(10_000));
    await lease.release();
    assert.equal(await redis.zcard(politenessKey('127.0.0.9')), 0);
  });

  test('a verdict is never retried: a vulnerable server, one that speaks no TLS and one that never answers are each scanned once', async () => {
    const open = new Set<net.Socket>();
    const listen = async (handler: (c: net.Socket) => void): Promise<net.Server> => {
      const server = net.createServer((c) => {
        open.add(c.on('error', () => undefined).on('close', () => open.delete(c)));
        handler(c);
      });
      await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
      return server;
    };
    const http = await listen((c) => c.end('HTTP/1.0 400 Bad Request\r\n\r\n'));
    const silent = await listen(() => undefined);
    try {
      const at = (s: net.Server): string => `127.0.0.1:${(s.address() as net.AddressInfo).port}`;
      const vulnerable = `127.0.0.1:${legacyProxy.ports[0]}`;
      const r = await enqueue('verdicts', [
        vulnerable,
        at(http),
        at(silent),
        '--queue-retries',
        '3',
        '--backoff',
        '100',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const s = await settled('verdicts');
      assert.equal(s.retried, 0);
      assert.equal(s.done, 1);
      assert.equal(s.failed, 2);
      const [v, n, q] = await results('verdicts');
      assert.deepEqual(v?.vulnerabilities, ['CVE-2009-3555', 'CVE-2011-1473']);
      assert.equal(v?.reachability, 'reachable');
      assert.deepEqual([n?.ok, n?.reachability], [false, 'not-tls']);
      assert.match(n?.error ?? '', /^no TLS 1\.0–1\.2 handshake completed/);
      assert.deepEqual([q?.ok, q?.reachability], [false, 'silent']);
    } finally {
      for (const c of open) c.destroy();
      await Promise.all([http, silent].map((s) => new Promise((r) => s.close(r))));
    }
  });

  test('connection errors (a refused port, a name that does not resolve) are retried with backoff up to the limit, then reported once', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    // The C library rejects `bad..name` itself: no DNS query leaves the machine.
    const r = await enqueue('refused', [closed, 'bad..name', '--queue-retries', '2', '--backoff', '100']);
    assert.equal(r.code, 0, r.stderr);
    const s = await settled('refused');
    assert.equal(s.retried, 4);
    assert.equal(s.failed, 2);
    const reports = await results('refused');
    assert.deepEqual(
      reports.map((x) => [x.target, x.ok, x.reachability]),
      [
        [closed, false, 'refused'],
        ['bad..name:443', false, 'unresolvable'],
      ],
    );
    assert.match(reports[0]?.error ?? '', /^ECONNREFUSED/);
  });

  test('a worker killed with SIGKILL mid-campaign loses nothing: every target is reported exactly once', async () => {
    const list = targets(12);
    proxy.reset();
    const r = await enqueue('kill', list);
    assert.equal(r.code, 0, r.stderr);
    // The victim must hold jobs when it dies: a worker already serving the campaign (each finds a
    // new campaign within 2 s of its own, and fast scans can finish the list before a late one
    // joins), killed while targets still wait, so that its slots are full.
    const serving = (w: WorkerProcess): boolean => w.stderr().includes('serving campaign kill');
    let before = await status('kill');
    await waitFor(
      async () => {
        before = await status('kill');
        return before.done >= 2 && before.waiting >= 1 && workers.some(serving);
      },
      SETTLE_MS,
      'two targets done, others waiting',
      20,
    );
    assert.ok(before.done < list.length, 'the campaign finished before the kill: the test proves nothing');
    const victim = workers.find(serving)!;
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    workers = workers.filter((w) => w !== victim);
    const s = await settled('kill');
    assert.ok(s.stalled >= 1, `no job was taken back from the killed worker: ${JSON.stringify(s)}`);
    assert.equal(s.total, list.length);
    assert.equal(s.done, list.length);
    const reports = await results('kill');
    assert.deepEqual(
      reports.map((x) => x.target),
      list,
    );
    assert.ok(reports.every((x) => x.ok));
    // The killed worker's politeness slots expired: the campaign went on without it.
    assert.ok(proxy.max <= PER_ADDRESS + CROSSING, `${proxy.max} connections at once to 127.0.0.1`);
  });

  test('politeness: at most K connections at once to one address across all workers', async () => {
    const list = targets(6);
    proxy.reset();
    const r = await enqueue('polite', list);
    assert.equal(r.code, 0, r.stderr);
    await settled('polite');
    assert.equal((await results('polite')).length, list.length);
    const seen = `${proxy.max} connections at once to 127.0.0.1 (limit ${PER_ADDRESS})`;
    assert.ok(proxy.max >= PER_ADDRESS, seen);
    assert.ok(proxy.max <= PER_ADDRESS + CROSSING, seen);
  });

  test('status prints a bar no wider than the terminal; delete removes the campaign', async () => {
    const s = await renego(['scan', 'status', '--queue', redisServer.url]);
    assert.equal(s.code, 0, s.stderr);
    const lines = s.stdout.trim().split('\n');
    assert.ok(
      lines.some((l) => /^polite \[#+\] 6\/6 {2}done 6/.test(l)),
      s.stdout,
    );
    for (const l of lines) assert.ok(l.length < 80, `${l.length} columns: ${l}`);
    const d = await renego(['scan', 'delete', '--queue', redisServer.url, '--campaign', 'polite']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await redis.keys('renego:c:polite:*'), []);
    // BullMQ's jobs are gone (a worker still serving the campaign may leave its few bookkeeping keys).
    const jobs = (await redis.keys('renego:scan.polite:*')).filter((k) =>
      /:[0-9a-f]{32}$|:(wait|completed|failed)$/.test(k),
    );
    assert.deepEqual(jobs, []);
    assert.equal((await status('polite')).total, 0);
  });

  test('a worker stopped with SIGTERM drains and exits 0', async () => {
    const w = workers.pop()!;
    w.child.kill('SIGTERM');
    const { code } = await w.exited;
    assert.equal(code, 0, w.stderr());
    assert.match(w.stderr(), /SIGTERM: finishing the targets in hand/);
  });
});
