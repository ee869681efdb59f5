/**
 * CPU profiles of a piece of the benchmark, taken in-process with the V8 sampling profiler
 * through node:inspector: the same profiler and the same .cpuprofile format as
 * `node --cpu-prof`, but started and stopped around exactly the loop of interest, so module
 * loading, certificate generation and the other client do not show up in it.
 *
 * The summary attributes each sample to the function on top of the stack (self time) and to
 * every distinct function on the stack (inclusive time). Functions implemented in C++ and
 * called from JavaScript (node:crypto's cipher update, a socket write) count as self time of
 * the JavaScript frame that called them, because V8 does not sample native frames.
 */
import type { Profiler, Runtime } from 'node:inspector';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

export type CpuProfile = Profiler.Profile;

/** Samples every 100 µs instead of V8's default 1 ms: a handshake takes about a millisecond. */
const SAMPLING_INTERVAL_US = 100;

export async function withCpuProfile<T>(fn: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    await session.post('Profiler.start');
    let outcome: { ok: true; result: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, result: await fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const { profile } = await session.post('Profiler.stop');
    if (!outcome.ok) throw outcome.error;
    return { result: outcome.result, profile };
  } finally {
    await session.post('Profiler.disable').catch(() => {});
    session.disconnect();
  }
}

export async function saveProfile(path: string, profile: CpuProfile): Promise<void> {
  await writeFile(path, JSON.stringify(profile));
}

export interface FunctionTime {
  /** Function name, `(anonymous)`, or a V8 pseudo-frame such as `(garbage collector)`. */
  readonly name: string;
  /** file:line relative to the project, `node:internal/…`, or '' for V8 pseudo-frames. */
  readonly location: string;
  readonly ms: number;
  /** Share of the whole profiled wall time, idle included. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  /** Time the thread had nothing to do: waiting for the peer or the network. */
  readonly idleMs: number;
  readonly gcMs: number;
  readonly topSelf: readonly FunctionTime[];
  /** Functions of the project (src/) by inclusive time. */
  readonly topInclusiveProject: readonly FunctionTime[];
  /** Self time grouped by file (or by native/V8 bucket). */
  readonly byFile: readonly FunctionTime[];
}

const PSEUDO_FRAMES = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function location(frame: Runtime.CallFrame, projectUrl: string): string {
  const url = frame.url;
  if (url === '') return '';
  const path = url.startsWith(projectUrl) ? url.slice(projectUrl.length) : url.replace(/^file:\/\//, '');
  return `${path}:${frame.lineNumber + 1}`;
}

function fileOf(loc: string, name: string): string {
  if (loc === '') return PSEUDO_FRAMES.has(name) ? name : '(native, no script)';
  return loc.replace(/:\d+$/, '');
}

/**
 * Self and inclusive time per function. Sample i is charged the interval until sample i+1
 * (timeDeltas[i+1]), which is how DevTools charges it.
 */
export function summariseProfile(profile: CpuProfile, projectDir: string, top = 15): ProfileSummary {
  const projectUrl = pathToFileURL(projectDir.endsWith('/') ? projectDir : `${projectDir}/`).href;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const key = (n: Profiler.ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}\u0000${location(n.callFrame, projectUrl)}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const files = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let wallUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const us = deltas[i + 1] ?? 0;
    wallUs += us;
    const leaf = nodes.get(samples[i]!);
    if (!leaf) continue;
    const k = key(leaf);
    self.set(k, (self.get(k) ?? 0) + us);
    const [name, loc] = k.split('\u0000') as [string, string];
    const file = fileOf(loc, name);
    files.set(file, (files.get(file) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const kk = key(nodes.get(id)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      inclusive.set(kk, (inclusive.get(kk) ?? 0) + us);
    }
  }
  const toTimes = (m: Map<string, number>, filter: (name: string, loc: string) => boolean): FunctionTime[] =>
    [...m.entries()]
      .map(([k, us]) => {
        const [name, loc] = k.split('\u0000') as [string, string];
        return { name, location: loc, ms: us / 1000, share: wallUs === 0 ? 0 : us / wallUs };
      })
      .filter((f) => filter(f.name, f.location))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  const idleMs = (self.get('(idle)\u0000') ?? 0) / 1000;
  const gcMs = (self.get('(garbage collector)\u0000') ?? 0) / 1000;
  return {
    wallMs: wallUs / 1000,
    idleMs,
    gcMs,
    topSelf: toTimes(self, (name) => name !== '(idle)' && name !== '(root)'),
    topInclusiveProject: toTimes(inclusive, (_name, loc) => loc.startsWith('src/')),
    byFile: [...files.entries()]
      .map(([file, us]) => ({ name: file, location: '', ms: us / 1000, share: wallUs === 0 ? 0 : us / wallUs }))
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}
