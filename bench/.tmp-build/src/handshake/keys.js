/** From a master secret to the two directions' record protection (RFC 5246 §6.3). */
import { timingSafeEqual } from 'node:crypto';
import { keyBlock } from "../crypto/prf.js";
import { createOpener, createSealer, deriveConnectionKeys, keyBlockLength } from "../crypto/record-protection.js";
/**
 * Builds the client-write and server-write states: on the client the first
 * seals and the second opens, on the server the reverse (a protector works in
 * one direction only).
 */
export function deriveProtectors(suite, version, master, clientRandom, serverRandom, side = 'client') {
    const block = keyBlock(version, suite.prfHash, master, clientRandom, serverRandom, keyBlockLength(suite, version));
    const keys = deriveConnectionKeys(suite, version, block);
    block.fill(0);
    return side === 'client'
        ? { clientWrite: createSealer(suite, version, keys.client), serverWrite: createOpener(suite, version, keys.server) }
        : { clientWrite: createOpener(suite, version, keys.client), serverWrite: createSealer(suite, version, keys.server) };
}
/** Constant-time equality for verify_data, MACs and renegotiated_connection; unequal lengths are simply unequal. */
export function constantTimeEqual(a, b) {
    if (a.length !== b.length)
        return false;
    return timingSafeEqual(a, b);
}
//# sourceMappingURL=keys.js.map