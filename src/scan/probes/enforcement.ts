/**
 * Check 3, second half: is RFC 5746 enforced, not only advertised? On a session
 * where both hellos signalled it, renegotiate with a renegotiated_connection
 * that is wrong, empty, absent, or replaced by the SCSV (§3.7: the server MUST
 * abort each). A server that answers with a ServerHello carried on: an attacker
 * splicing a victim's handshake into his session would pass, whatever the
 * server's ServerHello advertised.
 */
import * as crypto from 'node:crypto';
import type { RenegotiateOptions } from '../../adapter/tls-socket.ts';
import { hex } from '../evidence.ts';
import type { ClientInitiatedResult, RenegotiationOutcome, SecureRenegotiationResult, Tri } from '../types.ts';
import { describeAttempt } from './client-initiated.ts';
import { open, type Negotiated, type ProbeContext } from './context.ts';
import { CONNECT_ROUND_TRIPS, type Probe } from './probe.ts';

type RiChoice = NonNullable<RenegotiateOptions['renegotiationInfo']>;

/** The renegotiation_info values RFC 5746 §3.7 says a server MUST abort on, each with how the evidence names it. */
export function misbehaviours(): { sent: string; ri: RiChoice }[] {
  const wrong = new Uint8Array(crypto.randomBytes(12));
  return [
    {
      sent: `renegotiated_connection = 12 random bytes [${hex(wrong)}] instead of our client_verify_data`,
      ri: { kind: 'value', value: wrong },
    },
    { sent: 'renegotiated_connection empty (as in an initial handshake)', ri: { kind: 'empty' } },
    { sent: 'no renegotiation_info extension', ri: { kind: 'omit' } },
    {
      sent: 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV alone (§3.5: MUST NOT appear in a renegotiation)',
      ri: { kind: 'scsv-only' },
    },
  ];
}

export interface EnforcementProbe {
  enforcement: SecureRenegotiationResult['enforcement'];
  evidence: string[];
  ms: number;
}

/** The server carried on with a misbehaving renegotiation: it sent a ServerHello, or the renegotiation completed. */
function carriedOn(r: ClientInitiatedResult): boolean {
  return r.outcome === 'completed' || (r.outcome !== 'not-tested' && r.serverHello === true);
}

function refused(r: ClientInitiatedResult): boolean {
  return r.outcome === 'refused-alert' || r.outcome === 'refused-fatal' || r.outcome === 'closed';
}

export async function probeEnforcement(cx: ProbeContext, n: Negotiated): Promise<EnforcementProbe> {
  const t0 = performance.now();
  const enforcement = await Promise.all(
    misbehaviours().map(async ({ sent, ri }) => {
      const r = await open(cx, n, 'extension');
      if (!r.ok)
        return {
          sent,
          result: { outcome: 'not-tested', reason: `handshake failed: ${r.failure.error}` } as ClientInitiatedResult,
        };
      try {
        if (!r.session.summary.secureRenegotiation) {
          return {
            sent,
            result: {
              outcome: 'not-tested',
              reason: 'the server did not signal RFC 5746 on this session',
            } as ClientInitiatedResult,
          };
        }
        return { sent, result: (await r.session.renegotiate(cx.opts, ri)) as ClientInitiatedResult };
      } finally {
        r.session.close();
      }
    }),
  );
  const evidence = enforcement.map((e) => `sent ${e.sent}: ${describeAttempt(e.result)}`);
  return { enforcement, evidence, ms: Math.round(performance.now() - t0) };
}

/**
 * Enforcement is only visible where a correct renegotiation would have been
 * accepted, or where the server answers the misbehaving ones differently from a
 * correct one it refuses (it checked RFC 5746 before its policy).
 */
export function judgeEnforcement(
  p: EnforcementProbe,
  secureOutcome: RenegotiationOutcome,
): { enforced: Tri; reason?: string } {
  const results = p.enforcement.map((e) => e.result);
  if (results.some(carriedOn)) return { enforced: false };
  if (results.some((r) => r.outcome === 'not-tested' || r.outcome === 'ignored')) {
    return { enforced: null, reason: 'some misbehaving renegotiations could not be sent or got no answer' };
  }
  if (secureOutcome === 'completed')
    return results.every(refused) ? { enforced: true } : { enforced: null, reason: 'unclear answers' };
  if (secureOutcome === 'refused-alert' && results.every((r) => r.outcome === 'refused-fatal')) {
    return {
      enforced: true,
      reason:
        'a correct renegotiation gets a no_renegotiation warning, each misbehaving one a fatal alert: RFC 5746 is checked first',
    };
  }
  if (secureOutcome === 'not-tested') return { enforced: null, reason: 'no secure renegotiation to compare with' };
  return {
    enforced: null,
    reason: `the server refuses client-initiated renegotiation (${secureOutcome}) the same way whatever renegotiation_info says`,
  };
}

declare module './probe.ts' {
  interface ProbeOutputs {
    /** `advertised` false: the server does not signal RFC 5746, nothing was sent. */
    'rfc5746-enforced': EnforcementProbe & { advertised: boolean };
  }
}

export const enforcementProbe: Probe<'rfc5746-enforced'> = {
  id: 'rfc5746-enforced',
  needs: ['handshake'],
  informs: ['CVE-2009-3555'],
  async run(r) {
    const h = r.need('handshake');
    if (!h.info.secureRenegotiation) return { enforcement: [], evidence: [], ms: 0, advertised: false };
    return { ...(await probeEnforcement(r.cx, h.negotiated)), advertised: true };
  },
  contribute(e, out, r) {
    const sr = e.secureRenegotiation;
    if (!out.advertised) {
      sr.enforced = null;
      sr.reasons.enforced = 'the server does not advertise RFC 5746, so there is nothing to enforce';
      return;
    }
    sr.enforcement = out.enforcement;
    sr.evidence.push(...out.evidence);
    const j = judgeEnforcement(out, r.output('client-initiated-secure')?.result.outcome ?? 'not-tested');
    sr.enforced = j.enforced;
    if (j.reason) sr.reasons.enforced = j.reason;
  },
  // A new session, then a ClientHello answered by an alert or a ServerHello.
  roundTrips: (out) => (out.advertised ? CONNECT_ROUND_TRIPS + 1 : 0),
};
