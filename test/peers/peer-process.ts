/**
 * What every real TLS peer started by the interop tests has in common: a child process in its
 * own process group, its combined output, a bounded wait until it listens, and a stop that
 * leaves nothing behind even when a test fails half-way.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.ts';

/** A TLS server listening on host:port for a test, whatever runs it. */
export interface TlsPeer {
  readonly host: string;
  readonly port: number;
  /** Ends the peer and, for a process, its whole process group. Safe to call twice. */
  stop(): Promise<void>;
  /** Everything the peer wrote so far, stdout and stderr interleaved as received. */
  output(): string;
  /**
   * Resolves with the whole output so far as soon as it matches re; rejects, quoting the output,
   * after timeoutMs or when the peer ends before a match.
   */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<string>;
}

/** A peer that is a child process. */
export interface PeerProcess extends TlsPeer {
  readonly name: string;
  /** The process group id: the pid of the watchdog shell that leads the group (see WATCHDOG). */
  readonly pid: number;
  /** Writes to the process's standard input (openssl s_server reads commands there). */
  write(text: string): void;
  /** Closes the process's standard input (EOF). */
  endInput(): void;
  hasExited(): boolean;
  /** How the process ended, or undefined while it runs. */
  exitStatus(): ExitStatus | undefined;
  /** Resolves true once the process has exited and its output is complete, false after timeoutMs. */
  waitForExit(timeoutMs: number): Promise<boolean>;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export const DEFAULT_READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3_000;
const OUTPUT_QUOTE_CHARS = 6_000;
const PROBE_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function countMatches(text: string, re: RegExp): number {
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`);
  return [...text.matchAll(global)].length;
}

function quote(name: string, text: string): string {
  const shown = text.length > OUTPUT_QUOTE_CHARS ? `…${text.slice(-OUTPUT_QUOTE_CHARS)}` : text;
  return `\n--- ${name} output ---\n${shown}${shown.endsWith('\n') ? '' : '\n'}--- end of ${name} output ---`;
}

interface Waiter {
  readonly re: RegExp;
  readonly resolve: (text: string) => void;
  readonly reject: (error: Error) => void;
}

/** The output of one peer, with waiters woken on every chunk. */
export class OutputLog {
  readonly #name: string;
  #text = '';
  #endedBecause: string | undefined;
  readonly #waiters = new Set<Waiter>();

  constructor(name: string) {
    this.#name = name;
  }

  text(): string {
    return this.#text;
  }

  append(chunk: string): void {
    this.#text += chunk;
    for (const waiter of this.#waiters) {
      if (!matches(waiter.re, this.#text)) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(this.#text);
    }
  }

  /** No more output will come: pending and later waits fail at once instead of timing out. */
  end(reason: string): void {
    this.#endedBecause = reason;
    for (const waiter of this.#waiters) waiter.reject(this.#endedError(waiter.re));
    this.#waiters.clear();
  }

  waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    if (matches(re, this.#text)) return Promise.resolve(this.#text);
    if (this.#endedBecause !== undefined) return Promise.reject(this.#endedError(re));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${re} in ${this.#name} output${quote(this.#name, this.#text)}`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        re,
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  #endedError(re: RegExp): Error {
    return new Error(`${this.#endedBecause} before its output matched ${re}${quote(this.#name, this.#text)}`);
  }
}

function matches(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}

/**
 * Every peer runs under this sh script, so that it cannot outlive the test process even when that
 * is killed outright (SIGKILL, OOM), which no exit hook sees: s_server only reads stdin during a
 * connection and gnutls-serv never does, so both would keep listening.
 * - fd 3 is a pipe from the test process that is never written: a guard subshell blocks reading
 *   it (the read builtin, no extra process) and kills the peer when it reaches EOF, i.e. when the
 *   test process is gone.
 * - The peer gets the real stdin through fd 4 (an asynchronous list would get /dev/null);
 *   s_server reads its commands there.
 * - sh waits for the peer and exits with its status, so a peer that fails to start is seen at
 *   once; on SIGTERM (stop()) it passes the signal on and reaps both children before exiting, so
 *   nothing is left as an orphan once sh has exited.
 */
const WATCHDOG = `
exec 4<&0
"$@" <&4 3<&- 4<&- & peer=$!
(read -r _ <&3; kill "$peer") </dev/null >/dev/null 2>&1 4<&- & guard=$!
exec 3<&- 4<&-
trap 'kill "$peer" 2>/dev/null' TERM INT HUP
wait "$peer" 2>/dev/null; status=$?
while kill -0 "$peer" 2>/dev/null; do wait "$peer" 2>/dev/null; status=$?; done
kill "$guard" 2>/dev/null; wait "$guard" 2>/dev/null
exit "$status"
`;

