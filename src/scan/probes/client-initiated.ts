/**
 * Checks 3 and 4: client-initiated renegotiation, secure (RFC 5746 in force on
 * both sides) and insecure (a 2009 client that signals nothing), each a real
 * renegotiation inside the session, classified as completed, refused with
 * no_renegotiation, refused with a fatal alert, closed, or ignored. A session
 * whose renegotiation completed stays open for the CVE-2011-1473 run
 * (renegotiation-run.ts), which goes on renegotiating on it.
 */
import type { ProbeSession } from '../probe-session.ts';
import type { ClientInitiatedResult, RenegotiationAttempt, ScanOptions } from '../types.ts';
import { open } from './context.ts';
import { RENEGOTIATION_ROUND_TRIPS, CONNECT_ROUND_TRIPS, type Probe } from './probe.ts';

export interface ClientInitiatedProbe {
  result: ClientInitiatedResult;
  evidence: string[];
  ms: number;
  /** Open when the renegotiation completed and the run will go on with it. */
  session: ProbeSession | undefined;
  /** The session was opened for this check (not reused from the baseline handshake). */
  opened: boolean;
}

declare module './probe.ts' {
  interface ProbeOutputs {
    'client-initiated-secure': ClientInitiatedProbe;
    'client-initiated-insecure': ClientInitiatedProbe;
  }
}

export function notTested(reason: string): ClientInitiatedResult {
  return { outcome: 'not-tested', reason };
}

export async function probeClientInitiated(
  session: ProbeSession | undefined,
  kind: 'secure' | 'insecure',
  notTestedReason: string,
  opts: ScanOptions,
  keep = false,
): Promise<ClientInitiatedProbe> {
  if (!session) return { result: notTested(notTestedReason), evidence: [], ms: 0, session: undefined, opened: false };
  const t0 = performance.now();
  const mark = session.log.lines.length;
  let kept = false;
  try {
    const first = await session.renegotiate(opts);
    const evidence = [
      `${kind} client-initiated renegotiation: ${describeAttempt(first)}`,
      ...session.log.lines.slice(mark, mark + 12),
    ];
    kept = keep && first.outcome === 'completed' && !session.closed;
    return {
      result: first,
      evidence,
      ms: Math.round(performance.now() - t0),
      session: kept ? session : undefined,
      opened: true,
    };
  } finally {
    if (!kept) session.close();
  }
}

export const secureClientInitiatedProbe: Probe<'client-initiated-secure'> = {
  id: 'client-initiated-secure',
  needs: ['handshake'],
  informs: ['CVE-2011-1473', 'triple-handshake', 'no-renegotiation'],
  async run(r) {
    const h = r.need('handshake');
    const keep = r.planned('renegotiation-run');
    if (!h.info.secureRenegotiation)
      return probeClientInitiated(
        undefined,
        'secure',
        'the server does not support RFC 5746, so no secure renegotiation exists',
        r.cx.opts,
      );
    // The baseline's own session when it is still open: one handshake fewer.
    if (h.session && !h.session.closed) {
      const p = await probeClientInitiated(h.session, 'secure', '', r.cx.opts, keep);
      return { ...p, opened: false };
    }
    h.session?.close();
    const o = await open(r.cx, h.negotiated, 'extension', {}, 'chain');
    return probeClientInitiated(
      o.ok ? o.session : undefined,
      'secure',
      o.ok ? '' : `handshake failed: ${o.failure.error}`,
      r.cx.opts,
      keep,
    );
  },
  contribute(e, out) {
    e.clientInitiated.secure = out.result.outcome;
    e.clientInitiated.details.secure = out.result;
  },
  roundTrips: (out) =>
    out.result.outcome === 'not-tested' ? 0 : (out.opened ? CONNECT_ROUND_TRIPS : 0) + RENEGOTIATION_ROUND_TRIPS,
};

export const insecureClientInitiatedProbe: Probe<'client-initiated-insecure'> = {
  id: 'client-initiated-insecure',
  needs: ['rfc5746-required'],
  informs: ['CVE-2009-3555', 'CVE-2011-1473', 'triple-handshake', 'no-renegotiation'],
  run(r) {
    const l = r.need('rfc5746-required');
    return probeClientInitiated(
      l.session,
      'insecure',
      l.required === true
        ? 'the server refuses clients without RFC 5746 at the initial handshake'
        : (l.reason ?? 'a legacy client could not connect'),
      r.cx.opts,
      r.planned('renegotiation-run-insecure'),
    );
  },
  contribute(e, out) {
    e.clientInitiated.insecure = out.result.outcome;
    e.clientInitiated.details.insecure = out.result;
  },
  roundTrips: (out) => (out.result.outcome === 'not-tested' ? 0 : RENEGOTIATION_ROUND_TRIPS),
};

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
