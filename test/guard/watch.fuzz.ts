/**
 * Long-running fuzzing of RenegotiationWatch.feed() (`npm run fuzz -- --seconds 600`; not part of
 * `npm test`). Streams start from real sessions of our client and server engines (the evasion
 * harness, full handshakes, resumptions and renegotiations, hostile layouts included) and
 * synthetic ones (test/guard/support.ts), then are mutated: bytes flipped, record headers
 * changed, records dropped, duplicated, moved or re-fragmented, streams cut, spliced, or
 * replaced with noise and oversized hellos in tiny records. For each stream and every chunking
 * tried (whole, random cuts, byte by byte):
 * - feed() never throws;
 * - each side holds at most one partial header and the initial hello with the headers of the
 *   records that carry it (docs/guard.md, "What the guard sees");
 * - what it forwards is a prefix of what it received, in order;
 * - the decisions (events, block, bytes forwarded) are the same for every chunking.
 *
 * A failing stream is written to a JSON file; replay it with `npm run fuzz -- --replay FILE`.
 * Options: --seconds N (default 60), --seed N (first iteration seed, default: time-based).
 */
import { join } from '../support/bytes.ts';
import { writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_HELLO_LEN } from '../../src/guard/hello.ts';
import type { Side } from '../../src/guard/events.ts';
import { POLICY_MODES, judgeFor, type GuardPolicy } from '../../src/guard/policy.ts';
import { RenegotiationWatch } from '../../src/guard/watch.ts';
import { RECORD_HEADER_LEN } from '../../src/wire/record.ts';
import { BASE_POLICY, evasionFixtures } from './evasion/fixtures.ts';
import { makePlan } from './evasion/plan.ts';
import { Prng } from './evasion/prng.ts';
import { runSession } from './evasion/session.ts';
import { encryptedRenegotiation, fullHandshake } from './support.ts';

type Stream = (readonly [Side, Uint8Array])[];

const HANDSHAKE_HEADER_LEN = 4;
/**
 * One partial record header, and the initial hello (its 4-byte header and at most MAX_HELLO_LEN
 * bytes) held with the header of every record carrying it: at worst one byte per record.
 */
const HELD_BOUND = RECORD_HEADER_LEN - 1 + (HANDSHAKE_HEADER_LEN + MAX_HELLO_LEN) * (1 + RECORD_HEADER_LEN);
const CORPUS_SESSIONS = 40;
/** Streams up to this size are also fed one byte at a time; longer ones in 1- to 3-byte cuts. */
const BYTE_BY_BYTE_MAX = 8000;
const HELD_SAMPLE = 256;

// --- running one stream ----------------------------------------------------------------------

interface Run {
  readonly forwarded: Record<Side, Uint8Array>;
  readonly decisions: string;
  readonly maxHeld: number;
}

class FuzzFailure extends Error {}

