/** From a master secret to the two directions' record protection (RFC 5246 §6.3). */
import { timingSafeEqual } from 'node:crypto';
import { keyBlock } from '../crypto/prf.ts';
import {
  createOpener,
  createSealer,
  deriveConnectionKeys,
  keyBlockLength,
  type RecordProtector,
} from '../crypto/record-protection.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';

export interface ProtectorPair {
  /** Protects what the client writes: the client seals with it, the server opens. */
  clientWrite: RecordProtector;
  serverWrite: RecordProtector;
}

/**
 * Builds the client-write and server-write states: on the client the first
 * seals and the second opens, on the server the reverse (a protector works in
 * one direction only).
 */
export function deriveProtectors(
  suite: CipherSuiteInfo,
  version: number,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  side: 'client' | 'server' = 'client',
): ProtectorPair {
  const block = keyBlock(version, suite.prfHash, master, clientRandom, serverRandom, keyBlockLength(suite, version));
  const keys = deriveConnectionKeys(suite, version, block);
  block.fill(0);
  return side === 'client'
    ? { clientWrite: createSealer(suite, version, keys.client), serverWrite: createOpener(suite, version, keys.server) }
    : {
        clientWrite: createOpener(suite, version, keys.client),
        serverWrite: createSealer(suite, version, keys.server),
      };
}

/** Constant-time equality for verify_data, MACs and renegotiated_connection; unequal lengths are simply unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
