/**
 * What must hold of every evasion session, checked on what the recipients decrypted:
 * - a policy forbidding client-initiated renegotiation: no unprompted ClientHello reaches the server;
 * - a policy forbidding server-initiated renegotiation: no ClientHello answering a HelloRequest
 *   (visible or hidden) reaches the server, and no visible HelloRequest reaches the client;
 * - a session that does only what the policy allows, laid out benignly, completes with every byte
 *   of application data delivered; a block that carries `evidence` (the watch failing closed on
 *   a record's length) is counted instead, and never happens on an AEAD suite with the engines'
 *   own layout;
 * - every block names the side whose record it held back, and a hidden message is never blamed
 *   on the other side.
 */
import type { Initiator } from '../../../src/guard/events.ts';
import { policyAllows, refusedAtHello, type Plan } from './plan.ts';
import { splitsFinished } from './layout.ts';
import type { EvidenceBlock, Outcome } from './session.ts';

export type Rule =
  | 'unprompted-client-hello-reached-server'
  | 'answer-to-hello-request-reached-server'
  | 'hello-request-reached-client'
  | 'benign-session-blocked'
  | 'benign-session-incomplete'
  | 'fail-closed-on-aead-minimal-layout'
  | 'legacy-hello-not-refused'
  | 'block-names-wrong-side'
  | 'hidden-message-blamed-on-wrong-side';

export interface Violation {
  readonly rule: Rule;
  readonly detail: string;
}

/** The policy forbids renegotiations started by `initiator` on this connection. */
export function forbids(plan: Plan, initiator: Initiator): boolean {
  if (plan.mode === 'require-rfc5746') return false;
  return !policyAllows(plan, initiator);
}

/** Sessions the test expects to complete: no hidden message, every renegotiation allowed. */
export function isBenignAllowed(plan: Plan): boolean {
  if (plan.hostile !== undefined || refusedAtHello(plan)) return false;
  return plan.steps.every((s) => s.kind !== 'renegotiate' || policyAllows(plan, s.initiator));
}

/** AEAD suite and the engines' own record layout: the watch knows every Finished record's length exactly. */
/** The watch held a record back because it could not rule out a hidden message (fail closed). */
export function failsClosed(block: EvidenceBlock): boolean {
  return block.evidence === 'finished-room' || block.evidence === 'after-finished-room';
}

export function isAeadMinimal(plan: Plan): boolean {
  return plan.suite.bulk.kind === 'aead' && plan.sender.fragment === 0;
}

export function check(o: Outcome): Violation[] {
  return [...security(o), ...completion(o), ...blame(o)];
}

function security(o: Outcome): Violation[] {
  const out: Violation[] = [];
  const { plan } = o;
  // The k-th ClientHello the server decrypted is the k-th the client sent: the relay keeps order.
  o.clientHellosReceived.forEach((raw, i) => {
    const sent = o.clientHellosSent[i];
    if (sent === undefined || !sameBytes(sent.raw, raw)) {
      throw new Error(`seed ${plan.seed}: ClientHello ${i} received is not the one sent (harness bug)`);
    }
    const how = sent.hidden ? 'hidden in the client Finished record' : 'in records of its own';
    if (sent.why === 'unprompted' && forbids(plan, 'client')) {
      out.push({ rule: 'unprompted-client-hello-reached-server', detail: `renegotiation ClientHello ${i} ${how}` });
    }
    if (sent.why === 'answer' && forbids(plan, 'server')) {
      const request = o.helloRequestsSent.find((r) => r.hidden) ? 'a hidden' : 'a visible';
      out.push({
        rule: 'answer-to-hello-request-reached-server',
        detail: `ClientHello ${i} answering ${request} HelloRequest`,
      });
    }
  });
  o.helloRequestsReceived.forEach((_, i) => {
    const sent = o.helloRequestsSent[i];
    if (sent === undefined) throw new Error(`seed ${plan.seed}: HelloRequest ${i} received was never sent`);
    if (!sent.hidden && forbids(plan, 'server')) {
      out.push({ rule: 'hello-request-reached-client', detail: `HelloRequest ${i} in a record of its own` });
    }
  });
  return out;
}

