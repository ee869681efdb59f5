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
import { findSourceMap, type SourceMap } from 'node:module';
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
  /**
   * file:line relative to the project (through the source map, so .ts lines under tsx),
   * `node:internal/…:line`, or for a native function the JavaScript function that called it.
   */
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
  /** Self time per function, native functions included. */
  readonly topSelf: readonly FunctionTime[];
  /**
   * Each sample charged to the innermost project function (src/) on its stack, so
   * `sealRecord` owns the node:crypto and Buffer work it asks for: what a fix in src/ can
   * change. Samples with no src/ frame go to `(outside src/)`, GC to `(garbage collector)`.
   */
  readonly topProject: readonly FunctionTime[];
  /** Functions of the project (src/) by inclusive time. */
  readonly topInclusiveProject: readonly FunctionTime[];
}

const PSEUDO_FRAMES = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);
const OUTSIDE_PROJECT = '(outside src/)';
const SEP = '\u0000';

class Locator {
  readonly #projectUrl: string;
  readonly #maps = new Map<string, SourceMap | undefined>();

  constructor(projectDir: string) {
    this.#projectUrl = pathToFileURL(projectDir.endsWith('/') ? projectDir : `${projectDir}/`).href;
  }

  /** file:line of a frame, mapped through the module's source map when there is one. */
  locate(frame: Runtime.CallFrame): string {
    if (frame.url === '') return '';
    let url = frame.url;
    let line = frame.lineNumber;
    const entry = this.#sourceMap(url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && 'originalSource' in entry) {
      url = entry.originalSource;
      line = entry.originalLine;
    }
    const path = url.startsWith(this.#projectUrl) ? url.slice(this.#projectUrl.length) : url.replace(/^file:\/\//, '');
    return `${path}:${line + 1}`;
  }

  #sourceMap(url: string): SourceMap | undefined {
    if (!url.startsWith('file:')) return undefined;
    if (!this.#maps.has(url)) this.#maps.set(url, findSourceMap(url));
    return this.#maps.get(url);
  }
}

function isProject(location: string): boolean {
  return location.startsWith('src/');
}

/**
 * Self, project-attributed and inclusive time per function. Sample i is charged the interval
 * until sample i+1 (timeDeltas[i+1]), as DevTools does. Call in the process that loaded the
 * profiled modules, so their source maps are at hand.
 */
export function summariseProfile(profile: CpuProfile, projectDir: string, top = 15): ProfileSummary {
  const locator = new Locator(projectDir);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const locations = new Map<number, string>();
  const locationOf = (n: Profiler.ProfileNode): string => {
    let loc = locations.get(n.id);
    if (loc === undefined) {
      loc = locator.locate(n.callFrame);
      // A native function (a node:crypto binding, a socket write) is named after its caller.
      if (loc === '' && !PSEUDO_FRAMES.has(n.callFrame.functionName)) {
        const caller = nodes.get(parent.get(n.id) ?? -1);
        loc = caller
          ? `native, from ${caller.callFrame.functionName || '(anonymous)'} ${locationOf(caller)}`
          : 'native';
      }
      locations.set(n.id, loc);
    }
    return loc;
  };
  const key = (n: Profiler.ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}${SEP}${locationOf(n)}`;

  const self = new Map<string, number>();
  const project = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number): void => {
    m.set(k, (m.get(k) ?? 0) + us);
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let wallUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const us = deltas[i + 1] ?? 0;
    wallUs += us;
    const leaf = nodes.get(samples[i]!);
    if (!leaf) continue;
    const leafKey = key(leaf);
    add(self, leafKey, us);
    let owner: string | undefined;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = nodes.get(id)!;
      const k = key(node);
      if (owner === undefined && isProject(locationOf(node))) owner = k;
      if (seen.has(k)) continue;
      seen.add(k);
      add(inclusive, k, us);
    }
    const pseudo = PSEUDO_FRAMES.has(leaf.callFrame.functionName);
    add(project, owner ?? (pseudo ? leafKey : `${OUTSIDE_PROJECT}${SEP}`), us);
  }
  const toTimes = (m: Map<string, number>, keep: (name: string, loc: string) => boolean): FunctionTime[] =>
    [...m.entries()]
      .map(([k, us]) => {
        const [name, loc] = k.split(SEP) as [string, string];
        return { name, location: loc, ms: us / 1000, share: wallUs === 0 ? 0 : us / wallUs };
      })
      .filter((f) => keep(f.name, f.location))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  const notIdle = (name: string): boolean => name !== '(idle)' && name !== '(root)';
  return {
    wallMs: wallUs / 1000,
    idleMs: (self.get(`(idle)${SEP}`) ?? 0) / 1000,
    gcMs: (self.get(`(garbage collector)${SEP}`) ?? 0) / 1000,
    topSelf: toTimes(self, notIdle),
    topProject: toTimes(project, notIdle),
    topInclusiveProject: toTimes(inclusive, (_name, loc) => isProject(loc)),
  };
}
