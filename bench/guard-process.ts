/**
 * The processes of the guard benchmark, one role each, so that each one's memory and CPU are its
 * own and the file-descriptor limit can be raised for it alone (bench/guard-proxies.ts starts
 * them under `ulimit -n`). Each prints `READY <port>` once it listens, and exits when its stdin
 * closes (so none outlives the benchmark).
 *
 *   tsx bench/guard-process.ts script-upstream <echo|source|close>
 *   tsx bench/guard-process.ts tls-upstream
 *   tsx bench/guard-process.ts guard <upstreamPort> [logLevel]
 *   tsx bench/guard-process.ts holder <port> <count>      (prints HELD <n>)
 *
 * For the transparent benchmark (bench/guard-transparent.ts, inside network namespaces):
 *
 *   BENCH_HOST=198.18.0.2 tsx bench/guard-process.ts script-upstream <mode>   (listens there)
 *   tsx bench/guard-process.ts guard <upstreamPort> <logLevel> <upstreamHost>
 *   tsx bench/guard-process.ts transparent-guard <listenPort> <gid>
 *   tsx bench/guard-process.ts workload <bulk|connections> <host> <port> <ms> <concurrency>
 *     (starts on a `go` line on its stdin, so the caller can read the guard's CPU time first;
 *     prints RESULT <rate> <units>)
 *   tsx bench/guard-process.ts lookup-cost <listenPort> <host> <port> <count>   (prints LOOKUP …)
 *
 *   tsx bench/guard-process.ts pipe <upstreamPort>         (a Node proxy that only relays: the floor)
 *
 * The guard role answers a `memory` line on its stdin with `MEMORY <json>`: process.memoryUsage()
 * in bytes, after a full garbage collection when Node runs with --expose-gc (gc: true).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { getHeapSpaceStatistics } from 'node:v8';
import { createTestPki } from '../src/pki/throwaway.ts';
import { buildGuardConfig } from '../src/guard/config.ts';
import type { LogLevel } from '../src/guard/config.ts';
import { loadOriginalDestinationLookup } from '../src/guard/original-destination.ts';
import { startGuard } from '../src/guard/start.ts';
import { bulkRecords, clientScript, serverScript } from './guard-script.ts';
import { bulkThroughput, connectionRate } from './guard-workloads.ts';

const HOST = process.env['BENCH_HOST'] ?? '127.0.0.1';
const HOLD_CONCURRENCY = 200;

function ready(server: net.Server): void {
  process.stdout.write(`READY ${(server.address() as net.AddressInfo).port}\n`);
}

function exitOnStdinEnd(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

/**
 * Waits for the client's scripted handshake, answers with the server's, then:
 * echo: echoes every later byte; source: streams 16 KiB application-data records until the
 * client goes; close: ends the connection.
 */
function scriptUpstream(mode: string): void {
  const clientLength = clientScript().length;
  const reply = serverScript();
  const bulk = bulkRecords(64);
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('error', () => undefined);
    let seen = 0;
    let answered = false;
    s.on('data', (d: Buffer) => {
      if (answered) {
        if (mode === 'echo') s.write(d);
        return;
      }
      seen += d.length;
      if (seen < clientLength) return;
      answered = true;
      s.write(reply);
      if (mode === 'echo' && seen > clientLength) s.write(d.subarray(d.length - (seen - clientLength)));
      if (mode === 'close') s.end();
      if (mode === 'source') {
        const pump = (): void => {
          while (!s.destroyed) if (!s.write(bulk)) return void s.once('drain', pump);
        };
        pump();
      }
    });
  });
  server.listen({ host: HOST, port: 0, backlog: 4096 }, () => ready(server));
}

