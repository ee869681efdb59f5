/**
 * Outcome classification in the report's closed vocabularies: what the adapter
 * saw of a renegotiation (completed, refused-alert, refused-fatal, closed,
 * ignored, with the alert that decided it), and how far a connection whose
 * handshake failed got towards a TLS server (its Reachability).
 */
import type { RenegotiationResult } from '../adapter/engine-socket.ts';
import { ContentType } from '../wire/enums.ts';
import { REACHABILITIES, type Reachability, type RenegotiationAttempt } from './types.ts';

/** What a connection that failed its handshake received, for handshakeReach. */
export interface HandshakeHeard {
  /** The first bytes from the server after the ClientHello went out (undefined: none came). */
  first: Uint8Array | undefined;
  /** A TLS handshake message or alert was decoded. */
  tls: boolean;
  /** Nothing came back within the timeout (or while other connections were served first). */
  timedOut: boolean;
  /** The connection ended with a reset (RST), not a close. */
  reset: boolean;
}

/**
 * Bytes that begin a TLS record a server sends first: a handshake or alert
 * record of a 3.x version (RFC 5246 §6.2.1, ContentType and ProtocolVersion).
 * A ServerHello the engine then cannot finish still shows a TLS server.
 */
function startsTlsRecord(b: Uint8Array): boolean {
  return b.length >= 2 && (b[0] === ContentType.handshake || b[0] === ContentType.alert) && b[1] === 3;
}

/** Of several connections to one target, the one that got furthest says how reachable it is. */
export function furthestReach(reaches: Iterable<Reachability>): Reachability {
  let best: Reachability = 'unfinished';
  for (const r of reaches) if (REACHABILITIES.indexOf(r) > REACHABILITIES.indexOf(best)) best = r;
  return best;
}

export function handshakeReach(h: HandshakeHeard): Reachability {
  if (h.tls || (h.first !== undefined && startsTlsRecord(h.first))) return 'reachable';
  if (h.first !== undefined) return 'not-tls';
  if (h.timedOut) return 'silent';
  // A reset without a byte, as at connect (where a reset can only follow the SYN-ACK): which of the
  // two a server's reset-on-accept lands on is a race, so both say `reset`.
  return h.reset ? 'reset' : 'closed';
}

/** The adapter's outcome of a renegotiation in the scanner's words: a warning no_renegotiation is 'refused-alert', a fatal alert 'refused-fatal'. */
export function classifyRenegotiation(
  r: RenegotiationResult,
  ms: number,
  lastAlert: string | undefined,
): RenegotiationAttempt {
  switch (r.outcome) {
    case 'completed':
      return { outcome: 'completed', ms };
    case 'refused-alert':
      return { outcome: 'refused-alert', alert: `warning ${r.alert ?? 'no_renegotiation'}`, ms };
    case 'timeout':
      return { outcome: 'ignored', ms };
    case 'refused-locally':
      // Our engine would not start it: the connection had already failed or was mid-handshake.
      return { outcome: 'closed', error: `not sent: ${r.error ?? 'connection not usable'}`, ms };
    case 'refused-fatal':
      return {
        outcome: 'refused-fatal',
        alert: `fatal ${r.alert ?? 'unknown'}`,
        ...(r.error ? { error: r.error } : {}),
        ms,
      };
    case 'closed': {
      const a: RenegotiationAttempt = { outcome: 'closed', ms };
      if (r.error) a.error = r.error;
      if (lastAlert && lastAlert !== 'warning close_notify') a.alert = lastAlert;
      return a;
    }
  }
}
