/**
 * The guard's own resources under hostile load: memory held for hellos (per connection and for
 * the process), log volume, file descriptors, CPU per connection per event-loop turn, and how a
 * reset travels through. Real sockets on 127.0.0.1; no timing assertions.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { getDefaultHighWaterMark, setDefaultHighWaterMark } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentType, HandshakeType } from '../../src/wire/enums.ts';
import { concat } from '../../src/wire/codec.ts';
import { encodeRecordHeader } from '../../src/wire/record.ts';
import { buildGuardConfig, GuardConfigError } from '../../src/guard/config.ts';
import { DEFAULT_LOG_LIMITS } from '../../src/guard/defaults.ts';
import { READS_PER_TURN, TurnBudget } from '../../src/guard/connection.ts';
import { SILENT_OBSERVER } from '../../src/guard/observer.ts';
import { startGuard } from '../../src/guard/start.ts';
import { fdsNeeded, parseProcLimits } from '../../src/guard/fd-limit.ts';
import { MAX_HELD_WHILE_COLLECTING } from '../../src/guard/hello.ts';
import { RenegotiationWatch } from '../../src/guard/watch.ts';
import { MemoryReclaimer, MIN_INTERVAL_MS, RECLAIM_AFTER_CLOSES, RECLAIM_PASSES } from '../../src/guard/reclaim.ts';
import { freePort } from '../peers/ports.ts';
import { clientHello, judgeOf, listenerConfig, policy, startTestGuard, type TestGuard } from './support.ts';

const WAIT_MS = 10_000;

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A handshake record header and a ClientHello header that together claim `claimed` bytes of hello. */
function helloHeader(claimed: number): Uint8Array {
  return Uint8Array.from([
    ...encodeRecordHeader(ContentType.handshake, 0x0301, Math.min(claimed + 4, 16384)),
    HandshakeType.client_hello,
    claimed >> 16,
    (claimed >> 8) & 0xff,
    claimed & 0xff,
  ]);
}

/** The first `n` bytes of a ClientHello that claims `claimed` bytes, in whole records of at most 2^14. */
function partialHello(claimed: number, n: number): Uint8Array {
  const message = new Uint8Array(4 + claimed);
  message.set([HandshakeType.client_hello, claimed >> 16, (claimed >> 8) & 0xff, claimed & 0xff]);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < n; at += 16384) {
    const payload = message.subarray(at, Math.min(n, at + 16384));
    parts.push(encodeRecordHeader(ContentType.handshake, 0x0301, payload.length), payload);
  }
  return concat(...parts);
}

interface Upstream {
  readonly port: number;
  readonly sockets: net.Socket[];
  /** Error codes of the accepted sockets, in order. */
  readonly errors: string[];
  received(): number;
  stop(): Promise<void>;
}

