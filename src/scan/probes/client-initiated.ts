/**
 * Checks 3 and 4: client-initiated renegotiation, secure (RFC 5746 in force on
 * both sides) and insecure (a 2009 client that signals nothing), each a real
 * renegotiation inside the session, classified as completed, refused with
 * no_renegotiation, refused with a fatal alert, closed, or ignored. On the
 * session that renegotiates, the run goes on (CVE-2011-1473): up to `max`
 * renegotiations in a row, each awaited, stopping at the first that does not
 * complete, so a rate limit (Node 3 per 10 minutes, F5 5–10) shows as the count
 * reached and the outcome that stopped it.
 */
import type { ProbeSession } from '../session.ts';
import type { ClientInitiatedResult, DosResult, RenegotiationAttempt, ScanOptions } from '../types.ts';

export interface ClientInitiatedProbe {
  result: ClientInitiatedResult;
  evidence: string[];
  ms: number;
}

export function notTested(reason: string): ClientInitiatedResult {
  return { outcome: 'not-tested', reason };
}

export async function probeClientInitiated(
  session: ProbeSession | undefined,
  kind: 'secure' | 'insecure',
  notTestedReason: string,
  opts: ScanOptions,
): Promise<ClientInitiatedProbe> {
  if (!session) return { result: notTested(notTestedReason), evidence: [], ms: 0 };
  const t0 = performance.now();
  const mark = session.transcript.lines.length;
  try {
    const first = await session.renegotiate(opts);
    const evidence = [
      `${kind} client-initiated renegotiation: ${describeAttempt(first)}`,
      ...session.transcript.lines.slice(mark, mark + 12),
    ];
    return { result: first, evidence, ms: Math.round(performance.now() - t0) };
  } finally {
    session.close();
  }
}

/**
 * The CVE-2011-1473 run, on a fresh session of the kind that renegotiated. It
 * runs after every other probe, alone: a server that serves one connection at a
 * time (openssl s_server) would otherwise keep the others in its backlog.
 */
export async function probeRenegotiationRun(
  session: ProbeSession,
  over: 'secure' | 'insecure',
  opts: ScanOptions,
): Promise<DosResult & { ms: number }> {
  const t0 = performance.now();
  const attempts: RenegotiationAttempt[] = [];
  try {
    do {
      attempts.push(await session.renegotiate(opts));
    } while (attempts.at(-1)!.outcome === 'completed' && attempts.length < opts.maxRenegotiations);
  } finally {
    session.close();
  }
  return { ...summariseRun(attempts, opts.maxRenegotiations, over), ms: Math.round(performance.now() - t0) };
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

export function describeAttempt(a: RenegotiationAttempt | ClientInitiatedResult): string {
  if (a.outcome === 'not-tested') return `not tested (${a.reason})`;
  const parts: string[] = [a.outcome];
  if (a.alert) parts.push(`alert ${a.alert}`);
  if (a.error && a.outcome !== 'completed') parts.push(a.error);
  if (a.serverHello && a.outcome !== 'completed') parts.push('after a ServerHello');
  if (a.nudged) parts.push('after a request was sent to make the server read');
  if (a.dataFlows !== undefined)
    parts.push(`application data ${a.dataFlows === null ? 'unknown' : a.dataFlows ? 'still flows' : 'stopped'}`);
  if (a.certificateChanged) parts.push('the server certificate changed');
  parts.push(`${a.ms} ms`);
  return parts.join(', ');
}
