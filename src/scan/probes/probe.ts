/**
 * What a probe is: an id (its name in the report's timings), the probes whose
 * outputs it needs, a run over one target, and how its output goes into the
 * report. Verdicts are derived from the report alone (verdict.ts), so a probe
 * contributes to them only through what it writes there; `informs` names the
 * verdicts that read it. The scheduler (scheduler.ts) starts each probe as soon
 * as the probes it needs are done, so the plan's wall time is its longest chain.
 *
 * A probe file declares its output type by adding `id: Output` to ProbeOutputs
 * (TypeScript declaration merging), exports a Probe, and is listed in a plan in
 * registry.ts: that is all adding a check takes.
 */
import type { ScanOptions, VerdictId } from '../types.ts';
import type { Evidence } from '../verdict.ts';
import type { ProbeContext } from './context.ts';

/** Each probe's output type by id; every probe file adds its own entry. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ProbeOutputs {}

export type ProbeId = keyof ProbeOutputs & string;

export interface ProbeRun {
  readonly cx: ProbeContext;
  /** The output of a probe named in `needs` (done before this one started). */
  need<K extends ProbeId>(id: K): ProbeOutputs[K];
  /** The output of any probe of the plan that has finished, undefined otherwise (for contribute). */
  output<K extends ProbeId>(id: K): ProbeOutputs[K] | undefined;
  /** Whether the plan includes a probe: a probe leaves a connection open only for one that will take it. */
  planned(id: ProbeId): boolean;
}

export interface Probe<K extends ProbeId = ProbeId> {
  readonly id: K;
  /** Probes whose outputs this one needs; it starts as soon as they are done. */
  readonly needs: readonly ProbeId[];
  /** The verdicts that read what this probe writes into the report. */
  readonly informs: readonly VerdictId[];
  /**
   * Runs over one target; never throws for the target's sake (a failure is an
   * output saying why). `undefined` means there is nothing to build on: the
   * probes that need this one are skipped and leave the report as it was.
   */
  run(r: ProbeRun): Promise<ProbeOutputs[K] | undefined>;
  /** Writes the output into the report; called in plan order once every probe is done. */
  contribute(e: Evidence, out: ProbeOutputs[K], r: ProbeRun): void;
  /** Round trips this probe needed after its needs were done, at best (for the plan's lower bound). */
  roundTrips(out: ProbeOutputs[K], opts: ScanOptions): number;
  /**
   * Work begun with the plan, before the needs are done, on a guess about their
   * outputs (a connection with the settings the baseline handshake settles on
   * when its first try works). `run` still waits for the needs, keeps the early
   * work when the guess was right and throws it away otherwise.
   */
  readonly early?: {
    /**
     * Starts the work, called once the probes that need nothing have asked for their connections;
     * settles when it is done. Undefined when the plan gains nothing from it.
     */
    start(r: ProbeRun): Promise<unknown> | undefined;
    /** The output came from the early work: its round trips count from the plan's start, not after the needs. */
    used(out: ProbeOutputs[K]): boolean;
  };
}

/** Any registered probe, whatever its id (the methods are bivariant, so each Probe<K> fits). */
export type AnyProbe = Probe<ProbeId>;

/** TCP (one round trip) and a full TLS 1.0–1.2 handshake (two). */
export const CONNECT_ROUND_TRIPS = 3;
/** TCP (one round trip) and a ClientHello answered by the server's first flight (one): openFlight. */
export const FIRST_FLIGHT_ROUND_TRIPS = 2;
/** A full renegotiation handshake inside a session: ClientHello to ServerHelloDone, then Finished to Finished. */
export const RENEGOTIATION_ROUND_TRIPS = 2;
