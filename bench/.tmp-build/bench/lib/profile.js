import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { findSourceMap } from 'node:module';
import { pathToFileURL } from 'node:url';
/** Samples every 100 µs instead of V8's default 1 ms: a handshake takes about a millisecond. */
const SAMPLING_INTERVAL_US = 100;
export async function withCpuProfile(fn) {
    const session = new Session();
    session.connect();
    try {
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
        await session.post('Profiler.start');
        let outcome;
        try {
            outcome = { ok: true, result: await fn() };
        }
        catch (error) {
            outcome = { ok: false, error };
        }
        const { profile } = await session.post('Profiler.stop');
        if (!outcome.ok)
            throw outcome.error;
        return { result: outcome.result, profile };
    }
    finally {
        await session.post('Profiler.disable').catch(() => { });
        session.disconnect();
    }
}
export async function saveProfile(path, profile) {
    await writeFile(path, JSON.stringify(profile));
}
const PSEUDO_FRAMES = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);
const OUTSIDE_PROJECT = '(outside src/)';
const SEP = '\u0000';
class Locator {
    #projectUrl;
    #maps = new Map();
    constructor(projectDir) {
        this.#projectUrl = pathToFileURL(projectDir.endsWith('/') ? projectDir : `${projectDir}/`).href;
    }
    /** file:line of a frame, mapped through the module's source map when there is one. */
    locate(frame) {
        if (frame.url === '')
            return '';
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
    #sourceMap(url) {
        if (!url.startsWith('file:'))
            return undefined;
        if (!this.#maps.has(url))
            this.#maps.set(url, findSourceMap(url));
        return this.#maps.get(url);
    }
}
function isProject(location) {
    return location.startsWith('src/');
}
/**
 * Self, project-attributed and inclusive time per function. Sample i is charged the interval
 * until sample i+1 (timeDeltas[i+1]), as DevTools does. Call in the process that loaded the
 * profiled modules, so their source maps are at hand.
 */
export function summariseProfile(profile, projectDir, top = 15) {
    const locator = new Locator(projectDir);
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes)
        for (const c of n.children ?? [])
            parent.set(c, n.id);
    const locations = new Map();
    const locationOf = (n) => {
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
    const key = (n) => `${n.callFrame.functionName || '(anonymous)'}${SEP}${locationOf(n)}`;
    const self = new Map();
    const project = new Map();
    const inclusive = new Map();
    const add = (m, k, us) => {
        m.set(k, (m.get(k) ?? 0) + us);
    };
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    let wallUs = 0;
    for (let i = 0; i < samples.length; i++) {
        const us = deltas[i + 1] ?? 0;
        wallUs += us;
        const leaf = nodes.get(samples[i]);
        if (!leaf)
            continue;
        const leafKey = key(leaf);
        add(self, leafKey, us);
        let owner;
        const seen = new Set();
        for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
            const node = nodes.get(id);
            const k = key(node);
            if (owner === undefined && isProject(locationOf(node)))
                owner = k;
            if (seen.has(k))
                continue;
            seen.add(k);
            add(inclusive, k, us);
        }
        const pseudo = PSEUDO_FRAMES.has(leaf.callFrame.functionName);
        add(project, owner ?? (pseudo ? leafKey : `${OUTSIDE_PROJECT}${SEP}`), us);
    }
    const toTimes = (m, keep) => [...m.entries()]
        .map(([k, us]) => {
        const [name, loc] = k.split(SEP);
        return { name, location: loc, ms: us / 1000, share: wallUs === 0 ? 0 : us / wallUs };
    })
        .filter((f) => keep(f.name, f.location))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, top);
    const notIdle = (name) => name !== '(idle)' && name !== '(root)';
    return {
        wallMs: wallUs / 1000,
        idleMs: (self.get(`(idle)${SEP}`) ?? 0) / 1000,
        gcMs: (self.get(`(garbage collector)${SEP}`) ?? 0) / 1000,
        topSelf: toTimes(self, notIdle),
        topProject: toTimes(project, notIdle),
        topInclusiveProject: toTimes(inclusive, (_name, loc) => isProject(loc)),
    };
}
//# sourceMappingURL=profile.js.map