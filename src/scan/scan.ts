/**
 * One target, every check of the plan (probes/registry.ts), each probe started
 * as soon as the probes it needs are done (scheduler.ts), then verdicts. Never
 * throws: a target that cannot be scanned gives ok: false with the reason, and
 * each check that cannot run says why.
 */
import { judge, type Evidence } from './verdict.ts';
import { notTested } from './probes/client-initiated.ts';
import type { ProbeContext } from './probes/context.ts';
import { PLANS } from './probes/registry.ts';
import { emptyDos } from './probes/renegotiation-run.ts';
import { ConnectionGate } from './gate.ts';
import { runPlan } from './scheduler.ts';
import { resolveAddress, TransportError } from './transport.ts';
import type { Reachability, ScanOptions, ScanReport, ScanTarget } from './types.ts';

export const SCANNER = 'renego-scan/0.1.0';
/** A report with every check at could-not-test, `reason` saying why; probes fill it in. */
export function emptyReport(target: ScanTarget, maxRenegotiations: number, reason = 'not reached'): Evidence {
  return {
    target: target.label,
    host: target.host,
    port: target.port,
    ...(target.serverName ? { serverName: target.serverName } : {}),
    ...(target.starttls ? { starttls: target.starttls } : {}),
    ok: false,
    // Until a probe says how far it got: a scan stopped before that never finished.
    reachability: 'unfinished',
    versions: { TLSv1: null, 'TLSv1.1': null, 'TLSv1.2': null, 'TLSv1.3': null },
    secureRenegotiation: {
      extension: null,
      scsv: null,
      required: null,
      enforced: null,
      reasons: {},
      enforcement: [],
      evidence: [],
    },
    clientInitiated: {
      secure: 'not-tested',
      insecure: 'not-tested',
      details: { secure: notTested(reason), insecure: notTested(reason) },
      split: { glued: null, over: undefined, reason, evidence: [] },
    },
    maxClientRenegotiations: null,
    dos: emptyDos(maxRenegotiations, reason),
    serverInitiated: [],
    extendedMasterSecret: null,
    certificateChange: null,
    timings: { totalMs: 0, probes: {} },
    scannedAt: new Date().toISOString(),
    scanner: SCANNER,
  };
}

function finish(e: Evidence, t0: number): ScanReport {
  e.timings.totalMs = Math.round(performance.now() - t0);
  return { ...e, ...judge(e) };
}

/** The report of a target that was not scanned (or not to its end), every check could-not-test, with why. */
export function notScanned(target: ScanTarget, reachability: Reachability, error: string): ScanReport {
  const e = emptyReport(target, 0, error);
  e.reachability = reachability;
  e.error = error;
  return { ...e, ...judge(e) };
}

/** The same for a line that is not a target, labelled with the line as given. */
export function notScannedLine(line: string, reachability: Reachability, error: string): ScanReport {
  const target = { label: line, host: line, port: 0, serverName: undefined, starttls: undefined, family: undefined };
  return notScanned(target, reachability, error);
}

export async function scanTarget(target: ScanTarget, opts: ScanOptions): Promise<ScanReport> {
  const t0 = performance.now();
  const e = emptyReport(
    target,
    opts.maxRenegotiations,
    opts.plan === 'quick' ? 'not checked in --quick mode' : 'not reached',
  );
  try {
    return await scanInto(e, target, opts, t0);
  } catch (err) {
    e.ok = false;
    e.error = `internal error: ${(err as Error).stack ?? String(err)}`;
    return finish(e, t0);
  }
}

async function scanInto(e: Evidence, target: ScanTarget, opts: ScanOptions, t0: number): Promise<ScanReport> {
  let address: string;
  try {
    address = await resolveAddress(target);
  } catch (err) {
    if (!(err instanceof TransportError)) throw err;
    e.reachability = err.reach;
    e.error = err.message;
    return finish(e, t0);
  }
  e.address = address;
  const cx: ProbeContext = {
    target,
    address,
    opts,
    gate: new ConnectionGate(opts.connectionsPerTarget),
    sessions: new Set(),
  };
  try {
    const plan = await runPlan(PLANS[opts.plan ?? 'full'], cx, e);
    e.timings.probes = plan.ms;
    e.timings.roundTrips = plan.roundTrips;
    if (cx.gate.handshakesQueued) e.timings.handshakesQueued = true;
  } finally {
    for (const s of [...cx.sessions]) s.close();
  }
  return finish(e, t0);
}
