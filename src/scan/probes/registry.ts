/**
 * The plans the scheduler walks: every probe of a plan, each after the probes
 * it needs. The order is also the order in which outputs go into the report.
 * Adding a check: one file with its Probe, and a line here.
 */
import { insecureClientInitiatedProbe, secureClientInitiatedProbe } from './client-initiated.ts';
import { enforcementProbe } from './enforcement.ts';
import type { AnyProbe } from './probe.ts';
import { insecureRunProbe, runProbe } from './renegotiation-run.ts';
import { requiredProbe, scsvProbe } from './rfc5746.ts';
import { serverInitiatedProbe } from './server-initiated.ts';
import { splitProbe } from './split.ts';
import { tls13Probe } from './tls13.ts';
import { handshakeProbe, versionsProbe } from './versions.ts';

/** Every check (the default). */
export const FULL_AUDIT: readonly AnyProbe[] = [
  handshakeProbe,
  tls13Probe,
  versionsProbe,
  scsvProbe,
  requiredProbe,
  secureClientInitiatedProbe,
  insecureClientInitiatedProbe,
  enforcementProbe,
  serverInitiatedProbe,
  splitProbe,
  runProbe,
  insecureRunProbe,
];

/**
 * `--quick`: the questions sslscan answers — RFC 5746 by extension and by SCSV,
 * secure and insecure client-initiated renegotiation (one each), TLS 1.3 only —
 * in the round trips of two handshakes and a renegotiation.
 */
export const QUICK: readonly AnyProbe[] = [
  handshakeProbe,
  tls13Probe,
  versionsProbe,
  scsvProbe,
  requiredProbe,
  secureClientInitiatedProbe,
  insecureClientInitiatedProbe,
];

export const PLANS = { full: FULL_AUDIT, quick: QUICK } as const;
export type PlanName = keyof typeof PLANS;
