/**
 * `openssl s_server` for benchmarks. Unlike test/peers/openssl-server.ts, which pipes every
 * byte of output into the test process (it needs `-msg` transcripts), a benchmark peer must
 * cost the measuring process nothing: standard output, where echo mode writes all it receives,
 * goes to /dev/null, and standard input is either a pipe that stays silent (a sink) or
 * /dev/zero (a source that streams zeros to whoever connects).
 *
 * Modes (echo mode, `-quiet`, which also implies `-ign_eof`):
 * - 'sink': reads and discards; answers a close_notify by closing, so a client that ends its
 *   side and waits for the close knows the server has read everything (TLS is ordered).
 * - 'source': s_server copies its standard input, /dev/zero, to the client as fast as it can
 *   encrypt, for as long as the client stays.
 *
 * Readiness is a TCP connect probe: with stdout discarded the `ACCEPT` line is invisible, and
 * a probe only costs s_server one failed handshake, which nobody reads here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/peers/ports.ts';
import { processCpuSeconds } from '../lib/cpu.ts';

export type BenchServerMode = 'sink' | 'source';

export interface BenchServerOptions {
  readonly mode: BenchServerMode;
  readonly cert: string;
  readonly key: string;
  /** s_server arguments for the protocol, e.g. ['-tls1_2', '-cipher', '…', '-groups', 'X25519']. */
  readonly tlsArgs: readonly string[];
  readonly host?: string;
  readonly readyTimeoutMs?: number;
}

export interface BenchServer {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  readonly mode: BenchServerMode;
  readonly command: string;
  /** The last few KiB s_server wrote to stderr (errors only, under -quiet). */
  stderr(): string;
  /** CPU seconds s_server has used so far (Linux), to see whether it limited a sample. */
  cpuSeconds(): number | undefined;
  hasExited(): boolean;
  /** Ends s_server's process group; safe to call twice. */
  stop(): Promise<void>;
}

const STDERR_KEEP_CHARS = 8_000;
const STOP_GRACE_MS = 3_000;
const PROBE_INTERVAL_MS = 50;
const PROBE_TIMEOUT_MS = 1_000;
const START_ATTEMPTS = 3;

/** Groups still alive, killed if the benchmark exits without stopping them (a crash, Ctrl-C). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
      process.exit(130);
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function startOnce(options: BenchServerOptions, port: number): Promise<BenchServer> {
  const host = options.host ?? '127.0.0.1';
  const args = [
    's_server',
    '-accept',
    `${host}:${port}`,
    '-cert',
    options.cert,
    '-key',
    options.key,
    '-quiet',
    ...options.tlsArgs,
  ];
  // The source reads /dev/zero; the sink gets a pipe we never write to nor close, because
  // s_server polls standard input and would spin on an EOF (-quiet implies -ign_eof).
  const zero = options.mode === 'source' ? openSync('/dev/zero', 'r') : undefined;
  const child = spawn('openssl', args, {
    detached: true,
    stdio: [zero ?? 'pipe', 'ignore', 'pipe'],
  });
  if (zero !== undefined) closeSync(zero);
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`could not start openssl s_server: ${error.message}`);
  }
  const pid = child.pid;
  liveGroups.add(pid);
  installExitHook();
  child.stdin?.on('error', () => {
    /* s_server may exit first; stderr says why */
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
  });

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    child.stdin?.destroy();
    signalGroup(pid, 'SIGTERM');
    if (!(await waitForExit(child, STOP_GRACE_MS))) {
      signalGroup(pid, 'SIGKILL');
      await waitForExit(child, STOP_GRACE_MS);
    }
    signalGroup(pid, 'SIGKILL');
    child.stderr?.destroy();
    liveGroups.delete(pid);
  };
  const server: BenchServer = {
    host,
    port,
    pid,
    mode: options.mode,
    command: `openssl ${args.join(' ')}${options.mode === 'source' ? ' < /dev/zero' : ''} > /dev/null`,
    stderr: () => stderr,
    cpuSeconds: () => processCpuSeconds(pid),
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => (stopping ??= stop()),
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    if (server.hasExited()) break;
    if (await canConnect(host, port)) return server;
    await sleep(PROBE_INTERVAL_MS);
  }
  await server.stop();
  throw new Error(`openssl s_server did not listen on ${host}:${port}:\n${stderr}`);
}

/** Starts s_server on a free port, retrying with another port if the one picked was taken. */
export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort(options.host ?? '127.0.0.1');
    try {
      return await startOnce(options, port);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