/** A node:tls server (TLS 1.2, ECDSA P-256) that accepts and keeps connections. */
async function tlsUpstream(): Promise<void> {
  const pki = await createTestPki({ keyType: 'ecdsa' });
  const server = tls.createServer({ cert: pki.server.chainPem, key: pki.server.keyPem, maxVersion: 'TLSv1.2' }, (s) => {
    s.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  server.listen({ host: HOST, port: 0, backlog: 4096 }, () => ready(server));
}

async function guard(upstreamPort: string, logLevel: string, upstreamHost = HOST): Promise<void> {
  const config = buildGuardConfig({
    listen: `${HOST}:0`,
    upstream: `${upstreamHost}:${upstreamPort}`,
    policy: 'deny',
    maxConnections: '20000',
    logLevel: logLevel as LogLevel,
  });
  const running = await startGuard(config, { processMetrics: false });
  answerMemoryQueries();
  process.stdout.write(`READY ${running.addresses[0]!.port}\n`);
}

/** `renego guard --transparent` on [::]:listenPort, as group gid (the ruleset lets that group through). */
async function transparentGuard(listenPort: string, gid: string): Promise<void> {
  const config = buildGuardConfig({
    listen: `[::]:${listenPort}`,
    transparent: true,
    policy: 'deny',
    gid,
    maxConnections: '20000',
    logLevel: 'warn',
  });
  const running = await startGuard(config, { processMetrics: false });
  process.stdout.write(`READY ${running.addresses[0]!.port}\n`);
}

/** One sample of a guard workload, from inside the namespace this process runs in, once told to go. */
async function workload(kind: string, host: string, port: string, ms: string, concurrency: string): Promise<void> {
  const go = new Promise<void>((resolve) =>
    process.stdin.setEncoding('utf8').on('data', (text: string) => {
      if (text.includes('go')) resolve();
    }),
  );
  process.stdout.write(`READY ${port}\n`);
  await go;
  const scripts = { client: clientScript(), serverLength: serverScript().length };
  const m =
    kind === 'bulk'
      ? await bulkThroughput(Number(port), scripts, Number(ms), host)
      : await connectionRate(Number(port), scripts, Number(ms), Number(concurrency), host);
  process.stdout.write(`RESULT ${m.rate} ${m.units}\n`);
}

/**
 * The original-destination lookup at `count` open connections: listens where the transparent
 * ruleset redirects to, opens `count` connections to host:port (redirected to itself, each one a
 * conntrack NAT entry), then times getsockopt(SO_ORIGINAL_DST) over all accepted sockets, and for
 * comparison one read and parse of /proc/net/nf_conntrack (what a conntrack-file lookup costs).
 */
async function lookupCost(listenPort: string, host: string, port: string, countText: string): Promise<void> {
  const count = Number(countText);
  const lookup = await loadOriginalDestinationLookup();
  const accepted: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen({ host: '::', port: Number(listenPort), backlog: 4096 }, resolve));
  process.stdout.write(`READY ${listenPort}\n`);
  const clients: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const c = net.connect({ host, port: Number(port) });
    c.on('error', () => undefined);
    clients.push(c);
    await new Promise((resolve) => c.once('connect', resolve));
  }
  while (accepted.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
  const found = accepted.filter((s) => {
    const d = lookup(s);
    return d.ok && d.destination.host === host && d.destination.port === Number(port);
  }).length;
  const rounds = 20;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const s of accepted) lookup(s);
  const lookupUs = ((performance.now() - t0) * 1000) / (rounds * count);
  let procUs = Number.NaN;
  let entries = 0;
  try {
    const reads = 20;
    const t1 = performance.now();
    for (let r = 0; r < reads; r++) {
      const text = readFileSync('/proc/net/nf_conntrack', 'utf8');
      entries = 0;
      for (const line of text.split('\n')) if (line.includes(`dport=${port} `)) entries++;
    }
    procUs = ((performance.now() - t1) * 1000) / reads;
  } catch {
    // no /proc/net/nf_conntrack on this kernel: only the getsockopt figure
  }
  process.stdout.write(`LOOKUP ${lookupUs} FOUND ${found} OF ${count} PROC ${procUs} ENTRIES ${entries}\n`);
  for (const c of clients) c.destroy();
  server.close();
}

/** `memory` on stdin: what the process holds, after a full collection when gc() is exposed. */
function answerMemoryQueries(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  process.stdin.setEncoding('utf8').on('data', (text: string) => {
    if (!text.includes('memory')) return;
    collect?.();
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    const report = {
      gc: collect !== undefined,
      rss: m.rss,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      spaces,
    };
    process.stdout.write(`MEMORY ${JSON.stringify(report)}\n`);
  });
}

/**
 * The least a Node TCP proxy does per connection: accept, connect upstream, relay both ways, close.
 * No inspection, timers, logs or metrics: what Node itself costs, under the guard's numbers.
 */
function pipeProxy(upstreamPort: string): void {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const upstream = net.connect({ host: HOST, port: Number(upstreamPort), noDelay: true, allowHalfOpen: true });
    client.setNoDelay(true);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    upstream.once('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen({ host: HOST, port: 0, backlog: 4096 }, () => ready(server));
}

/** Opens `count` TLS connections and keeps them open, idle. */
async function holder(port: string, countText: string): Promise<void> {
  const count = Number(countText);
  process.stdout.write(`READY ${port}\n`);
  const held: tls.TLSSocket[] = [];
  let next = 0;
  let failed = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: HOST, port: Number(port), rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
      s.once('secureConnect', () => {
        held.push(s);
        resolve();
      });
      s.once('error', () => {
        failed++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: HOLD_CONCURRENCY }, async () => {
      while (next < count) {
        next++;
        await one();
      }
    }),
  );
  process.stdout.write(`HELD ${held.length} FAILED ${failed}\n`);
}

async function main(): Promise<void> {
  exitOnStdinEnd();
  const [role, ...args] = process.argv.slice(2);
  switch (role) {
    case 'script-upstream':
      return scriptUpstream(args[0] ?? 'echo');
    case 'tls-upstream':
      return tlsUpstream();
    case 'guard':
      return guard(args[0]!, args[1] ?? 'warn', args[2]);
    case 'transparent-guard':
      return transparentGuard(args[0]!, args[1]!);
    case 'workload':
      return workload(args[0]!, args[1]!, args[2]!, args[3]!, args[4] ?? '1');
    case 'lookup-cost':
      return lookupCost(args[0]!, args[1]!, args[2]!, args[3]!);
    case 'holder':
      return holder(args[0]!, args[1]!);
    case 'pipe':
      return pipeProxy(args[0]!);
    default:
      throw new Error(`unknown role ${role}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
