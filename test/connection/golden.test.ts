/**
 * Golden transcripts (test/connection/golden/*.txt, recorded from real `openssl s_server` sessions by
 * test/connection/golden/record.ts): the server's records are replayed into a client engine running on the
 * recorded seed and clock, and every record the engine sends must equal the recorded one byte
 * for byte: ClientHellos, key exchanges, Finished messages and encrypted records, in the
 * initial handshake and in each renegotiation (once, twice, refused; RFC 5746 and legacy). A
 * change in the engine's bytes on the wire fails here even when every peer would accept it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientConnection } from '../../src/connection/client-connection.ts';
import type { ConnectionEvent } from '../../src/handshake/events.ts';
import { ContentType } from '../../src/wire/enums.ts';
import { parseRecords, record } from '../support/records.ts';
import { installSeededRandom } from '../support/seeded-random.ts';
import { GOLDEN_SESSIONS } from './golden/sessions.ts';
import { endSummary, parseTranscript, type Transcript } from './golden/transcript.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Replays a transcript; throws (an AssertionError naming the record) at the first difference. */
function replay(t: Transcript, seed = t.seed): { events: ConnectionEvent[]; compared: number; summary: string } {
  const random = installSeededRandom(seed, t.time);
  try {
    const client = new ClientConnection(t.client);
    const events: ConnectionEvent[] = [];
    const produced: Uint8Array[] = [];
    const collect = (got: ConnectionEvent[]): void => {
      events.push(...got);
      for (const r of parseRecords(client.takeOutput())) produced.push(record(r.type, r.fragment, r.version));
    };
    let compared = 0;
    for (const [i, s] of t.steps.entries()) {
      switch (s.kind) {
        case 'start':
          collect(client.start());
          break;
        case 'renegotiate':
          collect(client.renegotiate());
          break;
        case 'write':
          client.write(s.data);
          collect([]);
          break;
        case 'received':
          collect(client.receive(s.record));
          break;
        case 'sent': {
          const ours = produced.shift();
          assert.ok(ours, `step ${i + 1}: the engine sent nothing where the transcript has a record`);
          assert.equal(hex(ours), hex(s.record), `step ${i + 1}: record ${compared + 1} the client sent differs`);
          compared++;
          break;
        }
      }
    }
    assert.deepStrictEqual(produced.map(hex), [], 'the engine sent records the transcript does not have');
    return { events, compared, summary: endSummary(events, client.error) };
  } finally {
    random.restore();
  }
}

const transcripts = readdirSync(DIR)
  .filter((f) => f.endsWith('.txt'))
  .map((f) => ({ name: f.slice(0, -'.txt'.length), t: parseTranscript(readFileSync(join(DIR, f), 'utf8')) }));

describe('golden transcripts against openssl s_server', () => {
  test('every golden session has its transcript and every transcript its session', () => {
    assert.deepStrictEqual(
      transcripts.map((x) => x.name).sort(),
      GOLDEN_SESSIONS.map((s) => s.name).sort(),
      'run npx tsx test/connection/golden/record.ts',
    );
  });

  for (const { name, t } of transcripts) {
    test(`${name}: the client engine sends the recorded bytes, record for record, and ends as recorded`, () => {
      const { compared, summary } = replay(t);
      const sent = t.steps.flatMap((s) => (s.kind === 'sent' ? [s.record] : []));
      assert.equal(compared, sent.length);
      // Application data was written and sealed after the last handshake, unless the session ended first.
      assert.ok(sent.some((r) => r[0] === ContentType.application_data) || !t.end.includes('error=none'));
      assert.equal(summary, t.end);
    });
  }

  test('the replay notices a change in the bytes: another seed differs at the first ClientHello', () => {
    const t = transcripts[0]!.t;
    assert.throws(() => replay(t, `${t.seed}-other`), /step \d+: record 1 the client sent differs/);
  });

  test('the end line says what the sessions claim: renegotiations completed, or refused with no_renegotiation', () => {
    const byName = new Map(transcripts.map((x) => [x.name, x.t.end]));
    assert.match(byName.get('secure-renegotiate-once') ?? '', /^handshakes=2 secure=true,true alerts-received=- /);
    assert.match(byName.get('secure-renegotiate-twice') ?? '', /^handshakes=3 secure=true,true,true /);
    assert.match(byName.get('secure-renegotiate-refused') ?? '', /^handshakes=1 secure=true alerts-received=1\/100 /);
    assert.match(byName.get('legacy-renegotiate-once') ?? '', /^handshakes=2 secure=false,false alerts-received=- /);
    assert.match(byName.get('legacy-renegotiate-twice') ?? '', /^handshakes=3 secure=false,false,false /);
    assert.match(byName.get('legacy-renegotiate-refused') ?? '', /^handshakes=1 secure=false alerts-received=1\/100 /);
  });
});
