/**
 * The guard's memory, as an operator sees it (RSS, /proc VmRSS) and as the guard sees it
 * (process.memoryUsage(), asked over its stdin: no collection is forced, so it is what the
 * guard itself holds at that moment):
 * - per idle TLS connection: RSS after warm-up, then with `count` idle TLS 1.2 connections
 *   (node:tls, ECDSA P-256, real handshakes through the guard) held open by another process;
 * - a hello-pinning flood: `count` connections that each send a 9-byte hello header claiming
 *   64 KiB and then nothing, held, then closed; RSS before, while held, and once the guard has
 *   had time to give the memory back (src/guard/reclaim.ts: two collections, 1 s and 11 s after
 *   the last close, which comes up to LINGER_MS after the client's).
 * Every process is a child of its own (bench/guard-process.ts), on loopback, at the guard's
 * default log level (info).
 */
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileLimit, startProxy, startRole, type BenchProcess } from './guard-proxies.ts';

const HOST = '127.0.0.1';
const SETTLE_MS = 2_000;
const FLOOD_BATCH = 200;
/** After the flood's last close: the guard's two collections (1 s, then 10 s later) and its linger (2 s), with room. */
const RECLAIM_WAIT_MS = 16_000;
const LOG_LEVEL = 'info';
/** Descriptors a guard process needs besides its connections (listener, stdio, libuv, V8). */
const FD_RESERVE = 64;

/** What the guard says it holds (bytes). */
export interface GuardMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** Asks a guard role for process.memoryUsage(). */
export async function guardMemory(guard: BenchProcess): Promise<GuardMemory> {
  const from = guard.output().length;
  guard.send('memory');
  for (let i = 0; i < 100; i++) {
    const m = /MEMORY (\{.*\})/.exec(guard.output().slice(from));
    if (m) return JSON.parse(m[1]!) as GuardMemory;
    await sleep(50);
  }
  throw new Error('the guard did not report its memory');
}

export interface IdleMemory {
  readonly wanted: number;
  /** The guard's soft limit on open files. */
  readonly fileLimit: number;
  readonly held: number;
  readonly failed: number;
  /** RSS in KiB. */
  readonly before: number;
  readonly after: number;
  readonly bytesPerConnection: number;
  readonly heapBytesPerConnection: number;
}

export async function idleMemory(
  projectDir: string,
  workDir: string,
  wanted: number,
  log: (line: string) => void,
): Promise<IdleMemory> {
  const upstream = await startRole(projectDir, 'tls-upstream', []);
  const processes: BenchProcess[] = [upstream];
  try {
    const guard = (await startProxy('guard', upstream.port, projectDir, workDir, LOG_LEVEL))!;
    processes.push(guard);
    // Two descriptors per proxied connection; where the hard limit cannot be raised (a container
    // without CAP_SYS_RESOURCE), hold as many as it allows and say so.
    const limit = fileLimit(guard.pid) ?? Number.POSITIVE_INFINITY;
    const count = Math.min(wanted, Math.floor((limit - FD_RESERVE) / 2));
    if (count < wanted) log(`  memory: the guard may open ${limit} files: holding ${count} connections, not ${wanted}`);
    // Warm up: let the guard's code and buffers settle before the baseline.
    const warm = await startRole(projectDir, 'holder', [String(guard.port), '200']);
    await warm.waitFor(/HELD \d+/, 60_000);
    await warm.stop();
    await sleep(SETTLE_MS);
    const before = guard.rssKiB();
    const heapBefore = await guardMemory(guard);
    log(`  memory: guard RSS ${before} KiB before; opening ${count} TLS connections through it`);
    const holder = await startRole(projectDir, 'holder', [String(guard.port), String(count)]);
    processes.push(holder);
    const m = await holder.waitFor(/HELD (\d+) FAILED (\d+)/, 300_000);
    await sleep(SETTLE_MS);
    const after = guard.rssKiB();
    const heapAfter = await guardMemory(guard);
    const held = Number(m[1]);
    log(`  memory: ${held} held, RSS ${after} KiB`);
    return {
      wanted,
      fileLimit: limit,
      held,
      failed: Number(m[2]),
      before,
      after,
      bytesPerConnection: ((after - before) * 1024) / held,
      heapBytesPerConnection: (heapAfter.heapUsed - heapBefore.heapUsed) / held,
    };
  } finally {
    await Promise.all(processes.reverse().map((p) => p.stop()));
  }
}

/** A record header and a ClientHello header claiming 65,000 bytes: 9 bytes. */
const PINNING_HEADER = Uint8Array.of(22, 3, 1, 0x40, 0x00, 1, 0, 0xfd, 0xe8);

export interface FloodMemory {
  readonly opened: number;
  /** RSS in KiB. */
  readonly before: number;
  readonly during: number;
  readonly after: number;
  readonly afterSeconds: number;
  /** What the guard held before and after (its own view, bytes). */
  readonly guardBefore: GuardMemory;
  readonly guardAfter: GuardMemory;
}

export async function helloFlood(projectDir: string, workDir: string, count: number): Promise<FloodMemory> {
  const upstream = await startRole(projectDir, 'script-upstream', ['echo']);
  const processes: BenchProcess[] = [upstream];
  const sockets: net.Socket[] = [];
  try {
    const guard = (await startProxy('guard', upstream.port, projectDir, workDir, LOG_LEVEL))!;
    processes.push(guard);
    await sleep(SETTLE_MS);
    const before = guard.rssKiB();
    const guardBefore = await guardMemory(guard);
    for (let i = 0; i < count; i += FLOOD_BATCH) {
      await Promise.all(
        Array.from(
          { length: Math.min(FLOOD_BATCH, count - i) },
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
    await sleep(RECLAIM_WAIT_MS);
    return {
      opened,
      before,
      during,
      after: guard.rssKiB(),
      afterSeconds: RECLAIM_WAIT_MS / 1000,
      guardBefore,
      guardAfter: await guardMemory(guard),
    };
  } finally {
    for (const s of sockets) s.destroy();
    await Promise.all(processes.reverse().map((p) => p.stop()));
  }
}
