/**
 * fast-check arbitraries for TLS input, and the two fuzz properties every engine side must
 * hold (STYLE.md §14: random bytes only ever raise the typed error): arbitrary bytes, and
 * arbitrary sequences of well-formed records cut anywhere.
 */
import fc from 'fast-check';
import { concat } from '../../src/wire/codec.ts';
import { encodeRecordHeader } from '../../src/wire/record.ts';
import { split } from './bytes.ts';
import { checkOutcome, feed, type Probed } from './sans-io.ts';

/** The content types of RFC 5246 §6.2.1 plus heartbeat (24). */
export const CONTENT_TYPES = [20, 21, 22, 23, 24] as const;

/** Bytes that start like a record header (a known type, major version 3), then anything. */
export const tlsLookingBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(...CONTENT_TYPES), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 120 }))
  .map(([type, minor, rest]) => concat(Uint8Array.of(type, 3, minor), rest));

/** What a socket might deliver: random bytes or TLS-looking ones. */
export const inputChunk: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 200 }), tlsLookingBytes);

/** A handshake message of random type (0-30) with a right length and a random body. */
export const handshakeMessage: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 0, max: 30 }), fc.uint8Array({ maxLength: 60 }))
  .map(([t, b]) => concat(Uint8Array.of(t, 0, b.length >>> 8, b.length & 0xff), b));

/** A record's parts; a null body stands for the valid message the property substitutes. */
export interface RecordParts {
  type: number;
  version: number;
  body: Uint8Array | null;
}

export const recordParts: fc.Arbitrary<RecordParts> = fc.record({
  type: fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.integer({ min: 0, max: 255 })),
  version: fc.constantFrom(0x0300, 0x0301, 0x0302, 0x0303, 0x0304),
  body: fc.oneof(fc.uint8Array({ maxLength: 40 }), handshakeMessage, fc.constant(null)),
});

/** Arbitrary chunks never throw out of receive() and end waiting or in a typed error. */
export function assertArbitraryBytesHandled(start: () => Probed, numRuns: number): void {
  fc.assert(
    fc.property(fc.array(inputChunk, { minLength: 1, maxLength: 6 }), (chunks) => {
      const conn = start();
      const { events, output } = feed(conn, chunks);
      checkOutcome(conn, events, output);
    }),
    { numRuns },
  );
}

/**
 * Arbitrary sequences of well-formed records (some of them `valid`, a whole record that gets
 * the engine past its first state), cut at arbitrary points, never throw and end waiting or in
 * a typed error. `variant` varies the engine's configuration.
 */
export function assertArbitraryRecordsHandled<V>(
  variant: fc.Arbitrary<V>,
  start: (v: V) => { conn: Probed; valid: Uint8Array },
  numRuns: number,
): void {
  fc.assert(
    fc.property(
      fc.array(recordParts, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      variant,
      (records, cuts, v) => {
        const { conn, valid } = start(v);
        const stream = concat(
          ...records.map((r) =>
            r.body === null ? valid : concat(encodeRecordHeader(r.type, r.version, r.body.length), r.body),
          ),
        );
        const { events, output } = feed(conn, split(stream, cuts));
        checkOutcome(conn, events, output);
      },
    ),
    { numRuns },
  );
}
