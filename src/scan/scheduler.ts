/**
 * Runs a plan of probes over one target: each probe starts as soon as every
 * probe it needs is done (no fixed phases), a probe whose need produced nothing
 * is skipped, a probe with early work begins it at once on a guess, and once all
 * are done their outputs go into the report in plan order, so the report does
 * not depend on which connection answered first.
 */
import type { AnyProbe, ProbeId, ProbeOutputs, ProbeRun } from './probes/probe.ts';
import type { ProbeContext } from './probes/context.ts';
import type { ScanOptions } from './types.ts';
import type { Evidence } from './verdict.ts';

/** A plan that names a probe it does not contain, or needs in a cycle: a programming error. */
export class PlanError extends Error {}

/** Checks that every need is in the plan and comes before the probe that needs it. */
export function checkPlan(plan: readonly AnyProbe[]): void {
  const seen = new Set<ProbeId>();
  for (const p of plan) {
    for (const need of p.needs) {
      if (!seen.has(need)) throw new PlanError(`probe ${p.id} needs ${need}, which is not before it in the plan`);
    }
    if (seen.has(p.id)) throw new PlanError(`probe ${p.id} is twice in the plan`);
    seen.add(p.id);
  }
}

export interface PlanOutcome {
  /** Wall time of each probe that ran, by id. */
  ms: Record<string, number>;
  /** The longest chain of round trips through the probes that ran: the plan's lower bound in round trips. */
  roundTrips: number;
}

export async function runPlan(plan: readonly AnyProbe[], cx: ProbeContext, e: Evidence): Promise<PlanOutcome> {
  checkPlan(plan);
  const outputs = new Map<ProbeId, unknown>();
  const started = new Map<ProbeId, Promise<boolean>>();
  const ms: Record<string, number> = {};
  const ids = new Set(plan.map((p) => p.id));
  const run: ProbeRun = {
    cx,
    need: <K extends ProbeId>(id: K) => {
      if (!outputs.has(id)) throw new PlanError(`probe output ${id} read before it was done`);
      return outputs.get(id) as ProbeOutputs[K];
    },
    output: <K extends ProbeId>(id: K) => outputs.get(id) as ProbeOutputs[K] | undefined,
    planned: (id) => ids.has(id),
  };
  const byId = new Map(plan.map((p) => [p.id, p]));
  // Resolves true when the probe produced an output, false when it (or a need) had nothing.
  const start = (p: AnyProbe): Promise<boolean> => {
    let promise = started.get(p.id);
    if (!promise) {
      promise = Promise.all(p.needs.map((id) => start(byId.get(id)!))).then(async (ready) => {
        if (!ready.every(Boolean)) return false;
        const t0 = performance.now();
        const out = await p.run(run);
        ms[p.id] = Math.round(performance.now() - t0);
        if (out === undefined) return false;
        outputs.set(p.id, out);
        return true;
      });
      started.set(p.id, promise);
    }
    return promise;
  };
  const all = Promise.all(plan.map(start));
  // After the probes that need nothing have asked the gate for their connections: the guesses queue behind them.
  // Waited for even when no probe took it (its need failed), so that the scan closes what it opened.
  const early = plan.filter((p) => p.early !== undefined);
  const guesses =
    early.length === 0
      ? []
      : await new Promise<Promise<unknown>[]>((resolve) =>
          setImmediate(() => resolve(early.flatMap((p) => p.early!.start(run) ?? []))),
        );
  await all;
  await Promise.allSettled(guesses);
  const inOrder: Record<string, number> = {};
  for (const p of plan) if (ms[p.id] !== undefined) inOrder[p.id] = ms[p.id]!;
  for (const p of plan) {
    const out = outputs.get(p.id);
    if (out !== undefined) p.contribute(e, out as never, run);
  }
  return { ms: inOrder, roundTrips: longestChain(plan, outputs, cx.opts) };
}

function longestChain(plan: readonly AnyProbe[], outputs: Map<ProbeId, unknown>, opts: ScanOptions): number {
  const chain = new Map<ProbeId, number>();
  for (const p of plan) {
    if (!outputs.has(p.id)) continue;
    const out = outputs.get(p.id) as never;
    const before = p.early?.used(out) ? 0 : Math.max(0, ...p.needs.map((id) => chain.get(id) ?? 0));
    chain.set(p.id, before + p.roundTrips(out, opts));
  }
  return Math.max(0, ...chain.values());
}