function runStream(stream: Stream, policy: GuardPolicy, cut: (n: number) => number[]): Run {
  const watch = new RenegotiationWatch(judgeFor(policy, undefined, '127.0.0.1'));
  const received: Record<Side, Uint8Array[]> = { client: [], server: [] };
  const forwarded: Record<Side, Uint8Array[]> = { client: [], server: [] };
  const decisions: unknown[] = [];
  let maxHeld = 0;
  let feeds = 0;
  for (const [side, bytes] of stream) {
    let at = 0;
    const cuts = cut(bytes.length);
    for (const [i, n] of cuts.entries()) {
      const chunk = bytes.subarray(at, at + n);
      at += n;
      received[side].push(chunk);
      let verdict;
      try {
        verdict = watch.feed(side, chunk);
      } catch (e) {
        throw new FuzzFailure(`feed threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      // Views of `chunk`, a view of the stream, which nothing changes: no copy needed.
      forwarded[side].push(...verdict.forward);
      decisions.push(...verdict.events.map((e) => ({ side, ...e })));
      // heldBytes() walks the held pieces: asked every HELD_SAMPLE feeds and at the end of each step.
      if (++feeds % HELD_SAMPLE !== 0 && i !== cuts.length - 1) continue;
      const held = watch.heldBytes(side);
      maxHeld = Math.max(maxHeld, held);
      if (held > HELD_BOUND) throw new FuzzFailure(`${side} holds ${held} bytes, more than ${HELD_BOUND}`);
    }
  }
  decisions.push({ block: watch.blocked });
  const out = { client: join(forwarded.client), server: join(forwarded.server) };
  for (const side of ['client', 'server'] as const) {
    const input = join(received[side]);
    if (!isPrefix(out[side], input)) {
      throw new FuzzFailure(`${side}: the ${out[side].length} bytes forwarded are not a prefix of those received`);
    }
  }
  return { forwarded: out, decisions: JSON.stringify(decisions), maxHeld };
}

/** Runs the stream whole, cut at random and (when small) byte by byte: every run must agree. */
function check(stream: Stream, policy: GuardPolicy, rng: Prng): Run {
  const whole = runStream(stream, policy, (n) => [n]);
  const cuts: ((n: number) => number[])[] = [(n) => randomCuts(n, rng, rng.pick([2, 7, 64, 1500]))];
  const total = stream.reduce((n, [, b]) => n + b.length, 0);
  if (total <= BYTE_BY_BYTE_MAX) cuts.push((n) => Array.from({ length: n }, () => 1));
  else cuts.push((n) => randomCuts(n, rng, 3));
  let maxHeld = whole.maxHeld;
  for (const cut of cuts) {
    const other = runStream(stream, policy, cut);
    maxHeld = Math.max(maxHeld, other.maxHeld);
    if (other.decisions !== whole.decisions) {
      throw new FuzzFailure(
        `decisions differ with chunking:\n  whole: ${whole.decisions}\n  cut:   ${other.decisions}`,
      );
    }
    for (const side of ['client', 'server'] as const) {
      if (!sameBytes(other.forwarded[side], whole.forwarded[side])) {
        throw new FuzzFailure(
          `${side}: ${other.forwarded[side].length} bytes forwarded when cut, ${whole.forwarded[side].length} whole`,
        );
      }
    }
  }
  return { ...whole, maxHeld };
}

function randomCuts(n: number, rng: Prng, max: number): number[] {
  const out: number[] = [];
  for (let left = n; left > 0;) {
    const k = Math.min(left, rng.int(1, max));
    out.push(k);
    left -= k;
  }
  return out.length === 0 ? [0] : out;
}

// --- mutations -------------------------------------------------------------------------------

interface WireRecord {
  side: Side;
  bytes: Uint8Array;
}

/** Splits each step at record boundaries (the rest of a step, when not a whole record, stays one piece). */
function records(stream: Stream): WireRecord[] {
  const out: WireRecord[] = [];
  for (const [side, b] of stream) {
    let at = 0;
    while (at + RECORD_HEADER_LEN <= b.length) {
      const end = at + RECORD_HEADER_LEN + ((b[at + 3]! << 8) | b[at + 4]!);
      if (end > b.length) break;
      out.push({ side, bytes: b.subarray(at, end) });
      at = end;
    }
    if (at < b.length) out.push({ side, bytes: b.subarray(at) });
  }
  return out;
}

/** Back to steps: consecutive records of one side form one step. */
function steps(recs: readonly WireRecord[]): Stream {
  const out: Stream = [];
  let side: Side | undefined;
  let parts: Uint8Array[] = [];
  for (const r of recs) {
    if (r.side !== side && side !== undefined) {
      out.push([side, join(parts)]);
      parts = [];
    }
    side = r.side;
    parts.push(r.bytes);
  }
  if (side !== undefined) out.push([side, join(parts)]);
  return out;
}

function record(type: number, version: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_LEN + body.length);
  out.set([type, version >> 8, version & 0xff, body.length >> 8, body.length & 0xff]);
  out.set(body, RECORD_HEADER_LEN);
  return out;
}

/** The records' payloads re-cut into records of 1 to `max` bytes each (same type and version). */
function refragment(r: Uint8Array, rng: Prng, max: number): Uint8Array[] {
  if (r.length < RECORD_HEADER_LEN) return [r];
  const body = r.subarray(RECORD_HEADER_LEN);
  const version = (r[1]! << 8) | r[2]!;
  const out: Uint8Array[] = [];
  for (let at = 0; at < body.length;) {
    const n = Math.min(rng.int(1, max), body.length - at);
    out.push(record(r[0]!, version, body.subarray(at, at + n)));
    at += n;
  }
  return out;
}

type Mutation = (s: Stream, rng: Prng, corpus: readonly Stream[]) => Stream;

const MUTATIONS: readonly Mutation[] = [
  function flipBytes(s, rng) {
    const out = s.map(([side, b]) => [side, b.slice()] as const);
    for (let i = rng.int(1, 8); i > 0 && out.length > 0; i--) {
      const [, b] = rng.pick(out);
      if (b.length > 0) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7);
    }
    return out;
  },
  function changeHeader(s, rng) {
    const recs = records(s);
    const r = recs.length > 0 ? rng.pick(recs) : undefined;
    if (r === undefined || r.bytes.length < RECORD_HEADER_LEN) return s;
    const b = r.bytes.slice();
    const field = rng.int(0, 2);
    if (field === 0) b[0] = rng.pick([20, 21, 22, 23, 24, 0x80, rng.int(0, 255)]);
    if (field === 1) b[rng.int(1, 2)] = rng.int(0, 255);
    if (field === 2) {
      const length = Math.max(0, ((b[3]! << 8) | b[4]!) + rng.pick([-1, 1, -16, 16, 300, -300, 0x4000]));
      b[3] = (length >> 8) & 0xff;
      b[4] = length & 0xff;
    }
    r.bytes = b;
    return steps(recs);
  },
  function dropRecord(s, rng) {
    const recs = records(s);
    if (recs.length > 0) recs.splice(rng.int(0, recs.length - 1), 1);
    return steps(recs);
  },
  function duplicateRecord(s, rng) {
    const recs = records(s);
    if (recs.length > 0) {
      const i = rng.int(0, recs.length - 1);
      recs.splice(rng.int(i, recs.length), 0, { ...recs[i]! });
    }
    return steps(recs);
  },
  function moveRecord(s, rng) {
    const recs = records(s);
    if (recs.length > 1) {
      const [r] = recs.splice(rng.int(0, recs.length - 1), 1);
      recs.splice(rng.int(0, recs.length), 0, r!);
    }
    return steps(recs);
  },
  function refragmentRecords(s, rng) {
    const max = rng.pick([1, 2, 5, 40]);
    const recs = records(s).flatMap((r) =>
      rng.chance(0.3) ? refragment(r.bytes, rng, max).map((bytes) => ({ side: r.side, bytes })) : [r],
    );
    return steps(recs);
  },
  /** Two adjacent records of one side and type under one header: a message coalesced with the next. */
  function mergeRecords(s, rng) {
    const recs = records(s);
    for (let tries = 0; tries < 8 && recs.length > 1; tries++) {
      const i = rng.int(0, recs.length - 2);
      const [a, b] = [recs[i]!, recs[i + 1]!];
      if (a.side !== b.side || a.bytes[0] !== b.bytes[0] || a.bytes.length < RECORD_HEADER_LEN) continue;
      if (b.bytes.length < RECORD_HEADER_LEN) continue;
      const body = join([a.bytes.subarray(RECORD_HEADER_LEN), b.bytes.subarray(RECORD_HEADER_LEN)]);
      if (body.length > 0xffff) continue;
      recs.splice(i, 2, { side: a.side, bytes: record(a.bytes[0]!, (a.bytes[1]! << 8) | a.bytes[2]!, body) });
      break;
    }
    return steps(recs);
  },
  function truncate(s, rng) {
    const recs = records(s);
    const keep = recs.slice(0, rng.int(0, recs.length));
    const last = keep[keep.length - 1];
    if (last !== undefined && rng.chance(0.5)) last.bytes = last.bytes.subarray(0, rng.int(0, last.bytes.length));
    return steps(keep);
  },
  function insertNoise(s, rng) {
    const recs = records(s);
    const noise = rng.chance(0.5)
      ? rng.bytes(rng.int(1, 64))
      : record(rng.pick([20, 21, 22, 23]), 0x0303, rng.bytes(rng.int(0, 400)));
    recs.splice(rng.int(0, recs.length), 0, { side: rng.pick(['client', 'server'] as const), bytes: noise });
    return steps(recs);
  },
  function swapSide(s, rng) {
    const recs = records(s);
    const r = recs.length > 0 ? rng.pick(recs) : undefined;
    if (r !== undefined) r.side = r.side === 'client' ? 'server' : 'client';
    return steps(recs);
  },
  function splice(s, rng, corpus) {
    const other = records(rng.pick(corpus));
    const recs = records(s);
    const at = rng.int(0, recs.length);
    return steps([...recs.slice(0, at), ...other.slice(rng.int(0, other.length))]);
  },
  function randomStream(_s, rng) {
    return Array.from(
      { length: rng.int(1, 6) },
      () => [rng.pick(['client', 'server'] as const), rng.bytes(rng.int(0, 600))] as const,
    );
  },
  /** An initial hello of up to MAX_HELLO_LEN (and a little over) in tiny records: the memory bound's worst case. */
  function bigHelloInTinyRecords(s, rng) {
    const length = rng.chance(0.2) ? MAX_HELLO_LEN + rng.int(-2, 2) : rng.int(0, 3000);
    const hello = new Uint8Array(HANDSHAKE_HEADER_LEN + length);
    hello.set([1, length >> 16, (length >> 8) & 0xff, length & 0xff]);
    hello.set(rng.bytes(Math.min(length, 64)), HANDSHAKE_HEADER_LEN);
    const max = rng.pick([1, 3, 100]);
    const first = refragment(record(22, 0x0301, hello), rng, max);
    return [['client', join(first)] as const, ...s.filter(([side]) => side === 'server')];
  },
];

function mutate(stream: Stream, rng: Prng, corpus: readonly Stream[]): Stream {
  let s = stream;
  for (let i = rng.int(1, 4); i > 0; i--) s = rng.pick(MUTATIONS)(s, rng, corpus);
  return s;
}

// --- the corpus ------------------------------------------------------------------------------

async function buildCorpus(): Promise<Stream[]> {
  const fx = await evasionFixtures();
  const corpus: Stream[] = [fullHandshake(), [...fullHandshake(), ...encryptedRenegotiation('client')]];
  for (let seed = 1; seed <= CORPUS_SESSIONS; seed++) {
    const plan = makePlan(seed);
    corpus.push([...runSession(plan, fx, { ...BASE_POLICY, mode: 'allow' }).transcript]);
  }
  return corpus;
}

// --- main ------------------------------------------------------------------------------------

function randomPolicy(rng: Prng): GuardPolicy {
  return {
    ...BASE_POLICY,
    mode: rng.pick(POLICY_MODES),
    maxRenegotiationsPerConnection: rng.pick([0, 0, 1, 3]),
    allowNonTls: rng.chance(0.2),
  };
}

interface Saved {
  readonly policy: GuardPolicy;
  readonly stream: [Side, string][];
  readonly failure: string;
}

function save(iterationSeed: number, policy: GuardPolicy, stream: Stream, failure: string): string {
  const file = joinPath(tmpdir(), `renego-watch-fuzz-${iterationSeed}.json`);
  const saved: Saved = { policy, stream: stream.map(([side, b]) => [side, Buffer.from(b).toString('hex')]), failure };
  writeFileSync(file, JSON.stringify(saved, null, 1));
  return file;
}

function replayFile(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
  const stream: Stream = saved.stream.map(([side, hex]) => [side, new Uint8Array(Buffer.from(hex, 'hex'))]);
  console.log(`replaying ${file} (recorded failure: ${saved.failure.split('\n')[0]})`);
  check(stream, saved.policy, new Prng(1));
  console.log('no failure on replay');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, replay: { type: 'string' } },
  });
  if (values.replay !== undefined) return replayFile(values.replay);
  const seconds = Number(values.seconds);
  const firstSeed = values.seed === undefined ? Date.now() % 1_000_000_000 : Number(values.seed);
  // The budget covers building the corpus too.
  const deadline = performance.now() + seconds * 1000;
  const corpus = await buildCorpus();
  let iterations = 0;
  let maxHeld = 0;
  const outcomes = new Map<string, number>();
  for (let seed = firstSeed; performance.now() < deadline; seed++) {
    const rng = new Prng(seed);
    const policy = randomPolicy(rng);
    const stream = mutate(rng.pick(corpus), rng, corpus);
    let run: Run;
    try {
      run = check(stream, policy, rng);
    } catch (e) {
      if (!(e instanceof FuzzFailure)) throw e;
      const file = save(seed, policy, stream, e.message);
      console.error(`FAIL at iteration seed ${seed} (policy ${policy.mode}):\n${e.message}\nstream saved: ${file}`);
      console.error(`replay: npm run fuzz -- --replay ${file}`);
      process.exitCode = 1;
      return;
    }
    iterations++;
    maxHeld = Math.max(maxHeld, run.maxHeld);
    const block = /"block":\{"reason":"([a-z0-9-]+)"/.exec(run.decisions)?.[1] ?? 'no block';
    outcomes.set(block, (outcomes.get(block) ?? 0) + 1);
  }
  console.log(
    `${iterations} mutated streams from seed ${firstSeed} in ${seconds} s (corpus ${corpus.length}); ` +
      `most held: ${maxHeld} bytes (bound ${HELD_BOUND})`,
  );
  console.log([...outcomes].map(([k, n]) => `  ${k}: ${n}`).join('\n'));
}

function isPrefix(a: Uint8Array, b: Uint8Array): boolean {
  return a.length <= b.length && sameBytes(a, b.subarray(0, a.length));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

await main();
