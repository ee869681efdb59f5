/**
 * Every renegotiation decision of both sides, as pure functions over the policy and what the
 * connection knows (STYLE.md §10, like src/guard/policy.ts): the connections only apply the
 * answer. The RFC 5746 checks of the messages themselves stay beside the messages
 * (`checkRenegotiationInfo` in client.ts, `checkClientRenegotiationInfo` in server.ts).
 */
import type { ClientRenegotiationPolicy } from './client-config.ts';
import type { ServerRenegotiationPolicy } from './server-config.ts';

/** Why a renegotiation is refused; each reads as the end of "renegotiation refused: …". */
export type RenegotiationRefusal =
  /** Server `enabled: false` (SChannel DisableRenegoOnServer); client `accept: 'never'` (DisableRenegoOnClient). */
  | 'disabled'
  /** Server `allowClientInitiated: false`: OpenSSL 3's default, JSSE's rejectClientInitiatedRenegotiation. */
  | 'client-initiated-not-allowed'
  /** Client `accept: 'once'` after one renegotiation (Go's RenegotiateOnceAsClient). */
  | 'already-renegotiated'
  /** RFC 5746 §4.2 (client), §4.4 (server): the peer never signalled RFC 5746, and unsafe legacy renegotiation is off. */
  | 'legacy-peer';

export type RenegotiationDecision =
  { readonly allow: true } | { readonly allow: false; readonly refusal: RenegotiationRefusal };

const ALLOW: RenegotiationDecision = { allow: true };

function refuse(refusal: RenegotiationRefusal): RenegotiationDecision {
  return { allow: false, refusal };
}

export const REFUSAL_TEXT: Readonly<Record<RenegotiationRefusal, string>> = {
  disabled: 'renegotiation is disabled here',
  'client-initiated-not-allowed': 'client-initiated renegotiation is not allowed',
  'already-renegotiated': 'renegotiation already happened once',
  'legacy-peer': 'the peer does not support RFC 5746 secure renegotiation',
};

/** What the server knows when it decides. */
export interface ServerSituation {
  /** The ClientHello answers our HelloRequest (server-initiated), or we are about to send one. */
  readonly serverInitiated: boolean;
  /** Both sides signalled RFC 5746 in the handshake in force. */
  readonly secure: boolean;
}

/** The server: a ClientHello after the handshake, or our own HelloRequest. */
export function serverDecision(policy: ServerRenegotiationPolicy, s: ServerSituation): RenegotiationDecision {
  if (!policy.enabled) return refuse('disabled');
  if (!s.serverInitiated && !policy.allowClientInitiated) return refuse('client-initiated-not-allowed');
  // A 2009 server (rfc5746: false) knows no better and renegotiates with anyone (DANGER).
  if (policy.rfc5746 && !s.secure && !policy.allowUnsafeLegacy) return refuse('legacy-peer');
  return ALLOW;
}

/** What the client knows when it decides. */
export interface ClientSituation {
  /** The server signalled RFC 5746 in the handshake in force. */
  readonly secure: boolean;
  /** Renegotiations the server asked for and we accepted so far. */
  readonly accepted: number;
}

/** The client: the server's HelloRequest. */
export function clientAnswer(policy: ClientRenegotiationPolicy, s: ClientSituation): RenegotiationDecision {
  if (policy.accept === 'never') return refuse('disabled');
  if (policy.accept === 'once' && s.accepted >= 1) return refuse('already-renegotiated');
  return clientMayRenegotiate(policy, s.secure);
}

/** The client: a renegotiation of our own (RFC 5746 §4.2). */
export function clientMayRenegotiate(policy: ClientRenegotiationPolicy, secure: boolean): RenegotiationDecision {
  return !secure && !policy.allowUnsafeLegacyRenegotiation ? refuse('legacy-peer') : ALLOW;
}

/**
 * How a refusal goes out: a no_renegotiation warning, which RFC 5246 §7.2.2 says "is always a
 * warning", then the peer may go on; `fatal` ends the connection with handshake_failure (JSSE);
 * `ignore` sends nothing (some servers drop the ClientHello). A peer that keeps asking after
 * `maxRefusals` refusals is closed with a fatal alert (rustls closes at the second).
 */
export type RefusalAnswer = 'warning' | 'ignore' | 'fatal' | 'too-many';

export function refusalAnswer(
  refuseWith: 'warning' | 'fatal' | 'ignore',
  refusalsSoFar: number,
  maxRefusals: number,
): RefusalAnswer {
  if (refuseWith === 'fatal') return 'fatal';
  if (refusalsSoFar >= maxRefusals) return 'too-many';
  return refuseWith;
}