async function rawUpstream(onSocket: (s: net.Socket) => void = () => undefined): Promise<Upstream> {
  const sockets: net.Socket[] = [];
  const errors: string[] = [];
  let received = 0;
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    s.on('data', (d: Buffer) => (received += d.length));
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    errors,
    received: () => received,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type Client = net.Socket & { isClosed: boolean; error: string | undefined; got: number };

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1') as Client;
    s.isClosed = false;
    s.error = undefined;
    s.got = 0;
    s.on('data', (d: Buffer) => (s.got += d.length));
    s.on('error', (e: NodeJS.ErrnoException) => (s.error ??= e.code ?? e.message));
    s.once('close', () => (s.isClosed = true));
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** `renego guard` as its own process under `prlimit --nofile=64:64`, its output collected. */
interface LimitedGuard {
  output(): string;
  /** The JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after WAIT_MS; resolves once the process is gone. */
  stop(): Promise<void>;
}

function startLimitedGuard(args: readonly string[]): LimitedGuard {
  const child = spawn(
    'prlimit',
    ['--nofile=64:64', process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'guard', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => output,
    lines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function metric(g: TestGuard, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await g.guard.metrics.registry.metrics());
  return m === null ? 0 : Number(m[1]);
}

const BUFFERED = /^renego_guard_hello_buffered_bytes (\d+)$/m;

describe('memory held for hellos', () => {
  test('a 9-byte hello header that claims 64 KiB holds about 9 bytes, not 64 KiB', () => {
    const watch = new RenegotiationWatch(judgeOf(policy('deny')));
    const v = watch.feed('client', helloHeader(65_000));
    assert.equal(v.forward.length, 0);
    assert.equal(watch.heldBytes('client'), 9);
    assert.ok(watch.retainedBytes('client') <= 256, `retained ${watch.retainedBytes('client')}`);
    // As the body arrives, what is allocated follows what was received (doubling: at most twice).
    for (let i = 0; i < 100; i++) watch.feed('client', new Uint8Array(100));
    assert.equal(watch.heldBytes('client'), 10_009);
    assert.ok(watch.retainedBytes('client') <= 2 * 10_009, `retained ${watch.retainedBytes('client')}`);
  });

  test('a whole hello in one chunk goes on as that chunk, nothing copied', () => {
    const watch = new RenegotiationWatch(judgeOf(policy('deny')));
    // The hello, then the next handshake record (a 4-byte ClientKeyExchange-sized body).
    const next = Uint8Array.of(ContentType.handshake, 3, 3, 0, 4, HandshakeType.client_key_exchange, 0, 0, 0);
    const chunk = concat(clientHello({ sni: 'example.test' }), next);
    const v = watch.feed('client', chunk);
    assert.deepEqual(v.forward, [chunk]);
    assert.equal(v.forward[0], chunk, 'the chunk itself: one write');
    assert.equal(watch.retainedBytes('client'), 0);
    assert.equal(watch.heldBytes('client'), 0);
  });

  test('a hello cut across chunks is copied before the feed returns: the caller may reuse its buffer', () => {
    const watch = new RenegotiationWatch(judgeOf(policy('deny')));
    const hello = clientHello({ sni: 'example.test' });
    const input = hello.slice();
    const cut = 40;
    assert.equal(watch.feed('client', input.subarray(0, cut)).forward.length, 0);
    assert.ok(watch.retainedBytes('client') >= cut);
    input.fill(0, 0, cut);
    const v = watch.feed('client', input.subarray(cut));
    assert.equal(v.block, undefined);
    assert.deepEqual(Buffer.concat(v.forward), Buffer.from(hello));
  });

  test('an SSL 2.0 header that claims 32 KiB holds what arrived', () => {
    const watch = new RenegotiationWatch(judgeOf(policy('deny')));
    watch.feed('client', Uint8Array.of(0xff, 0xff, 1, 3, 1));
    assert.equal(watch.heldBytes('client'), 5);
    assert.ok(watch.retainedBytes('client') <= 256, `retained ${watch.retainedBytes('client')}`);
  });

  test('a hello cut into 1-byte records is refused once the records outweigh the largest hello twice', () => {
    const watch = new RenegotiationWatch(judgeOf(policy('allow')));
    let block;
    watch.feed('client', helloHeader(60_000).subarray(0, 5 + 4));
    for (let i = 0; block === undefined && i < 60_000; i++) {
      block = watch.feed('client', Uint8Array.of(ContentType.handshake, 3, 1, 0, 1, 0)).block;
      assert.ok(watch.heldBytes('client') <= MAX_HELD_WHILE_COLLECTING + 6);
    }
    assert.equal(block?.reason, 'hello-too-large');
    assert.equal(watch.retainedBytes('client'), 0, 'released when blocked');
  });

  test('empty handshake records after a hello header do not grow what is held without bound', () => {
    const watch = new RenegotiationWatch(judgeOf(policy('allow')));
    watch.feed('client', partialHello(60_000, 4));
    const empty = encodeRecordHeader(ContentType.handshake, 0x0301, 0);
    let block;
    for (let i = 0; block === undefined && i < 60_000; i++) {
      block = watch.feed('client', empty).block;
      assert.ok(watch.heldBytes('client') <= MAX_HELD_WHILE_COLLECTING + 5);
    }
    assert.equal(block?.reason, 'hello-too-large');
  });

  test('the process-wide budget: the connection that would go over it is closed and counted, and the gauge returns to 0', async () => {
    const upstream = await rawUpstream();
    const limit = 200 * 1024;
    const g = await startTestGuard([listenerConfig(upstream.port, 'deny')], true, { helloMemoryBytes: limit });
    const clients: Client[] = [];
    try {
      // 50 connections that each send a 9-byte header claiming 64 KiB pin a few KiB in all.
      for (let i = 0; i < 50; i++) {
        const c = await connect(g.port);
        clients.push(c);
        c.write(helloHeader(65_000));
      }
      await waitUntil('50 headers held', async () => (await metric(g, BUFFERED)) >= 50 * 9);
      const idle = await metric(g, BUFFERED);
      assert.ok(idle <= 50 * 256, `50 hello headers hold ${idle} bytes`);
      // Then 6 connections each send 40,000 bytes of their hello: 6 × 40 KB do not fit in 200 KiB.
      const big: Client[] = [];
      for (let i = 0; i < 6; i++) {
        const c = await connect(g.port);
        big.push(c);
        const before = await metric(g, BUFFERED);
        c.write(partialHello(65_000, 40_000));
        await waitUntil('the hello to be held or the connection closed', async () => {
          return c.isClosed || (await metric(g, BUFFERED)) >= before + 40_000;
        });
        assert.ok((await metric(g, BUFFERED)) <= limit);
      }
      const overBudget = g.recorded.closed.filter((c) => c.summary.reason === 'hello-memory-budget').length;
      assert.ok(overBudget >= 1 && overBudget <= 5, `${overBudget} closed over budget`);
      assert.equal(big.filter((c) => c.isClosed).length, overBudget);
      assert.equal(
        await metric(
          g,
          /^renego_guard_connections_closed_total\{listener="test",reason="hello-memory-budget"\} (\d+)$/m,
        ),
        overBudget,
      );
      const log = g.logs.lines.filter((l) => l['msg'] === 'connection closed' && l['reason'] === 'hello-memory-budget');
      assert.equal(log.length, overBudget);
      // Once the connections are gone, so is what they held.
      for (const c of [...clients, ...big]) c.destroy();
      await waitUntil('every connection closed', () => g.guard.activeConnections() === 0);
      assert.equal(await metric(g, BUFFERED), 0);
      assert.equal(await metric(g, /^renego_guard_hello_buffered_bytes_limit (\d+)$/m), limit);
    } finally {
      for (const c of clients) c.destroy();
      await g.close();
      await upstream.stop();
    }
  });
});

describe('memory after a flood', () => {
  const options = (collect: () => void, now: () => number) => ({ collect, delayMs: 20, passGapMs: 20, now });

  test('once many connections have closed and few remain, two collections run; not before, and not again at once', async () => {
    let collections = 0;
    let clock = 0;
    const reclaimer = new MemoryReclaimer(
      options(
        () => collections++,
        () => clock,
      ),
    );
    try {
      for (let i = 0; i < 2 * RECLAIM_AFTER_CLOSES; i++) reclaimer.opened();
      // Fewer closes than RECLAIM_AFTER_CLOSES, and more than half of the peak still open: not yet.
      for (let i = 0; i < RECLAIM_AFTER_CLOSES - 1; i++) reclaimer.closed();
      await sleep(100);
      assert.equal(collections, 0);
      for (let i = 0; i < RECLAIM_AFTER_CLOSES; i++) reclaimer.closed();
      await waitUntil('two collections', () => collections === RECLAIM_PASSES);
      assert.equal(RECLAIM_PASSES, 2);
      // A second flood within MIN_INTERVAL_MS waits for it.
      for (let i = 0; i < 2 * RECLAIM_AFTER_CLOSES; i++) reclaimer.opened();
      for (let i = 0; i < 2 * RECLAIM_AFTER_CLOSES; i++) reclaimer.closed();
      await sleep(100);
      assert.equal(collections, 2);
      clock += MIN_INTERVAL_MS;
      for (let i = 0; i < 2 * RECLAIM_AFTER_CLOSES; i++) reclaimer.opened();
      for (let i = 0; i < 2 * RECLAIM_AFTER_CLOSES; i++) reclaimer.closed();
      await waitUntil('a third collection', () => collections >= 3);
    } finally {
      reclaimer.stop();
    }
  });

  test("V8's collector is reachable in this Node, without a gc global in the guard's own realm", () => {
    const reclaimer = new MemoryReclaimer();
    assert.equal(reclaimer.available, true);
    assert.equal((globalThis as { gc?: unknown }).gc, undefined);
    reclaimer.stop();
  });
});

describe('log volume', () => {
  test('a connection flood is logged up to the rate limit, blocks on their own budget, and the summary counts the rest exactly', async () => {
    const upstream = await rawUpstream();
    const hour = 3_600_000;
    const g = await startTestGuard([listenerConfig(upstream.port, 'deny')], false, {
      logLevel: 'info',
      logLimits: {
        connectionLines: { count: 10, windowMs: hour },
        warningLines: { count: 5, windowMs: hour },
        summaryIntervalMs: hour,
      },
    });
    const clean = 40;
    const garbage = 20;
    try {
      await Promise.all(
        Array.from({ length: clean + garbage }, async (_, i) => {
          const c = await connect(g.port);
          if (i < garbage) c.write('GET / HTTP/1.0\r\n\r\n');
          else await waitUntil('the upstream connection', () => upstream.sockets.length > 0);
          if (i >= garbage) c.end();
          await waitUntil('the client to be closed', () => c.isClosed);
        }),
      );
      await g.recorded.waitClosed(clean + garbage, WAIT_MS);
    } finally {
      await g.close();
      await upstream.stop();
    }
    const lines = g.logs.lines;
    const closedLines = lines.filter((l) => l['msg'] === 'connection closed').length;
    const blockLines = lines.filter((l) => l['msg'] === 'policy violation, connection closed').length;
    const summary = (kind: string): Record<string, unknown>[] => lines.filter((l) => l['kind'] === kind);
    // Every connection has one info line (closed); 20 also a warning (blocked, non-tls).
    assert.equal(closedLines, 10);
    assert.equal(blockLines, 5);
    assert.equal(summary('connection').length, 1);
    assert.equal(summary('warning').length, 1);
    const connectionSummary = summary('connection')[0]!;
    assert.equal(connectionSummary['suppressed'], clean + garbage - 10);
    assert.match(String(connectionSummary['msg']), /^50 connection lines suppressed in the last \d+s$/);
    assert.equal(summary('warning')[0]!['suppressed'], garbage - 5);
    assert.equal(summary('warning')[0]!['level'], 40);
    // Lines that are not about one connection are never dropped.
    assert.ok(lines.some((l) => l['msg'] === 'listening') && lines.some((l) => l['msg'] === 'stopped'));
  });
});

describe('resource settings', () => {
  test('helloMemory and the log limits come from YAML or flags, with defaults, and bad values are reported', () => {
    const flags = { listen: '127.0.0.1:1', upstream: '127.0.0.1:2', policy: 'deny' };
    const defaults = buildGuardConfig(flags);
    assert.equal(defaults.helloMemoryBytes, 64 * 1024 * 1024);
    assert.deepEqual(defaults.logLimits.connectionLines, { count: 100, windowMs: 1000 });
    const yaml =
      'helloMemory: 512KiB\nlog: { level: info, connectionLines: 20/10s, warningLines: 7/1s, summaryInterval: 1m }\n';
    const c = buildGuardConfig(flags, yaml);
    assert.equal(c.helloMemoryBytes, 512 * 1024);
    assert.deepEqual(c.logLimits, {
      connectionLines: { count: 20, windowMs: 10_000 },
      warningLines: { count: 7, windowMs: 1000 },
      summaryIntervalMs: 60_000,
    });
    const f = buildGuardConfig({ ...flags, helloMemory: '1MiB', logRate: '3/1s' }, yaml);
    assert.equal(f.helloMemoryBytes, 1024 * 1024);
    assert.deepEqual(f.logLimits.connectionLines, { count: 3, windowMs: 1000 });
    assert.throws(
      () => buildGuardConfig({ ...flags, helloMemory: 'lots' }, 'log: { warningLines: often }\n'),
      (e: unknown) =>
        e instanceof GuardConfigError &&
        e.problems.some((p) => p.startsWith('--hello-memory: expected a size')) &&
        e.problems.some((p) => p.startsWith('config.log.warningLines')),
    );
  });
});

describe('file descriptors', () => {
  test('the soft limit is read from /proc/self/limits', () => {
    const text =
      'Max processes             63432                63432                processes\nMax open files            1024                 524288               files\n';
    assert.deepEqual(parseProcLimits(text), { soft: 1024, hard: 524288 });
    assert.equal(parseProcLimits('Max open files  unlimited unlimited files')?.soft, Infinity);
    assert.equal(parseProcLimits('nothing here'), undefined);
    assert.equal(fdsNeeded([10_000]), 20_064);
  });

  test('under ulimit -n 64: a warning at start, EMFILE said as such, and accepting resumes once descriptors are free', async () => {
    const upstream = await rawUpstream();
    const port = await freePort();
    const guard = startLimitedGuard([
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      `127.0.0.1:${upstream.port}`,
      '--policy',
      'deny',
    ]);
    const { output, lines } = guard;
    const clients: Client[] = [];
    try {
      await waitUntil('the guard to listen', () => output().includes('"msg":"listening"'), 20_000);
      // The check runs once the listeners are open (their descriptors count), so it follows.
      await waitUntil('the descriptor check', () => output().includes('file descriptor limit'));
      const warning = lines().find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('file descriptor limit'));
      assert.equal(warning?.['level'], 40, output());
      assert.equal(warning?.['softLimit'], 64);
      assert.equal(warning?.['needed'], 20_064);
      // 60 connections need 120 descriptors: accepts and upstream connects run out.
      for (let i = 0; i < 60; i++) {
        const c = await connect(port).catch(() => undefined);
        if (c !== undefined) clients.push(c);
      }
      const exhausted = (): Record<string, unknown>[] =>
        lines().filter((l) => l['reason'] === 'out-of-file-descriptors');
      // The guard has descriptors for `capacity` connections and refuses the rest itself, with the
      // reason, before accept fails (where libuv would close them without a word).
      const capacity = warning?.['capacity'] as number;
      assert.ok(capacity > 0 && capacity < 30, `capacity ${capacity}`);
      await waitUntil(`${60 - capacity} refusals`, () => exhausted().length === 60 - capacity);
      assert.ok(exhausted().every((l) => l['msg'] === 'connection refused'));
      assert.ok(
        exhausted().every((l) => l['level'] === 40),
        'out-of-file-descriptors is a warning',
      );
      assert.ok(!lines().some((l) => l['reason'] === 'upstream-unreachable'), 'EMFILE is not upstream-unreachable');
      // Once the clients are gone, the guard serves again.
      for (const c of clients) c.destroy();
      await sleep(500);
      const before = upstream.received();
      const fresh = await connect(port);
      clients.push(fresh);
      const hello = clientHello();
      fresh.write(hello);
      await waitUntil('a new connection to be proxied', () => upstream.received() >= before + hello.length);
      assert.equal(fresh.isClosed, false);
    } finally {
      for (const c of clients) c.destroy();
      await guard.stop();
      await upstream.stop();
    }
  });
});

describe('file descriptors: the upstream connect', () => {
  test('an upstream connect that fails with EMFILE closes the client as out-of-file-descriptors', async () => {
    const upstream = await rawUpstream();
    const port = await freePort();
    const metricsPort = await freePort();
    const guard = startLimitedGuard([
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      `127.0.0.1:${upstream.port}`,
      '--policy',
      'deny',
      '--metrics',
      `127.0.0.1:${metricsPort}`,
    ]);
    const { output, lines } = guard;
    const fillers: Client[] = [];
    let client: Client | undefined;
    try {
      await waitUntil('the metrics endpoint', () => output().includes('serving metrics'), 20_000);
      // Idle connections to the metrics endpoint take the guard's descriptors outside its
      // connection count, until libuv closes one at accept (EMFILE): then none is free.
      for (let i = 0; i < 80; i++) {
        const s = await connect(metricsPort);
        fillers.push(s);
        await sleep(50);
        if (s.isClosed) break;
      }
      assert.ok(fillers.at(-1)?.isClosed, 'the metrics endpoint ran out of descriptors');
      // One free: the next accept takes it, and the upstream connect has none.
      fillers[0]!.destroy();
      await sleep(300);
      client = await connect(port);
      await waitUntil('the client to be closed', () => client!.isClosed);
      await waitUntil('the closed line', () => output().includes('"msg":"connection closed"'));
      const closed = lines().filter((l) => l['msg'] === 'connection closed');
      assert.equal(closed[0]?.['reason'], 'out-of-file-descriptors', output());
      assert.match(String(closed[0]?.['error']), /EMFILE/);
      assert.equal(closed[0]?.['level'], 40);
    } finally {
      client?.destroy();
      for (const s of fillers) s.destroy();
      await guard.stop();
      await upstream.stop();
    }
  });
});

describe('fairness between connections', () => {
  test('a side yields after its share of reads', () => {
    const b = new TurnBudget();
    const spent = Array.from({ length: READS_PER_TURN.chunks }, () => b.spend(1));
    assert.deepEqual(spent.slice(0, -1), Array(READS_PER_TURN.chunks - 1).fill(true));
    assert.equal(spent.at(-1), false);
    b.reset();
    assert.equal(b.spend(READS_PER_TURN.bytes - 1), true);
    assert.equal(b.spend(1), false);
  });

  // On loopback the kernel's receive queue already caps one turn's reads near 100–400 KiB, so this
  // holds without the yield too; it checks the bound holds end to end and that bytes stay exact.
  test('a client streaming 8 MiB from another process is read at most 16 chunks or 256 KiB per event-loop turn', async () => {
    const upstream = await rawUpstream();
    const total = 8 * 1024 * 1024;
    // Turns are counted by a setImmediate chain: chunks read between two of its steps share a turn.
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const perTurn = new Map<number, { chunks: number; bytes: number; largest: number }>();
    // Writes that never report backpressure, as towards a fast upstream: without its own yield a
    // side would then be read up to 32 times (2 MiB) in one turn.
    const hwm = getDefaultHighWaterMark(false);
    setDefaultHighWaterMark(false, 1 << 30);
    const guard = await startGuard(
      {
        listeners: [listenerConfig(upstream.port, 'allow', {}, { allowNonTls: true })],
        metrics: undefined,
        logLevel: 'silent',
        logLimits: DEFAULT_LOG_LIMITS,
        drainTimeoutMs: 100,
        helloMemoryBytes: 1 << 20,
        gid: undefined,
      },
      {
        processMetrics: false,
        observers: [
          {
            ...SILENT_OBSERVER,
            bytes: (_l, from, n) => {
              if (from !== 'client') return;
              const t = perTurn.get(turn) ?? { chunks: 0, bytes: 0, largest: 0 };
              perTurn.set(turn, { chunks: t.chunks + 1, bytes: t.bytes + n, largest: Math.max(t.largest, n) });
            },
          },
        ],
      },
    );
    setDefaultHighWaterMark(false, hwm);
    // The sender is another process, so that the guard's receive queue fills while it works.
    const sender = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('net').connect(${guard.addresses[0]!.port}, '127.0.0.1', () => s.end(Buffer.alloc(${total}, 0x41)));`,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<void>((resolve) => sender.once('exit', () => resolve()));
    try {
      // Plain bytes: the listener allows non-TLS, so they pass through uninspected.
      await waitUntil('8 MiB at the upstream', () => upstream.received() === total, 30_000);
      const turns = [...perTurn.values()];
      for (const t of turns) {
        assert.ok(t.chunks <= READS_PER_TURN.chunks, `${t.chunks} chunks in one turn`);
        // The chunk that crosses the byte share is the last of its turn.
        assert.ok(t.bytes - t.largest < READS_PER_TURN.bytes, `${t.bytes} bytes in one turn`);
      }
    } finally {
      ticking = false;
      sender.kill('SIGKILL');
      await exited;
      await guard.close(100);
      await upstream.stop();
    }
  });
});

describe('resets', () => {
  const plain = (port: number): ReturnType<typeof listenerConfig> =>
    listenerConfig(port, 'deny', {}, { allowNonTls: true });

  test('an upstream that resets after sending data: the client gets the data, then a reset', async () => {
    const upstream = await rawUpstream((s) => s.write('partial answer'));
    const g = await startTestGuard([plain(upstream.port)]);
    const c = await connect(g.port);
    try {
      await waitUntil('the data at the client', () => c.got === 'partial answer'.length);
      upstream.sockets[0]!.resetAndDestroy();
      await waitUntil('the client to be closed', () => c.isClosed);
      assert.equal(c.error, 'ECONNRESET');
      await g.recorded.waitClosed(1, WAIT_MS);
      assert.equal(g.recorded.closed[0]!.summary.error, 'server: ECONNRESET');
    } finally {
      c.destroy();
      await g.close();
      await upstream.stop();
    }
  });

  test('a client that resets: the upstream gets a reset, not a FIN', async () => {
    const upstream = await rawUpstream();
    const g = await startTestGuard([plain(upstream.port)]);
    const c = await connect(g.port);
    try {
      c.write('GET / HTTP/1.0\r\n');
      await waitUntil('the request at the upstream', () => upstream.received() === 16);
      const ended: string[] = [];
      upstream.sockets[0]!.once('end', () => ended.push('FIN'));
      const closed = new Promise<void>((resolve) => upstream.sockets[0]!.once('close', () => resolve()));
      c.resetAndDestroy();
      await Promise.race([closed, sleep(WAIT_MS).then(() => assert.fail('the upstream was not closed'))]);
      assert.deepEqual(upstream.errors, ['ECONNRESET']);
      assert.deepEqual(ended, []);
    } finally {
      c.destroy();
      await g.close();
      await upstream.stop();
    }
  });

  test('a clean close stays a clean close (FIN both ways, no reset)', async () => {
    const upstream = await rawUpstream((s) => s.end('bye'));
    const g = await startTestGuard([plain(upstream.port)]);
    const c = await connect(g.port);
    try {
      await waitUntil('the client to see the end', () => c.got === 3);
      c.end();
      await waitUntil('the client to be closed', () => c.isClosed);
      assert.equal(c.error, undefined);
      assert.deepEqual(upstream.errors, []);
    } finally {
      c.destroy();
      await g.close();
      await upstream.stop();
    }
  });
});
