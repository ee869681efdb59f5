/**
 * Outcome classification: what the adapter saw of a renegotiation, in the
 * report's closed vocabulary (completed, refused-alert, refused-fatal, closed,
 * ignored), with the alert that decided it.
 */
import type { RenegotiationResult } from '../adapter/engine-socket.ts';
import type { RenegotiationAttempt } from './types.ts';

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
