/**
 * Driving one engine with arbitrary input and checking how it ends (the fuzz properties of
 * test/connection/client.test.ts and test/connection/server.test.ts): input never throws out of
 * receive(), at most one record is ever buffered, errors are typed and sticky, and a local
 * error's fatal alert is the last record out (RFC 5246 §7.2.2).
 */
import assert from 'node:assert/strict';
import { ClientConnection } from '../../src/connection/client-connection.ts';
import { ServerConnection } from '../../src/connection/server-connection.ts';
import type { ConnectionEvent } from '../../src/handshake/events.ts';
import { concat } from '../../src/wire/codec.ts';
import { AlertLevel } from '../../src/wire/enums.ts';
import { TlsError, alertFor } from '../../src/wire/errors.ts';
import { ONE_RECORD } from './bytes.ts';
import { alertsIn } from './records.ts';
import { errorsIn } from './events.ts';

/** A client that also shows how many received bytes its record layer holds. */
export class ProbedClient extends ClientConnection {
  get bufferedIn(): number {
    return this.records.bufferedIn;
  }
}

/** A server that also shows how many received bytes its record layer holds. */
export class ProbedServer extends ServerConnection {
  get bufferedIn(): number {
    return this.records.bufferedIn;
  }
}

export type Probed = ProbedClient | ProbedServer;

export interface Fed {
  events: ConnectionEvent[];
  output: Uint8Array;
}

/** Feeds every chunk, checking that receive() never throws and that errors are sticky; returns all events and output. */
export function feed(conn: Probed, chunks: readonly Uint8Array[]): Fed {
  const events: ConnectionEvent[] = [];
  const outputs: Uint8Array[] = [];
  for (const chunk of chunks) {
    const failedBefore = conn.error !== undefined;
    const buffered = conn.bufferedIn;
    let got: ConnectionEvent[] = [];
    assert.doesNotThrow(() => {
      got = conn.receive(chunk);
    });
    if (failedBefore) {
      // Sticky: nothing new happens, and the input is not even buffered.
      assert.deepStrictEqual(got, [], 'errors are sticky');
      assert.equal(conn.bufferedIn, buffered);
    }
    if (conn.error === undefined) assert.ok(conn.bufferedIn <= ONE_RECORD);
    events.push(...got);
    outputs.push(conn.takeOutput());
  }
  return { events, output: concat(...outputs) };
}

/**
 * What every run must end in: still waiting with at most one record buffered, or closed by
 * the peer's close_notify, or exactly one error event carrying a typed TlsError (never
 * InternalError, which would mean a plain exception escaped a decoder). A local error leaves
 * its fatal alert as the last record out; an error with no alert of ours (the peer's fatal
 * alert) sends no fatal alert.
 */
export function checkOutcome(conn: Probed, events: readonly ConnectionEvent[], output: Uint8Array): void {
  const errors = errorsIn(events);
  if (conn.error === undefined) {
    assert.deepStrictEqual(errors, []);
    assert.ok(conn.bufferedIn <= ONE_RECORD, `${conn.bufferedIn} bytes buffered while waiting`);
    return;
  }
  if (conn.error.kind === 'PeerClosed') {
    assert.ok(events.some((e) => e.type === 'close-notify'));
    return;
  }
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof TlsError);
  assert.equal(errors[0], conn.error);
  assert.notEqual(conn.error.kind, 'InternalError', conn.error.message);
  const alert = alertFor(conn.error.kind)?.description;
  const sent = alertsIn(output);
  if (alert === undefined) {
    assert.equal(conn.error.kind, 'PeerSentFatalAlert');
    assert.ok(!sent.some(([level]) => level === AlertLevel.fatal));
  } else {
    assert.deepStrictEqual(sent.at(-1), [AlertLevel.fatal, alert], 'the fatal alert is the last record out');
  }
}
