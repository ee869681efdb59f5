/** Byte helpers the property tests share (not a test file: `npm test` runs test/*.test.ts only). */
import { MAX_CIPHERTEXT, RECORD_HEADER_LEN } from '../../src/wire/record.ts';

/** The most one incomplete record may hold in a Deframer: header plus 2^14 + 2048 bytes. */
export const ONE_RECORD = RECORD_HEADER_LEN + MAX_CIPHERTEXT;

/** Splits b at the given cut points (taken modulo its length + 1), as a socket might deliver it. */
export function split(b: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(b.subarray(at, p));
    at = p;
  }
  out.push(b.subarray(at));
  return out;
}

/** Concatenates any number of parts (a byte-by-byte relay makes thousands: no spread). */
export function join(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
