/**
 * CPU time, to tell who limited a sample: a client at 100% of a core is the bottleneck; a
 * server at 100% means the sample measures the server, and the ratio understates the gap.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of a process (Linux /proc), or undefined where unavailable. */
export function processCpuSeconds(pid: number): number | undefined {
  const split = processCpuSplit(pid);
  return split === undefined ? undefined : split.user + split.system;
}

/** A process's CPU seconds, all threads, split into user and kernel time (Linux /proc), or undefined. */
export function processCpuSplit(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / clockTicks(), system: Number(fields[12]) / clockTicks() };
  } catch {
    return undefined;
  }
}

/** This process's CPU seconds, all threads (JavaScript, GC helpers, libuv), split into user and kernel time. */
export function ownCpuSplit(): { user: number; system: number } {
  const u = process.cpuUsage();
  return { user: u.user / 1e6, system: u.system / 1e6 };
}

/** This process's CPU seconds, all threads. */
export function ownCpuSeconds(): number {
  const u = ownCpuSplit();
  return u.user + u.system;
}

/**
 * CPU seconds all processes on the machine have used (Linux /proc/stat: user, nice, system,
 * irq, softirq, steal), or undefined where unavailable. Minus the client's and the server's
 * share, it shows how much other work competed for the cores during a sample.
 */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / clockTicks();
  } catch {
    return undefined;
  }
}

/**
 * Waits until the rest of the machine (everything but this process) has used fewer than
 * `limitCores` cores over one `windowMs` window, for at most `maxMs`. Resolves true when it
 * got quiet, false when the time ran out (or nothing can be measured).
 */
export async function waitForQuiet(limitCores: number, windowMs: number, maxMs: number): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const machine0 = machineBusySeconds();
    if (machine0 === undefined) return false;
    const own0 = ownCpuSeconds();
    await sleep(windowMs);
    const others = (machineBusySeconds()! - machine0 - (ownCpuSeconds() - own0)) / (windowMs / 1000);
    if (others < limitCores) return true;
    if (Date.now() >= deadline) return false;
  }
}
