/**
 * Golden transcripts (test/connection/golden/*.txt, recorded from real OpenSSL sessions by
 * test/connection/golden/record.ts): the peer's records are replayed into a fresh engine running
 * on the recorded seed and clock, and every record the engine writes must equal the recorded one
 * byte for byte, and its events end as recorded. The client engine against `openssl s_server`:
 * ClientHellos, key exchanges, Finished messages and encrypted records, in the initial handshake
 * and in each renegotiation (once, twice, refused; RFC 5746 and legacy). The server engine against
 * `openssl s_client`: its first flight (ServerHello, Certificate, the signed ServerKeyExchange),
 * session tickets, Finished messages, HelloRequests, no_renegotiation warnings and encrypted
 * records (renegotiations at the client's request and at ours, refused; RFC 5746 and as a 2009
 * server). A change in the engine's bytes on the wire fails here even when every peer would accept it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectionEvent } from '../../src/handshake/events.ts';
import { ContentType } from '../../src/wire/enums.ts';
import { parseRecords, record } from '../support/records.ts';
import { installSeededRandom } from '../support/seeded-random.ts';
import { callEngine, createEngine } from './golden/engine.ts';
import { GOLDEN_SESSIONS } from './golden/sessions.ts';
import { endSummary, parseTranscript, type Transcript } from './golden/transcript.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Replays a transcript; throws (an AssertionError naming the record) at the first difference. */
function replay(t: Transcript, seed = t.seed): { events: ConnectionEvent[]; compared: number; summary: string } {
  const random = installSeededRandom(seed, t.time);
  try {
    const role = t.engine.role;
    const engine = createEngine(t.engine);
    const events: ConnectionEvent[] = [];
    const produced: Uint8Array[] = [];
    const collect = (got: ConnectionEvent[]): void => {
      events.push(...got);
      for (const r of parseRecords(engine.takeOutput())) produced.push(record(r.type, r.fragment, r.version));
    };
    let compared = 0;
    for (const [i, s] of t.steps.entries()) {
      if (s.kind !== 'record') collect(callEngine(engine, s));
      else if (s.from !== role) collect(engine.receive(s.record));
      else {
        const ours = produced.shift();
        assert.ok(ours, `step ${i + 1}: the engine sent nothing where the transcript has a record`);
        assert.equal(hex(ours), hex(s.record), `step ${i + 1}: record ${compared + 1} the ${role} sent differs`);
        compared++;
      }
    }
    assert.deepStrictEqual(produced.map(hex), [], 'the engine sent records the transcript does not have');
    return { events, compared, summary: endSummary(events, engine.error) };
  } finally {
    random.restore();
  }
}

const transcripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => ({ name: f.slice(0, -'.txt'.length), t: parseTranscript(readFileSync(join(DIR, f), 'utf8')) }));

const byName = (name: string): Transcript => {
  const found = transcripts.find((x) => x.name === name);
  assert.ok(found, `no transcript ${name}`);
  return found.t;
};

describe('golden transcripts against openssl s_server and s_client', () => {
  test('every golden session has its transcript and every transcript its session, with the same engine', () => {
    assert.deepStrictEqual(
      transcripts.map((x) => x.name).sort(),
      GOLDEN_SESSIONS.map((s) => s.name).sort(),
      'run npx tsx test/connection/golden/record.ts',
    );
    for (const s of GOLDEN_SESSIONS) assert.deepStrictEqual(byName(s.name).engine, s.engine, s.name);
  });

  for (const { name, t } of transcripts) {
    test(`${name}: the ${t.engine.role} engine sends the recorded bytes, record for record, and ends as recorded`, () => {
      const { compared, summary } = replay(t);
      const ours = t.steps.flatMap((s) => (s.kind === 'record' && s.from === t.engine.role ? [s.record] : []));
      assert.equal(compared, ours.length);
      // Application data was written and sealed after the last handshake, unless the session ended first.
      assert.ok(ours.some((r) => r[0] === ContentType.application_data) || !/error=(none|PeerClosed)/.test(t.end));
      assert.equal(summary, t.end);
    });
  }

  test('the replay notices a change in the bytes: another seed differs at the first record the engine sends', () => {
    for (const name of ['secure-renegotiate-once', 'server-secure-renegotiate-once']) {
      const t = byName(name);
      assert.throws(() => replay(t, `${t.seed}-other`), /step \d+: record 1 the (client|server) sent differs/);
    }
  });

  test('the end line says what the sessions claim: renegotiations completed, or refused with no_renegotiation', () => {
    const end = (name: string): string => byName(name).end;
    // The client engine against s_server.
    assert.match(end('secure-renegotiate-once'), /^handshakes=2 secure=true,true renegotiation=- alerts-received=- /);
    assert.match(end('secure-renegotiate-twice'), /^handshakes=3 secure=true,true,true /);
    assert.match(
      end('secure-renegotiate-refused'),
      /^handshakes=1 .* renegotiation=refused-by-peer alerts-received=1\/100 /,
    );
    assert.match(end('legacy-renegotiate-once'), /^handshakes=2 secure=false,false /);
    assert.match(end('legacy-renegotiate-twice'), /^handshakes=3 secure=false,false,false /);
    assert.match(end('legacy-renegotiate-refused'), /^handshakes=1 secure=false .*alerts-received=1\/100 /);
    // The server engine against s_client: accepted, asked for, refused by our policy, declined by the client.
    assert.match(end('server-secure-renegotiate-once'), /^handshakes=2 secure=true,true renegotiation=accepted /);
    assert.match(
      end('server-secure-renegotiate-twice'),
      /^handshakes=3 secure=true,true,true renegotiation=accepted,accepted /,
    );
    assert.match(end('server-secure-hello-request-once'), /^handshakes=2 secure=true,true renegotiation=accepted /);
    assert.match(end('server-secure-hello-request-twice'), /^handshakes=3 .* renegotiation=accepted,accepted /);
    assert.match(
      end('server-secure-renegotiate-refused'),
      /^handshakes=1 secure=true renegotiation=refused .*alerts-sent=1\/100 /,
    );
    assert.match(end('server-legacy-renegotiate-once'), /^handshakes=2 secure=false,false renegotiation=accepted /);
    assert.match(
      end('server-legacy-renegotiate-twice'),
      /^handshakes=3 secure=false,false,false renegotiation=accepted,accepted /,
    );
    assert.match(
      end('server-legacy-renegotiate-refused'),
      /^handshakes=1 secure=false renegotiation=refused .*alerts-sent=1\/100 /,
    );
    assert.match(end('server-legacy-hello-request-once'), /^handshakes=2 secure=false,false renegotiation=accepted /);
    assert.match(
      end('server-secure-hello-request-declined'),
      /^handshakes=1 secure=true renegotiation=refused-by-peer alerts-received=1\/100,1\/0 .* error=PeerClosed$/,
    );
  });
});
