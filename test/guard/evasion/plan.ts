/**
 * What one evasion session does, drawn from its seed alone: version, suite, the guard's policy,
 * each endpoint's RFC 5746 signalling, full handshake or resumption, the script (application data
 * and renegotiations in random order), how the senders lay their records out and how the bytes
 * are cut on their way to the guard. The same seed always gives the same plan.
 */
import { suiteById, suiteAllowsVersion, type CipherSuiteInfo } from '../../../src/crypto/suites.ts';
import { POLICY_MODES, type PolicyMode } from '../../../src/guard/policy.ts';
import type { Initiator } from '../../../src/guard/events.ts';
import { ProtocolVersion } from '../../../src/wire/enums.ts';
import { Prng } from './prng.ts';

/** ECDHE_RSA (the test PKI's key is RSA): AES-GCM, ChaCha20-Poly1305, AES-CBC-SHA, -SHA256, -SHA384, 3DES-CBC-SHA. */
const SUITE_IDS = [0xc02f, 0xcca8, 0xc013, 0xc027, 0xc028, 0xc012] as const;
export const SUITES: readonly CipherSuiteInfo[] = SUITE_IDS.flatMap((id) => suiteById(id) ?? []);

export const VERSIONS = [ProtocolVersion.TLSv1, ProtocolVersion['TLSv1.1'], ProtocolVersion['TLSv1.2']] as const;

export type Step =
  | { readonly kind: 'data'; readonly from: Initiator; readonly length: number; readonly pumpAfter: boolean }
  | { readonly kind: 'renegotiate'; readonly initiator: Initiator };

/**
 * A message hidden in a Finished record, sealed with it under the same keys: the client's
 * ClientHello (an unprompted renegotiation) or the server's HelloRequest. `handshake`: whose
 * Finished, 0 for the initial handshake, n for the n-th renegotiation.
 */
export interface Hostile {
  readonly kind: 'client-hides-hello' | 'server-hides-hello-request';
  readonly handshake: number;
}

export interface SenderLayout {
  /** Largest plaintext per handshake record (down to 1 byte); 0: the engine's own layout. */
  readonly fragment: number;
  /** The Finished is split too (it is otherwise left whole). */
  readonly splitFinished: boolean;
  /** CBC records get random legal padding (RFC 5246 §6.2.3.2, up to 255). */
  readonly padding: boolean;
}

export interface Plan {
  readonly seed: number;
  readonly version: number;
  readonly suite: CipherSuiteInfo;
  readonly mode: PolicyMode;
  readonly clientSignal: 'extension' | 'scsv' | 'none';
  readonly serverRfc5746: boolean;
  readonly resumption: 'none' | 'session-id' | 'ticket';
  readonly steps: readonly Step[];
  readonly sender: SenderLayout;
  /** The largest chunk the guard is fed (1: byte by byte); Infinity: each engine output whole. */
  readonly maxChunk: number;
  readonly hostile: Hostile | undefined;
}

const MAX_RENEGOTIATIONS = 3;

export function makePlan(seed: number): Plan {
  const rng = new Prng(seed);
  const version = rng.pick(VERSIONS);
  const suite = rng.pick(SUITES.filter((s) => suiteAllowsVersion(s, version)));
  const mode = rng.pick(POLICY_MODES);
  const clientSignal = rng.pick(['extension', 'scsv', 'none'] as const);
  const serverRfc5746 = rng.chance(0.7);
  const resumption = rng.pick(['none', 'none', 'session-id', 'ticket'] as const);
  const steps = makeSteps(rng);
  const renegotiations = steps.filter((s) => s.kind === 'renegotiate').length;
  const fragment = rng.chance(0.3) ? rng.pick([1, 1, 2, 3, 7, 16, 100]) : 0;
  const sender: SenderLayout = {
    fragment,
    splitFinished: fragment > 0 && rng.chance(0.3),
    padding: suite.bulk.kind === 'cbc' && rng.chance(0.4),
  };
  const maxChunk = rng.pick([Infinity, Infinity, 1, 3, 17, 64, 700]);
  const hostile: Hostile | undefined = rng.chance(0.35)
    ? {
        kind: rng.pick(['client-hides-hello', 'server-hides-hello-request'] as const),
        handshake: rng.int(0, renegotiations),
      }
    : undefined;
  return { seed, version, suite, mode, clientSignal, serverRfc5746, resumption, steps, sender, maxChunk, hostile };
}

function makeSteps(rng: Prng): Step[] {
  const steps: Step[] = [];
  const count = rng.int(1, 8);
  let renegotiations = 0;
  for (let i = 0; i < count; i++) {
    if (renegotiations < MAX_RENEGOTIATIONS && rng.chance(0.4)) {
      renegotiations++;
      steps.push({ kind: 'renegotiate', initiator: rng.pick(['client', 'server'] as const) });
      continue;
    }
    const length = rng.chance(0.1) ? rng.int(16_385, 20_000) : rng.int(1, 3000);
    steps.push({ kind: 'data', from: rng.pick(['client', 'server'] as const), length, pumpAfter: rng.chance(0.7) });
  }
  return steps;
}

/** Both initial hellos signal RFC 5746, as the guard reads them (RFC 5746 §3.4, §3.6). */
export function secureInitial(plan: Plan): boolean {
  return plan.clientSignal !== 'none' && plan.serverRfc5746;
}

/** Whether the guard's policy lets a renegotiation by `initiator` through on this connection. */
export function policyAllows(plan: Plan, initiator: Initiator): boolean {
  switch (plan.mode) {
    case 'allow':
    case 'require-rfc5746':
      return true;
    case 'deny':
      return false;
    case 'deny-client-initiated':
      return initiator === 'server';
    case 'deny-server-initiated':
      return initiator === 'client';
    case 'secure-only':
      return secureInitial(plan);
  }
}

/** require-rfc5746 closes the connection at a hello without RFC 5746 signalling. */
export function refusedAtHello(plan: Plan): boolean {
  return plan.mode === 'require-rfc5746' && !secureInitial(plan);
}

export function describePlan(p: Plan): string {
  const steps = p.steps
    .map((s) => (s.kind === 'data' ? `data:${s.from[0]}${s.length}${s.pumpAfter ? '' : '+'}` : `reneg:${s.initiator}`))
    .join(' ');
  const layout = [
    p.sender.fragment > 0 ? `fragment≤${p.sender.fragment}${p.sender.splitFinished ? '+finished' : ''}` : '',
    p.sender.padding ? 'padding' : '',
    `chunk≤${p.maxChunk}`,
  ]
    .filter(Boolean)
    .join(',');
  const hostile = p.hostile ? ` hostile=${p.hostile.kind}@${p.hostile.handshake}` : '';
  return (
    `seed=${p.seed} v=0x${p.version.toString(16)} ${p.suite.opensslName} policy=${p.mode} ` +
    `client-rfc5746=${p.clientSignal} server-rfc5746=${p.serverRfc5746} resumption=${p.resumption} ` +
    `[${steps}] layout=${layout}${hostile}`
  );
}
