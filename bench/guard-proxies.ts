/**
 * The subjects of the guard benchmark, each a process of its own in front of the same upstream:
 * no proxy (direct), `renego guard`, socat and haproxy in `mode tcp` (Debian packages). Every
 * process runs in its own process group, with the file limit raised for it alone, and is stopped
 * (group and all) whatever happens; an exit hook kills what is left if the benchmark dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const PROXY_NAMES = ['direct', 'guard', 'socat', 'haproxy'] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];

const HOST = '127.0.0.1';
/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;
const READY_MS = 30_000;
const STOP_GRACE_MS = 3_000;
/** 10,000 held connections are 20,000 descriptors in a proxy, over the usual default. */
const FILE_LIMIT = 65_536;
/** Raise the soft (and, as root, the hard) limit for this process only; fall back to the hard limit. */
const RAISE_LIMIT = `ulimit -n ${FILE_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;

export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  output(): string;
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Writes a line to the process's stdin (bench/guard-process.ts roles answer some). */
  send(line: string): void;
  /** Resident set size in KiB (Linux /proc), or NaN. */
  rssKiB(): number;
  stop(): Promise<void>;
}

const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of a process and of its children it has reaped (Linux /proc stat utime, stime,
 * cutime, cstime): socat forks a child per connection, whose time lands in cutime once it exits.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** The soft limit on open files of a process (Linux /proc), or undefined. */
export function fileLimit(pid: number): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return undefined;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, HOST);
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

function spawnGroup(o: SpawnOptions): { child: ChildProcess; process: Omit<BenchProcess, 'port'> } {
  const child = spawn('sh', ['-c', RAISE_LIMIT, 'sh', o.command, ...o.args], {
    cwd: o.cwd,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${o.name}`);
  live.add(pid);
  let text = '';
  const waiters = new Set<() => void>();
  const onText = (c: string): void => {
    text += c;
    for (const w of waiters) w();
  };
  child.stdout!.setEncoding('utf8').on('data', onText);
  child.stderr!.setEncoding('utf8').on('data', onText);
  child.stdin!.on('error', () => undefined);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  const waitFor = (re: RegExp, timeoutMs: number): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(text);
        if (m) {
          cleanup();
          resolve(m);
        } else if (exited) {
          cleanup();
          reject(new Error(`${o.name} exited before printing ${re}:\n${text}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${o.name}: no ${re} within ${timeoutMs} ms:\n${text}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    child.stdin!.end();
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
    await exit;
    clearTimeout(timer);
    killGroup(pid, 'SIGKILL');
    live.delete(pid);
  };
  return {
    child,
    process: {
      name: o.name,
      pid,
      output: () => text,
      waitFor,
      send: (line) => void child.stdin!.write(`${line}\n`),
      rssKiB: () => rssKiB(pid),
      stop: () => (stopping ??= stop()),
    },
  };
}

/** One role of bench/guard-process.ts, ready once it printed its port. */
export async function startRole(
  projectDir: string,
  role: string,
  args: readonly string[],
  /** A command to run it under, e.g. ['ip', 'netns', 'exec', 'ns1'] (bench/guard-transparent.ts). */
  prefix: readonly string[] = [],
): Promise<BenchProcess> {
  const [command = process.execPath, ...prefixArgs] = [...prefix, process.execPath];
  const { process: p } = spawnGroup({
    name: `guard-process ${role}`,
    command,
    args: [...prefixArgs, '--import', 'tsx', join(projectDir, 'bench', 'guard-process.ts'), role, ...args],
    cwd: projectDir,
  });
  try {
    const m = await p.waitFor(/READY (\d+)/, READY_MS);
    return { ...p, port: Number(m[1]) };
  } catch (e) {
    await p.stop();
    throw e;
  }
}

async function startListening(o: SpawnOptions, port: number): Promise<BenchProcess> {
  const { process: p } = spawnGroup(o);
  const deadline = Date.now() + READY_MS;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) {
      await p.stop();
      throw new Error(`${o.name} did not listen on ${port}:\n${p.output()}`);
    }
    await sleep(50);
  }
  return { ...p, port };
}

/**
 * haproxy in `mode tcp`, one thread (the guard is one Node thread; socat one process per
 * connection), no logging. maxconn stays under what the file limit allows (haproxy refuses to
 * start when it cannot get two descriptors per connection).
 */
function haproxyConfig(port: number, upstreamPort: number): string {
  return `global
  maxconn 9000
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend guard_bench
  bind ${HOST}:${port}
  default_backend upstream
backend upstream
  server upstream ${HOST}:${upstreamPort}
`;
}

export async function startProxy(
  name: ProxyName,
  upstreamPort: number,
  projectDir: string,
  workDir: string,
  logLevel = 'warn',
): Promise<BenchProcess | undefined> {
  switch (name) {
    case 'direct':
      return undefined;
    case 'guard':
      return startRole(projectDir, 'guard', [String(upstreamPort), logLevel]);
    case 'socat': {
      const port = await freePort();
      return startListening(
        {
          name: 'socat',
          command: 'socat',
          args: [`TCP-LISTEN:${port},bind=${HOST},reuseaddr,fork,backlog=4096`, `TCP:${HOST}:${upstreamPort}`],
          cwd: workDir,
        },
        port,
      );
    }
    case 'haproxy': {
      const port = await freePort();
      const config = join(workDir, `haproxy-${port}.cfg`);
      await writeFile(config, haproxyConfig(port, upstreamPort));
      return startListening({ name: 'haproxy', command: 'haproxy', args: ['-f', config, '-db'], cwd: workDir }, port);
    }
  }
}