/** Process groups still running, killed if the test process exits without stopping them. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** True while any process of the group led by pid is alive (zombies included until reaped). */
export function processGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface SpawnPeerOptions {
  /** Used in errors and output quotes, e.g. "openssl s_server". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly host: string;
  readonly port: number;
  /**
   * Output the peer prints once it listens. When given, readiness is this line rather than a
   * TCP probe: a probe connection shows up in the peer's output as a failed handshake (s_server
   * prints ERROR and a decode_error alert, gnutls-serv "Error in handshake", JSSE an exception),
   * which would mislead tests that read that output.
   */
  readonly readyPattern?: RegExp;
  readonly readyTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Starts a peer and waits, within a bounded time, until it listens; stops it again on failure. */
export async function spawnPeer(options: SpawnPeerOptions): Promise<PeerProcess> {
  const peer = await startProcess(options);
  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  try {
    if (options.readyPattern !== undefined) await peer.waitForOutput(options.readyPattern, timeoutMs);
    else await waitUntilConnectable(peer, timeoutMs);
  } catch (error) {
    await peer.stop();
    const where = hostPort(options.host, options.port);
    throw new Error(`${options.name} did not become ready on ${where}: ${(error as Error).message}`);
  }
  return peer;
}

/** Starts the process in its own group without waiting for anything (clients use this directly). */
export async function startProcess(options: SpawnPeerOptions): Promise<PeerProcess> {
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', options.command, ...options.args], {
    detached: true,
    // fd 3 is the watchdog's lifeline: never written, it reaches EOF when this process is gone.
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`could not start ${options.name} (${options.command}): ${error.message}`);
  }
  const pid = child.pid;
  liveGroups.add(pid);
  installExitHook();

  const [stdin, stdout, stderr, lifeline] = child.stdio;
  if (stdin === null || stdout === null || stderr === null || !(lifeline instanceof Readable)) {
    throw new Error(`${options.name}: spawn gave no stdio pipes`);
  }
  const log = new OutputLog(options.name);
  stdout.setEncoding('utf8').on('data', (chunk: string) => log.append(chunk));
  stderr.setEncoding('utf8').on('data', (chunk: string) => log.append(chunk));
  // Read so that its EOF is seen and 'close' fires; nothing ever arrives.
  lifeline.resume();
  stdin.on('error', () => {
    /* the peer may exit or close stdin before we write; its output tells what happened */
  });

  let status: ExitStatus | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => {
      log.end(`${options.name} ended (${describeExit(status)})`);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stdin.destroy();
    if (status === undefined) {
      signalGroup(pid, 'SIGTERM');
      if ((await within(exited, STOP_GRACE_MS)) === 'timeout') {
        signalGroup(pid, 'SIGKILL');
        if ((await within(exited, STOP_GRACE_MS)) === 'timeout') {
          throw new Error(`${options.name} (pid ${pid}) survived SIGKILL`);
        }
      }
    }
    // sh reaps the peer before exiting; only a signal that beat its trap can leave members behind.
    signalGroup(pid, 'SIGKILL');
    await within(closed, STOP_GRACE_MS);
    for (const deadline = Date.now() + STOP_GRACE_MS; processGroupAlive(pid) && Date.now() < deadline;) {
      await sleep(10);
    }
    liveGroups.delete(pid);
  };

  return {
    name: options.name,
    pid,
    host: options.host,
    port: options.port,
    output: () => log.text(),
    waitForOutput: (re, timeoutMs) => log.waitFor(re, timeoutMs),
    write: (text) => {
      stdin.write(text);
    },
    endInput: () => {
      stdin.end();
    },
    hasExited: () => status !== undefined,
    exitStatus: () => status,
    waitForExit: async (timeoutMs) => (await within(closed, timeoutMs)) !== 'timeout',
    stop: () => (stopping ??= stop()),
  };
}

function describeExit(status: ExitStatus | undefined): string {
  if (status === undefined) return 'streams closed';
  return status.signal === null ? `exit code ${status.code}` : `signal ${status.signal}`;
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

/** Polls a TCP connect until it succeeds, the peer exits, or the time is up. */
export async function waitUntilConnectable(peer: PeerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (peer.hasExited()) throw new Error(`${peer.name} exited before listening${quote(peer.name, peer.output())}`);
    if (await canConnect(peer.host, peer.port)) return;
    await sleep(PROBE_INTERVAL_MS);
  }
  throw new Error(`nothing listened within ${timeoutMs} ms${quote(peer.name, peer.output())}`);
}

const ADDRESS_IN_USE = /address already in use|EADDRINUSE|BindException/i;

/**
 * Picks a free port and starts a peer on it, trying a new port when the one picked was taken in
 * the meantime (freePort cannot reserve it).
 */
export async function withFreePort<T>(host: string, start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(host);
    try {
      return await start(port);
    } catch (error) {
      if (attempt >= attempts || !ADDRESS_IN_USE.test((error as Error).message)) throw error;
    }
  }
}
