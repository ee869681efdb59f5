/**
 * The renegotiation policy of one listener, decided in one function beside the rules it applies
 * (STYLE.md §10). docs/guard.md maps each mode to the Windows switches of advisory 977377 and
 * KB980436 and to the other stacks' knobs.
 */
import type { BlockReason, Decision, Initiator, Judge, Question, RenegotiationBlockReason } from './events.ts';
import type { RateLimit, RenegotiationRateLimiter } from '../handshake/rate-limit.ts';

export const POLICY_MODES = [
  'allow',
  'deny',
  'deny-client-initiated',
  'deny-server-initiated',
  'secure-only',
  'require-rfc5746',
] as const;

/**
 * - allow: observe and log only.
 * - deny: no renegotiation in either direction (DisableRenegoOnServer + DisableRenegoOnClient).
 * - deny-client-initiated: refuse ClientHellos the client sends unprompted (CVE-2011-1473, OpenSSL 3 default).
 * - deny-server-initiated: refuse HelloRequests (Go and BoringSSL clients' default).
 * - secure-only: renegotiation passes only when both initial hellos signalled RFC 5746, so the
 *   endpoints themselves bind it to the previous handshake (RFC 5746 §4.4, CVE-2009-3555).
 * - require-rfc5746: close connections whose initial ClientHello or ServerHello lacks RFC 5746
 *   signalling (KB980436 strict mode); renegotiation otherwise passes.
 */
export type PolicyMode = (typeof POLICY_MODES)[number];

export interface GuardPolicy {
  readonly mode: PolicyMode;
  /** Renegotiations let through per connection; 0: no limit. */
  readonly maxRenegotiationsPerConnection: number;
  /** Renegotiations let through per client address per window (CVE-2011-1473); undefined: no limit. */
  readonly perClientLimit: RateLimit | undefined;
  /** Pass non-TLS traffic through uninspected instead of closing it. */
  readonly allowNonTls: boolean;
}

const ALLOW: Decision = { allow: true };

function deny(reason: BlockReason): Decision {
  return { allow: false, reason };
}

/** RFC 7540 §9.2.1 / RFC 9113 §9.2.1: "A deployment of HTTP/2 over TLS 1.2 MUST disable renegotiation". */
const HTTP2 = 'h2';

/** The rule for one initiator; the per-connection limit and h2 are checked by the caller. */
function initiatorRule(mode: PolicyMode, initiator: Initiator): RenegotiationBlockReason | undefined {
  switch (mode) {
    case 'allow':
    case 'require-rfc5746':
    case 'secure-only':
      return undefined;
    case 'deny':
      return initiator === 'client' ? 'client-initiated-renegotiation-denied' : 'server-initiated-renegotiation-denied';
    case 'deny-client-initiated':
      return initiator === 'client' ? 'client-initiated-renegotiation-denied' : undefined;
    case 'deny-server-initiated':
      return initiator === 'server' ? 'server-initiated-renegotiation-denied' : undefined;
  }
}

function renegotiationRule(
  policy: GuardPolicy,
  q: Question & { kind: 'renegotiation' },
): RenegotiationBlockReason | undefined {
  // Whatever the mode: HTTP/2 treats a renegotiation as a connection error, so it is never useful.
  if (q.server?.alpn === HTTP2) return 'h2-renegotiation';
  // RFC 5746 §4.4: with a legacy peer on either side nothing binds the renegotiation to the
  // handshake before it, which is CVE-2009-3555's prefix injection.
  if (
    policy.mode === 'secure-only' &&
    (q.client === undefined || q.client.rfc5746 === 'none' || q.server?.rfc5746 !== true)
  ) {
    return 'insecure-renegotiation-denied';
  }
  const own = initiatorRule(policy.mode, q.initiator);
  // The record may answer a message hidden in the other side's Finished, so either side may have
  // started it: fail closed when the policy forbids either, without blaming one.
  if (q.evidence === 'after-finished-room' && (own !== undefined || initiatorRule(policy.mode, other(q.initiator)))) {
    return 'ambiguous-renegotiation-denied';
  }
  if (own !== undefined) return own;
  const max = policy.maxRenegotiationsPerConnection;
  if (max > 0 && q.previous >= max) return 'connection-renegotiation-limit';
  return undefined;
}

function other(side: Initiator): Initiator {
  return side === 'client' ? 'server' : 'client';
}

/** The static rules: everything but the per-client rate limit, which needs shared state. */
export function decide(policy: GuardPolicy, q: Question): Decision {
  switch (q.kind) {
    case 'non-tls':
      return policy.allowNonTls ? ALLOW : deny('non-tls');
    case 'client-hello':
      // A TLS 1.3-only hello cannot lead to renegotiation, so it needs no RFC 5746 signal.
      if (policy.mode === 'require-rfc5746' && q.hello.rfc5746 === 'none' && q.hello.offersLegacyVersions) {
        return deny('legacy-peer-rfc5746-required');
      }
      return ALLOW;
    case 'server-hello':
      // TLS 1.3 ServerHellos never carry renegotiation_info (RFC 8446 §4.2 lists what they may).
      if (policy.mode === 'require-rfc5746' && !q.hello.rfc5746 && !q.hello.tls13) {
        return deny('legacy-peer-rfc5746-required');
      }
      return ALLOW;
    case 'renegotiation': {
      const reason = renegotiationRule(policy, q);
      return reason === undefined ? ALLOW : deny(reason);
    }
  }
}

/**
 * The judge of one connection: the static rules, then the per-client rate limit, which counts
 * only renegotiations the rules let through and the guard counts (a Finished that merely has
 * room for a hidden message is not counted: the other side's answer will be).
 */
export function judgeFor(
  policy: GuardPolicy,
  limiter: RenegotiationRateLimiter | undefined,
  clientAddress: string,
): Judge {
  return (q) => {
    const decision = decide(policy, q);
    if (!decision.allow || q.kind !== 'renegotiation' || q.evidence === 'finished-room' || limiter === undefined) {
      return decision;
    }
    return limiter.take(clientAddress) ? decision : deny('rate-limit');
  };
}
