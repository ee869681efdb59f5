/**
 * What the watch's Finished-room rule (the lead's change to src/guard/watch.ts) will block, worked
 * out from a session's transcript before that watch exists: each record where only a Finished
 * can be is measured against the least overhead its suite can have, and the room left beyond
 * the 16-byte Finished is
 * - in a client Finished record, ≥ 45 bytes (a ClientHello fits): 'finished-room', blocked where
 *   client-initiated renegotiation is forbidden;
 * - in a server Finished record, ≥ 4 bytes (a HelloRequest fits): the client's next ClientHello
 *   may answer a hidden HelloRequest, 'after-finished-room', blocked where server-initiated
 *   renegotiation is forbidden unless a visible HelloRequest explains it.
 * The initial Finished is measured against the suite of the clear ServerHello (exact for AEAD;
 * for CBC its IV, MAC and one padding byte); a renegotiation's against the least overhead of any
 * suite, 16 bytes (ChaCha20-Poly1305's tag).
 */
import type { Side } from '../../src/guard/events.ts';
import { ContentType, ProtocolVersion } from '../../src/wire/enums.ts';
import { RECORD_HEADER_LEN } from '../../src/wire/record.ts';
import type { Plan } from './plan.ts';
import type { Outcome } from './session.ts';
import { forbids } from './verdict.ts';

export type Evidence = 'finished-room' | 'after-finished-room';

/** Handshake header + verify_data[12] (RFC 5246 §7.4.9). */
const FINISHED_PLAINTEXT = 16;
/** The smallest ClientHello: version, random, three empty or minimal vectors (RFC 5246 §7.4.1.2). */
const MIN_CLIENT_HELLO = 45;
const HELLO_REQUEST = 4;
const LEAST_OVERHEAD = 16;
const MAC_LENGTH = { sha1: 20, sha256: 32, sha384: 48 } as const;

/** The least a record of `plan`'s suite adds to its plaintext. */
function initialOverhead(plan: Plan): number {
  const { bulk, mac } = plan.suite;
  if (bulk.kind === 'aead') return bulk.recordIvLen + bulk.tagLen;
  const explicitIv = plan.version > ProtocolVersion.TLSv1 ? bulk.blockLen : 0;
  return explicitIv + (mac === null ? 0 : MAC_LENGTH[mac]) + 1;
}

type LaneState = 'handshaking' | 'after-change-cipher-spec' | 'traffic';

/** The first evidence block the Finished-room rule would raise on this session, if any. */
export function predictEvidence(o: Outcome): Evidence | undefined {
  const { plan } = o;
  const lanes: Record<Side, LaneState> = { client: 'handshaking', server: 'handshaking' };
  const finishedSeen: Record<Side, number> = { client: 0, server: 0 };
  let helloRequested = false;
  let serverRoom = false;
  for (const [side, bytes] of o.transcript) {
    for (let at = 0; at + RECORD_HEADER_LEN <= bytes.length;) {
      const type = bytes[at]!;
      const length = (bytes[at + 3]! << 8) | bytes[at + 4]!;
      at += RECORD_HEADER_LEN + length;
      if (type === ContentType.change_cipher_spec) lanes[side] = 'after-change-cipher-spec';
      if (type !== ContentType.handshake) continue;
      if (lanes[side] === 'after-change-cipher-spec') {
        const overhead = finishedSeen[side]++ === 0 ? initialOverhead(plan) : LEAST_OVERHEAD;
        const room = length - overhead - FINISHED_PLAINTEXT;
        lanes[side] = 'traffic';
        if (side === 'client' && room >= MIN_CLIENT_HELLO && forbids(plan, 'client')) return 'finished-room';
        if (side === 'server') serverRoom = room >= HELLO_REQUEST;
        continue;
      }
      if (lanes[side] !== 'traffic') continue;
      if (side === 'server') {
        // A server handshake record in traffic: its flight after the client's ClientHello, or a HelloRequest.
        if (lanes.client === 'traffic') helloRequested = true;
        lanes.server = lanes.client === 'traffic' ? 'traffic' : 'handshaking';
        continue;
      }
      if (serverRoom && !helloRequested && forbids(plan, 'server')) return 'after-finished-room';
      lanes.client = 'handshaking';
      helloRequested = false;
      serverRoom = false;
    }
  }
  return undefined;
}
