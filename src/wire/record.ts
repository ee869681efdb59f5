/**
 * The record layer's framing (RFC 5246 §6.2): headers, a bounded deframer for
 * incoming bytes, and a joiner that reassembles handshake messages split across
 * or coalesced within records (§6.2.1).
 */
import { ContentType } from './enums.ts';
import { TlsError } from './errors.ts';

export const RECORD_HEADER_LEN = 5;
/** RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14. */
export const MAX_PLAINTEXT = 16384;
/** RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
export const MAX_CIPHERTEXT = MAX_PLAINTEXT + 2048;
export const HANDSHAKE_HEADER_LEN = 4;

export interface RecordHeader {
  type: number;
  version: number;
  length: number;
}

export interface Record extends RecordHeader {
  fragment: Uint8Array;
}

export function encodeRecordHeader(type: number, version: number, length: number): Uint8Array {
  return Uint8Array.of(type, version >>> 8, version & 0xff, length >>> 8, length & 0xff);
}

export function isKnownContentType(t: number): boolean {
  return t >= ContentType.change_cipher_spec && t <= ContentType.application_data;
}

/**
 * Splits a byte stream into records, holding at most one incomplete record
 * (header + 2^14 + 2048 bytes), so a hostile peer cannot grow the buffer.
 */
export class Deframer {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  get pending(): number {
    return this.buffered;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.buffered += bytes.length;
  }

  /** The next complete record, or undefined when more bytes are needed. */
  next(): Record | undefined {
    if (this.buffered < RECORD_HEADER_LEN) return undefined;
    const head = this.peek(RECORD_HEADER_LEN);
    const type = head[0]!;
    const version = (head[1]! << 8) | head[2]!;
    const length = (head[3]! << 8) | head[4]!;
    if (!isKnownContentType(type)) {
      // Not TLS at all (an HTTP reply, an SSLv2 hello, random bytes): RFC 5246 §6 unexpected_message.
      const first = head.subarray(0, RECORD_HEADER_LEN);
      const text = first.every((b) => b >= 0x20 && b < 0x7f)
        ? ` (it sent text: ${JSON.stringify(String.fromCharCode(...first))})`
        : '';
      throw new TlsError('UnexpectedMessage', `not TLS: record of unknown content type ${type}${text}`);
    }
    if (head[1] !== 3) throw new TlsError('DecodeError', `record version 0x${version.toString(16)} is not TLS`);
    if (length > MAX_CIPHERTEXT) throw new TlsError('RecordOverflow', `record length ${length} exceeds 2^14+2048`);
    const total = RECORD_HEADER_LEN + length;
    if (this.buffered < total) return undefined;
    const bytes = this.take(total);
    return { type, version, length, fragment: bytes.subarray(RECORD_HEADER_LEN) };
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    this.coalesce(n);
    return this.chunks[0]!;
  }

  private take(n: number): Uint8Array {
    let first = this.chunks[0]!;
    if (first.length < n) {
      this.coalesce(n);
      first = this.chunks[0]!;
    }
    // Zero-copy when the record sits inside one chunk, the common case for bulk reads.
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }

  /** Merges leading chunks until the first holds at least n bytes. */
  private coalesce(n: number): void {
    const merged = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const use = Math.min(c.length, n - at);
      merged.set(c.subarray(0, use), at);
      at += use;
      if (use === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(use);
    }
    this.chunks.unshift(merged);
  }
}

/** The smallest buffer the joiner allocates: most handshake messages fit, and growth starts from here. */
const JOINER_MIN_CAPACITY = 256;

/**
 * Reassembles handshake messages from handshake-record fragments. The cap on one
 * message's size bounds memory; it is checked from the 4-byte header, before the
 * body arrives.
 *
 * Reassembly is linear in the bytes received: the buffer grows geometrically
 * (at least doubling what it holds), so a message sent as one-byte records is
 * copied a bounded number of times instead of once per record. The buffer never
 * grows past twice what has actually arrived, nor past the message the header
 * announces: a peer that claims a large length without sending it pins no memory.
 */
export class HandshakeJoiner {
  private buf = new Uint8Array(0);
  /** The live bytes are buf[start, end). */
  private start = 0;
  private end = 0;
  private copied = 0;

  constructor(private readonly maxMessageSize: number) {}

  get isEmpty(): boolean {
    return this.end === this.start;
  }

  /** Bytes copied so far by reassembly (fragments in, buffer growth, messages out): for tests and benchmarks. */
  get bytesCopied(): number {
    return this.copied;
  }

  /** The size of the reassembly buffer now. */
  get capacity(): number {
    return this.buf.length;
  }

  push(fragment: Uint8Array): void {
    if (fragment.length === 0) return;
    this.reserve(fragment.length);
    this.buf.set(fragment, this.end);
    this.end += fragment.length;
    this.copied += fragment.length;
    this.checkHeader();
  }

  /** The next complete message, header included (the transcript needs the raw bytes). */
  next(): Uint8Array | undefined {
    const total = this.announcedTotal();
    if (total === undefined || this.end - this.start < total) return undefined;
    const msg = this.buf.slice(this.start, this.start + total);
    this.copied += total;
    this.start += total;
    if (this.start === this.end) this.start = this.end = 0;
    this.checkHeader();
    return msg;
  }

  /** Header plus body of the message at the front, once its header is complete. */
  private announcedTotal(): number | undefined {
    if (this.end - this.start < HANDSHAKE_HEADER_LEN) return undefined;
    const b = this.buf;
    const at = this.start;
    return HANDSHAKE_HEADER_LEN + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  }

  /** Makes room for `extra` more bytes after the live ones. */
  private reserve(extra: number): void {
    if (this.end + extra <= this.buf.length) return;
    const live = this.end - this.start;
    const needed = live + extra;
    // Double what will be held, but not beyond the message the header announces (bounded by the
    // cap, checked from the header): geometric growth keeps the total copying linear.
    let capacity = Math.max(JOINER_MIN_CAPACITY, 2 * needed);
    const announced = this.announcedTotal();
    if (announced !== undefined && announced >= needed) capacity = Math.min(capacity, announced);
    capacity = Math.max(capacity, needed);
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(this.start, this.end));
    this.copied += live;
    this.buf = next;
    this.start = 0;
    this.end = live;
  }

  private checkHeader(): void {
    const total = this.announcedTotal();
    if (total === undefined) return;
    const len = total - HANDSHAKE_HEADER_LEN;
    if (len > this.maxMessageSize) {
      throw new TlsError(
        'MessageTooLarge',
        `handshake message of ${len} bytes exceeds the cap of ${this.maxMessageSize}`,
      );
    }
  }
}
