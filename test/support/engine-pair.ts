/**
 * A client engine and a server engine against each other in one process (rustls-test's
 * in-memory pair): each side's takeOutput() goes to the other's receive() until neither has
 * anything to send. On the way, a test may alter, drop or inject records in either direction,
 * to play a misbehaving peer or a man in the middle with the real engines on both ends.
 */
import type { ClientConnection } from '../../src/connection/client-connection.ts';
import type { ServerConnection, ServerContext } from '../../src/connection/server-connection.ts';
import type { ConnectionEvent } from '../../src/handshake/events.ts';
import { ContentType } from '../../src/wire/enums.ts';
import { HANDSHAKE_HEADER_LEN } from '../../src/wire/record.ts';
import { encodeRecords, parseRecords, type WireRecord } from './records.ts';
import { ProbedServer } from './sans-io.ts';

/** Changes what one side sent before the other receives it; an empty result drops it all. */
export type Alter = (sent: Uint8Array) => Uint8Array;

/** What to change in each direction. A bare Alter changes what the client sends. */
export type Tamper = Alter | { readonly toServer?: Alter; readonly toClient?: Alter };

export interface Pair {
  client: ClientConnection;
  server: ProbedServer;
  /** Every event each side produced so far. */
  clientEvents: ConnectionEvent[];
  serverEvents: ConnectionEvent[];
}

export interface Step {
  client: ConnectionEvent[];
  server: ConnectionEvent[];
}

/** More rounds than any handshake with renegotiation takes; a pair still talking after them is looping. */
const MAX_PUMP_ROUNDS = 64;

function directions(tamper: Tamper | undefined): { toServer?: Alter; toClient?: Alter } {
  return typeof tamper === 'function' ? { toServer: tamper } : (tamper ?? {});
}

/** Moves bytes both ways until neither side has anything to send; returns the events of this pump only. */
export function pump(client: ClientConnection, server: ServerConnection, tamper?: Tamper): Step {
  const { toServer, toClient } = directions(tamper);
  const got: Step = { client: [...client.drainEvents()], server: [...server.drainEvents()] };
  for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
    const up = client.takeOutput();
    const down = server.takeOutput();
    if (up.length === 0 && down.length === 0) return got;
    const toS = up.length > 0 && toServer ? toServer(up) : up;
    const toC = down.length > 0 && toClient ? toClient(down) : down;
    if (toS.length > 0) got.server.push(...server.receive(toS));
    if (toC.length > 0) got.client.push(...client.receive(toC));
  }
  throw new Error(`no quiescence after ${MAX_PUMP_ROUNDS} rounds`);
}

/** Starts `client` against a new server on `ctx` and pumps until both are quiet. */
export function connectPair(ctx: ServerContext, client: ClientConnection, tamper?: Tamper): Pair {
  const server = new ProbedServer(ctx);
  const pair: Pair = { client, server, clientEvents: [...client.start()], serverEvents: [] };
  step(pair, tamper);
  return pair;
}

/** Pumps a pair, keeping its event logs; returns this step's events. */
export function step(pair: Pair, tamper?: Tamper): Step {
  const got = pump(pair.client, pair.server, tamper);
  pair.clientEvents.push(...got.client);
  pair.serverEvents.push(...got.server);
  return got;
}

/** Delivers bytes to one side as if the other had sent them (an injected record), then pumps. */
export function inject(pair: Pair, to: 'client' | 'server', bytes: Uint8Array, tamper?: Tamper): Step {
  const events = to === 'client' ? pair.client.receive(bytes) : pair.server.receive(bytes);
  (to === 'client' ? pair.clientEvents : pair.serverEvents).push(...events);
  const got = step(pair, tamper);
  (to === 'client' ? got.client : got.server).unshift(...events);
  return got;
}

/**
 * An Alter that rewrites record by record: return the record (changed or not), several records
 * (to inject some beside it), or null to drop it.
 */
export function alterRecords(change: (r: WireRecord) => WireRecord | readonly WireRecord[] | null): Alter {
  return (sent) =>
    encodeRecords(
      parseRecords(sent).flatMap((r) => {
        const out = change(r);
        if (out === null) return [];
        return Array.isArray(out) ? (out as readonly WireRecord[]) : [out as WireRecord];
      }),
    );
}

/**
 * An Alter, for one direction, that changes in place the body of each plaintext handshake message
 * of `type` (those before that direction's first ChangeCipherSpec: an encrypted one is opaque here).
 */
export function tamperMessage(type: number, change: (body: Uint8Array) => void): Alter {
  // One direction's stream: after its ChangeCipherSpec every handshake record is ciphertext, which
  // would read as random messages (a first byte of `type` would have a random slice rewritten).
  let encrypted = false;
  return alterRecords((r) => {
    if (r.type === ContentType.change_cipher_spec) encrypted = true;
    if (r.type !== ContentType.handshake || encrypted) return r;
    for (let at = 0; at + HANDSHAKE_HEADER_LEN <= r.fragment.length;) {
      const length = (r.fragment[at + 1]! << 16) | (r.fragment[at + 2]! << 8) | r.fragment[at + 3]!;
      const body = at + HANDSHAKE_HEADER_LEN;
      if (r.fragment[at] === type) change(r.fragment.subarray(body, body + length));
      at = body + length;
    }
    return r;
  });
}
