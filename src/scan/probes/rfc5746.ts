/**
 * Check 2: RFC 5746 in the initial handshake. The extension case comes from the
 * baseline handshake; here the SCSV alone (§3.3: it stands for the empty
 * extension) and a client that signals nothing at all: a server that refuses
 * that handshake requires secure renegotiation (SSL Labs' bit 3, KB980436 strict
 * mode, GnuTLS %SAFE_RENEGOTIATION). The legacy session, when it opens, is
 * handed on to the insecure client-initiated check.
 */
import { riEvidence } from '../evidence.ts';
import type { ProbeSession } from '../session.ts';
import type { Tri } from '../types.ts';
import { open, type Negotiated, type ProbeContext } from './context.ts';

export interface ScsvProbe {
  scsv: Tri;
  reason?: string;
  evidence: string[];
  ms: number;
}

export async function probeScsv(cx: ProbeContext, n: Negotiated): Promise<ScsvProbe> {
  const r = await open(cx, n, 'scsv');
  if (!r.ok) {
    const f = r.failure;
    return {
      scsv: null,
      reason: `the handshake with the SCSV alone failed: ${f.error}${f.alert ? ` (${f.alert})` : ''}`,
      evidence: f.transcript,
      ms: f.ms,
    };
  }
  const session = r.session;
  session.close();
  const sh = session.transcript.serverHello;
  return {
    scsv: session.summary.secureRenegotiation,
    evidence: [
      `client sent ${riEvidence(null, true)}`,
      `server answered ${sh ? riEvidence(sh.extensions, false) : 'nothing'}`,
    ],
    ms: session.handshakeMs,
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
}

export async function probeLegacyClient(cx: ProbeContext, n: Negotiated): Promise<LegacyProbe> {
  const r = await open(cx, n, 'none');
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