function completion(o: Outcome): Violation[] {
  const { plan, block } = o;
  if (refusedAtHello(plan) && plan.hostile === undefined) {
    const refused = block?.reason === 'legacy-peer-rfc5746-required' && o.handshakesCompleted.client === 0;
    return refused ? [] : [{ rule: 'legacy-hello-not-refused', detail: `block ${JSON.stringify(block)}` }];
  }
  if (!isBenignAllowed(plan)) return [];
  if (block !== undefined) {
    // The rest of a Finished its sender split is read as a new message (docs/guard.md): the sender's loss.
    if (splitsFinished(plan, block.side)) return [];
    if (!failsClosed(block)) return [{ rule: 'benign-session-blocked', detail: `block ${JSON.stringify(block)}` }];
    // An AEAD suite is exact while the clear ServerHello's suite is in force; after a renegotiation
    // the suite is unknown and only the bound applies (docs/guard.md, "Hidden messages").
    const renegotiated = o.guardEvents.some((e) => e.type === 'renegotiation-complete');
    if (isAeadMinimal(plan) && !renegotiated) {
      return [{ rule: 'fail-closed-on-aead-minimal-layout', detail: JSON.stringify(block) }];
    }
    return [];
  }
  const problems: string[] = [];
  if (o.errors.client !== undefined) problems.push(`client failed: ${o.errors.client}`);
  if (o.errors.server !== undefined) problems.push(`server failed: ${o.errors.server}`);
  for (const side of ['client', 'server'] as const) {
    if (!sameBytes(o.dataSent[side], o.dataReceived[side])) {
      problems.push(`${side} sent ${o.dataSent[side].length} bytes, ${o.dataReceived[side].length} arrived intact`);
    }
  }
  const expected = 1 + o.renegotiationsStarted;
  for (const side of ['client', 'server'] as const) {
    if (o.handshakesCompleted[side] !== expected) {
      problems.push(`${side} completed ${o.handshakesCompleted[side]} handshakes, expected ${expected}`);
    }
  }
  return problems.map((detail) => ({ rule: 'benign-session-incomplete' as const, detail }));
}

function blame(o: Outcome): Violation[] {
  const { block, plan } = o;
  if (block === undefined) return [];
  const out: Violation[] = [];
  if (block.side !== o.blockedWhileReading) {
    out.push({
      rule: 'block-names-wrong-side',
      detail: `block.side ${String(block.side)} while reading the ${String(o.blockedWhileReading)}`,
    });
  }
  const hidden = plan.hostile;
  if (hidden === undefined || !o.blockAfterHidden) return out;
  const hider: Initiator = hidden.kind === 'client-hides-hello' ? 'client' : 'server';
  const other: Initiator = hider === 'client' ? 'server' : 'client';
  // A Finished the other side split itself is a misbehaviour of its own: a block on it is fair.
  if (splitsFinished(plan, other)) return out;
  // Where the hidden ClientHello is forbidden, the client's record that hides it is the one to hold back.
  const wrongSide = hider === 'client' && forbids(plan, 'client') && block.side !== 'client';
  // A block on a record that may answer a hidden message names no culprit: the guard could not
  // tell who started the renegotiation. A block on the other side's own Finished record (its
  // padding left room for a ClientHello) is about that record, not the hidden message.
  const neutral =
    block.evidence === 'after-finished-room' || (block.evidence === 'finished-room' && block.side === other);
  if ((block.initiator === other && !neutral) || wrongSide) {
    out.push({
      rule: 'hidden-message-blamed-on-wrong-side',
      detail: `${hidden.kind}: block ${JSON.stringify(block)}`,
    });
  }
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
