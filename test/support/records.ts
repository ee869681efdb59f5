/**
 * TLS records as a raw peer writes and reads them (RFC 5246 §6.2.1): build one, split an
 * engine's output into records, and the alerts in it. Plaintext only: what a test reads of an
 * encrypted record is its header.
 */
import assert from 'node:assert/strict';
import { concat } from '../../src/wire/codec.ts';
import { ContentType, ProtocolVersion } from '../../src/wire/enums.ts';
import { RECORD_HEADER_LEN, encodeRecord } from '../../src/wire/record.ts';

export const TLS12 = ProtocolVersion['TLSv1.2'];

export interface WireRecord {
  type: number;
  version: number;
  fragment: Uint8Array;
}

export function record(type: number, body: Uint8Array, version: number = TLS12): Uint8Array {
  return encodeRecord({ type, version, fragment: body });
}

/** One TLS 1.2 handshake record holding `message` (header included), as a raw peer would send it. */
export function handshakeRecord(message: Uint8Array, version: number = TLS12): Uint8Array {
  return record(ContentType.handshake, message, version);
}

export function alertRecord(level: number, description: number): Uint8Array {
  return record(ContentType.alert, Uint8Array.of(level, description));
}

/**
 * Splits an engine's output into records; the output must be whole records. Each fragment is a
 * copy, so a test may change it and encode the records again.
 */
export function parseRecords(out: Uint8Array): WireRecord[] {
  const records: WireRecord[] = [];
  let at = 0;
  while (at < out.length) {
    assert.ok(out.length - at >= RECORD_HEADER_LEN, 'output ends inside a record header');
    const length = (out[at + 3]! << 8) | out[at + 4]!;
    const end = at + RECORD_HEADER_LEN + length;
    assert.ok(end <= out.length, 'output ends inside a record');
    records.push({
      type: out[at]!,
      version: (out[at + 1]! << 8) | out[at + 2]!,
      fragment: out.slice(at + RECORD_HEADER_LEN, end),
    });
    at = end;
  }
  return records;
}

export function encodeRecords(records: readonly WireRecord[]): Uint8Array {
  return concat(...records.map((r) => record(r.type, r.fragment, r.version)));
}

/** The alerts in an engine's output, as [level, description] pairs. */
export function alertsIn(out: Uint8Array): [number, number][] {
  return parseRecords(out)
    .filter((r) => r.type === ContentType.alert)
    .map((r) => {
      assert.equal(r.fragment.length, 2, 'an alert record carries one alert');
      return [r.fragment[0]!, r.fragment[1]!];
    });
}
