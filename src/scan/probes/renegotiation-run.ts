/**
 * Check 4 (CVE-2011-1473): renegotiations in a row on one connection, up to
 * `max`, each awaited, stopping at the first that does not complete, so a rate
 * limit (Node 3 per 10 minutes, F5 5–10) shows as the count reached and the
 * outcome that stopped it. The run goes on where the client-initiated check's
 * renegotiation completed, on the same connection (its first renegotiation is
 * the run's first): secure first, else insecure. It is the plan's longest chain.
 */
import type { ProbeSession } from '../probe-session.ts';
import type { ClientInitiatedResult, DosResult, RenegotiationAttempt, ScanOptions, Tri } from '../types.ts';
import type { Evidence } from '../verdict.ts';
import type { ClientInitiatedProbe } from './client-initiated.ts';
import { open, type Negotiated, type ProbeContext } from './context.ts';
import { CONNECT_ROUND_TRIPS, RENEGOTIATION_ROUND_TRIPS, type Probe } from './probe.ts';

export interface RunProbe {
  /** Absent when the run went over the other kind of session, or none renegotiated. */
  run: DosResult | undefined;
  /** A new connection was needed (the client-initiated check's had closed). */
  opened: boolean;
}

declare module './probe.ts' {
  interface ProbeOutputs {
    'renegotiation-run': RunProbe;
    'renegotiation-run-insecure': RunProbe;
  }
}

export function emptyDos(max: number, reason: string): DosResult {
  return { accepted: null, max, limitMet: null, ratePerSecond: null, over: undefined, reason, attempts: [] };
}

export function summariseRun(attempts: RenegotiationAttempt[], max: number, over: 'secure' | 'insecure'): DosResult {
  const completed = attempts.filter((a) => a.outcome === 'completed');
  const last = attempts.at(-1);
  const busyMs = completed.reduce((n, a) => n + a.ms, 0);
  const stopped = last !== undefined && last.outcome !== 'completed';
  return {
    accepted: completed.length,
    max,
    limitMet: completed.length < max,
    ...(stopped ? { stoppedBy: last.outcome } : {}),
    ratePerSecond: completed.length > 0 && busyMs > 0 ? Math.round((completed.length / busyMs) * 1000 * 10) / 10 : null,
    over,
    attempts,
  };
}

async function renegotiateInARow(
  session: ProbeSession,
  attempts: RenegotiationAttempt[],
  over: 'secure' | 'insecure',
  opts: ScanOptions,
): Promise<DosResult> {
  try {
    while (attempts.length < opts.maxRenegotiations && (attempts.at(-1)?.outcome ?? 'completed') === 'completed')
      attempts.push(await session.renegotiate(opts));
  } finally {
    session.close();
  }
  return summariseRun(attempts, opts.maxRenegotiations, over);
}

/** Goes on from the check's completed renegotiation, on its connection while it is open, else on a new one. */
async function runOver(
  cx: ProbeContext,
  n: Negotiated,
  c: ClientInitiatedProbe,
  over: 'secure' | 'insecure',
): Promise<RunProbe> {
  const first = c.result as RenegotiationAttempt;
  if (c.session && !c.session.closed)
    return { run: await renegotiateInARow(c.session, [first], over, cx.opts), opened: false };
  c.session?.close();
  const r = await open(cx, n, over === 'secure' ? 'extension' : 'none', {}, 'chain');
  if (!r.ok) return { run: emptyDos(cx.opts.maxRenegotiations, `handshake failed: ${r.failure.error}`), opened: true };
  return { run: await renegotiateInARow(r.session, [], over, cx.opts), opened: true };
}

export const runProbe: Probe<'renegotiation-run'> = {
  id: 'renegotiation-run',
  needs: ['handshake', 'client-initiated-secure'],
  informs: ['CVE-2011-1473', 'triple-handshake'],
  async run(r) {
    const secure = r.need('client-initiated-secure');
    if (secure.result.outcome !== 'completed') return { run: undefined, opened: false };
    return runOver(r.cx, r.need('handshake').negotiated, secure, 'secure');
  },
  contribute: (e, out) => setRun(e, out.run),
  roundTrips: (out, opts) => runRoundTrips(out, opts),
};

export const insecureRunProbe: Probe<'renegotiation-run-insecure'> = {
  id: 'renegotiation-run-insecure',
  needs: ['handshake', 'client-initiated-secure', 'client-initiated-insecure'],
  informs: ['CVE-2011-1473', 'triple-handshake'],
  async run(r) {
    const secure = r.need('client-initiated-secure');
    const insecure = r.need('client-initiated-insecure');
    if (secure.result.outcome === 'completed' || insecure.result.outcome !== 'completed') {
      insecure.session?.close();
      return { run: undefined, opened: false };
    }
    return runOver(r.cx, r.need('handshake').negotiated, insecure, 'insecure');
  },
  contribute(e, out, r) {
    setRun(e, out.run);
    const secure = r.output('client-initiated-secure')?.result;
    const insecure = r.output('client-initiated-insecure')?.result;
    if (!secure || !insecure) return;
    if (secure.outcome !== 'completed' && insecure.outcome !== 'completed')
      refusedRun(e, secure.outcome !== 'not-tested' ? secure : insecure, r.cx.opts);
    e.certificateChange = certificateChange([secure, insecure, ...e.dos.attempts]);
  },
  roundTrips: (out, opts) => runRoundTrips(out, opts),
};

function runRoundTrips(out: RunProbe, opts: ScanOptions): number {
  if (!out.run) return 0;
  const renegotiations = Math.min(opts.maxRenegotiations, out.run.attempts.length) - (out.opened ? 0 : 1);
  return (out.opened ? CONNECT_ROUND_TRIPS : 0) + Math.max(0, renegotiations) * RENEGOTIATION_ROUND_TRIPS;
}

function setRun(e: Evidence, run: DosResult | undefined): void {
  if (!run) return;
  e.dos = run;
  if (run.accepted !== null) e.maxClientRenegotiations = run.accepted;
}

/** No client-initiated renegotiation completed: the run stopped at its first attempt (or could not start). */
function refusedRun(e: Evidence, r: ClientInitiatedResult, opts: ScanOptions): void {
  if (r.outcome === 'not-tested') {
    e.dos = emptyDos(opts.maxRenegotiations, r.reason);
    return;
  }
  e.dos = {
    ...emptyDos(opts.maxRenegotiations, `client-initiated renegotiation ${r.outcome}`),
    accepted: 0,
    limitMet: true,
    stoppedBy: r.outcome,
    attempts: [r],
  };
  e.maxClientRenegotiations = 0;
}

function certificateChange(attempts: ClientInitiatedResult[]): Tri {
  const completed = attempts.filter((a): a is RenegotiationAttempt => a.outcome === 'completed');
  if (completed.some((a) => a.certificateChanged)) return true;
  return completed.length > 0 ? false : null;
}
