/**
 * One Reader and one Writer for every wire structure (RFC 5246 §4, presentation
 * language). Length-prefixed vectors are read through bounded sub-readers and
 * written with back-filled prefixes, so no length is ever computed by hand.
 *
 * Optional notes (subtls' idea): when a `notes` array is given, every read or
 * write with a label records its byte range, feeding annotated hex dumps.
 */
import { TlsError } from './errors.ts';

export interface Note {
  start: number;
  end: number;
  label: string;
}

export class Reader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
    readonly notes?: Note[],
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private take(n: number, what: string): number {
    if (n > this.end - this.pos) {
      throw new TlsError('DecodeError', `truncated ${what}: need ${n}, have ${this.end - this.pos}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private note(start: number, label: string | undefined): void {
    if (label !== undefined && this.notes) this.notes.push({ start, end: this.pos, label });
  }

  u8(label?: string): number {
    const at = this.take(1, label ?? 'uint8');
    this.note(at, label);
    return this.buf[at]!;
  }

  u16(label?: string): number {
    const at = this.take(2, label ?? 'uint16');
    this.note(at, label);
    return (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  u24(label?: string): number {
    const at = this.take(3, label ?? 'uint24');
    this.note(at, label);
    return (this.buf[at]! << 16) | (this.buf[at + 1]! << 8) | this.buf[at + 2]!;
  }

  u32(label?: string): number {
    const at = this.take(4, label ?? 'uint32');
    this.note(at, label);
    return ((this.buf[at]! << 24) >>> 0) + ((this.buf[at + 1]! << 16) | (this.buf[at + 2]! << 8) | this.buf[at + 3]!);
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number, label?: string): Uint8Array {
    const at = this.take(n, label ?? 'bytes');
    this.note(at, label);
    return this.buf.subarray(at, at + n);
  }

  rest(label?: string): Uint8Array {
    return this.bytes(this.remaining, label);
  }

  /** opaque x<floor..2^8-1> */
  vec8(label?: string, min = 0): Uint8Array {
    return this.checkedMin(this.bytes(this.u8(), label), min, label);
  }

  /** opaque x<floor..2^16-1> */
  vec16(label?: string, min = 0): Uint8Array {
    return this.checkedMin(this.bytes(this.u16(), label), min, label);
  }

  /** opaque x<floor..2^24-1> */
  vec24(label?: string, min = 0): Uint8Array {
    return this.checkedMin(this.bytes(this.u24(), label), min, label);
  }

  sub8(label?: string): Reader {
    return this.sub(this.u8(), label);
  }

  sub16(label?: string): Reader {
    return this.sub(this.u16(), label);
  }

  sub24(label?: string): Reader {
    return this.sub(this.u24(), label);
  }

  /** A reader bounded to the next n bytes; this reader moves past them. */
  sub(n: number, label?: string): Reader {
    const at = this.take(n, label ?? 'vector');
    this.note(at, label);
    return new Reader(this.buf, at, at + n, this.notes);
  }

  /** Every structure ends exactly where its length said: trailing bytes are a decode error. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw new TlsError('DecodeError', `${this.end - this.pos} trailing bytes after ${what}`);
    }
  }

  private checkedMin(v: Uint8Array, min: number, label: string | undefined): Uint8Array {
    if (v.length < min) throw new TlsError('DecodeError', `${label ?? 'vector'} shorter than ${min}`);
    return v;
  }
}

export class Writer {
  private buf: Uint8Array;
  private len = 0;

  constructor(
    capacity = 256,
    readonly notes?: Note[],
  ) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    const at = this.len;
    this.len = need;
    return at;
  }

  private note(start: number, label: string | undefined): void {
    if (label !== undefined && this.notes) this.notes.push({ start, end: this.len, label });
  }

  u8(v: number, label?: string): this {
    const at = this.reserve(1);
    this.buf[at] = v;
    this.note(at, label);
    return this;
  }

  u16(v: number, label?: string): this {
    const at = this.reserve(2);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
    this.note(at, label);
    return this;
  }

  u24(v: number, label?: string): this {
    const at = this.reserve(3);
    this.buf[at] = v >>> 16;
    this.buf[at + 1] = v >>> 8;
    this.buf[at + 2] = v;
    this.note(at, label);
    return this;
  }

  u32(v: number, label?: string): this {
    const at = this.reserve(4);
    this.buf[at] = v >>> 24;
    this.buf[at + 1] = v >>> 16;
    this.buf[at + 2] = v >>> 8;
    this.buf[at + 3] = v;
    this.note(at, label);
    return this;
  }

  bytes(b: Uint8Array, label?: string): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    this.note(at, label);
    return this;
  }

  vec8(b: Uint8Array, label?: string): this {
    return this.prefixed(1, (w) => w.bytes(b), label);
  }

  vec16(b: Uint8Array, label?: string): this {
    return this.prefixed(2, (w) => w.bytes(b), label);
  }

  vec24(b: Uint8Array, label?: string): this {
    return this.prefixed(3, (w) => w.bytes(b), label);
  }

  /** Writes a length prefix of `width` bytes, back-filled once `body` has written. */
  prefixed(width: 1 | 2 | 3, body: (w: this) => void, label?: string): this {
    const at = this.reserve(width);
    body(this);
    const n = this.len - at - width;
    if (n >= 2 ** (8 * width))
      throw new TlsError('InternalError', `vector of ${n} bytes overflows a ${width}-byte length`);
    for (let i = width - 1, v = n; i >= 0; i--, v = Math.floor(v / 256)) this.buf[at + i] = v & 0xff;
    this.note(at, label);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Annotated hex dump: one line per note, for scanner evidence and lab transcripts. */
export function annotatedHex(b: Uint8Array, notes: readonly Note[]): string {
  return notes.map((n) => `${toHex(b.subarray(n.start, n.end)).padEnd(24)} ${n.label}`).join('\n');
}
