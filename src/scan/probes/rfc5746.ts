/**
 * Check 2: RFC 5746 in the initial handshake. The extension case comes from the
 * baseline handshake; here the SCSV alone (§3.3: it stands for the empty
 * extension) and a client that signals nothing at all: a server that refuses
 * that handshake requires secure renegotiation (SSL Labs' bit 3, KB980436 strict
 * mode, GnuTLS %SAFE_RENEGOTIATION). The legacy session, when it opens, is
 * handed on to the insecure client-initiated check.
 */
import { riEvidence } from '../evidence.ts';
import type { ProbeSession } from '../probe-session.ts';
import type { Tri } from '../types.ts';
import { FirstTryGuess, open, openFlight, type Negotiated, type ProbeContext } from './context.ts';
import { CONNECT_ROUND_TRIPS, FIRST_FLIGHT_ROUND_TRIPS, type Probe } from './probe.ts';

export interface ScsvProbe {
  scsv: Tri;
  reason?: string;
  evidence: string[];
  ms: number;
  /** Made with the plan's start, on FIRST_TRY (FirstTryGuess). */
  early?: boolean;
}

/** Its answer is in the ServerHello, so the server's first flight is all it reads (openFlight). */
export async function probeScsv(cx: ProbeContext, n: Negotiated): Promise<ScsvProbe> {
  const r = await openFlight(cx, n, 'scsv');
  if (!r.ok) {
    const f = r.failure;
    return {
      scsv: null,
      reason: `the handshake with the SCSV alone failed: ${f.error}${f.alert ? ` (${f.alert})` : ''}`,
      evidence: f.transcript,
      ms: f.ms,
    };
  }
  const { serverHello, secureRenegotiation, ms } = r.flight;
  return {
    scsv: secureRenegotiation,
    evidence: [`client sent ${riEvidence(null, true)}`, `server answered ${riEvidence(serverHello.extensions, false)}`],
    ms,
  };
}

export interface LegacyProbe {
  /** The server refused the initial handshake of a client that signals nothing. */
  required: Tri;
  reason?: string;
  /** Open when the handshake worked: a 2009 client's session. */
  session: ProbeSession | undefined;
  evidence: string[];
  ms: number;
  /** Made with the plan's start, on FIRST_TRY (FirstTryGuess). */
  early?: boolean;
}

export async function probeLegacyClient(cx: ProbeContext, n: Negotiated): Promise<LegacyProbe> {
  const r = await open(cx, n, 'none', {}, 'chain');
  if (r.ok) {
    return {
      required: false,
      session: r.session,
      evidence: [
        `a client with no renegotiation_info and no SCSV completed the handshake (${r.session.version}, ${r.session.cipher})`,
      ],
      ms: r.session.handshakeMs,
    };
  }
  const f = r.failure;
  if (f.transport) {
    return { required: null, reason: `could not connect: ${f.error}`, session: undefined, evidence: [], ms: f.ms };
  }
  if (f.kind === 'Timeout') {
    return {
      required: null,
      reason: `no answer to a legacy ClientHello: ${f.error}`,
      session: undefined,
      evidence: f.transcript,
      ms: f.ms,
    };
  }
  // The same hello with the extension worked (the baseline): refusing this one is the server's policy.
  return {
    required: true,
    session: undefined,
    evidence: [`a ClientHello without renegotiation_info or SCSV was refused: ${f.alert ?? f.error}`, ...f.transcript],
    ms: f.ms,
  };
}

declare module './probe.ts' {
  interface ProbeOutputs {
    'rfc5746-scsv': ScsvProbe;
    'rfc5746-required': LegacyProbe;
  }
}

/**
 * Both need the baseline's settings, so that a difference can only come from
 * how the hello signals RFC 5746; those are almost always the first try's, so
 * in --quick, where these chains are the longest, each connects with the plan
 * on that guess, taking the handshake's time off its chain, and connects again
 * when the guess was wrong.
 */
const scsvGuess = new FirstTryGuess(probeScsv);
const legacyGuess = new FirstTryGuess(probeLegacyClient);

export const scsvProbe: Probe<'rfc5746-scsv'> = {
  id: 'rfc5746-scsv',
  needs: ['handshake'],
  informs: [],
  run: (r) => scsvGuess.take(r.cx, r.need('handshake').negotiated),
  contribute(e, out) {
    const sr = e.secureRenegotiation;
    sr.scsv = out.scsv;
    if (out.reason) sr.reasons.scsv = out.reason;
    sr.evidence.push(...out.evidence);
  },
  roundTrips: () => FIRST_FLIGHT_ROUND_TRIPS,
  early: { start: (r) => scsvGuess.start(r), used: (out) => out.early === true },
};

/** The legacy client's handshake; its session, when it opens, is the insecure client-initiated check's. */
export const requiredProbe: Probe<'rfc5746-required'> = {
  id: 'rfc5746-required',
  needs: ['handshake'],
  informs: ['CVE-2009-3555'],
  async run(r) {
    const l = await legacyGuess.take(r.cx, r.need('handshake').negotiated);
    if (!r.planned('client-initiated-insecure')) l.session?.close();
    return l;
  },
  contribute(e, out) {
    const sr = e.secureRenegotiation;
    sr.required = out.required;
    if (out.reason) sr.reasons.required = out.reason;
    sr.evidence.push(...out.evidence.slice(0, 3));
  },
  roundTrips: () => CONNECT_ROUND_TRIPS,
  early: { start: (r) => legacyGuess.start(r), used: (out) => out.early === true },
};
