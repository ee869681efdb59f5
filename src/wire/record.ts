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

/** A record's bytes on the wire: its 5-byte header (RFC 5246 §6.2.1), then the fragment. */
export function encodeRecord(record: Pick<Record, 'type' | 'version' | 'fragment'>): Uint8Array {
  const out = new Uint8Array(5 + record.fragment.length);
  out.set(encodeRecordHeader(record.type, record.version, record.fragment.length));
  out.set(record.fragment, 5);
  return out;
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

/** The smallest body buffer the joiner allocates for a message split across records. */
const JOINER_MIN_CAPACITY = 256;

const EMPTY = new Uint8Array(0);

/**
 * Reassembles handshake messages from handshake-record fragments. The cap on one
 * message's size bounds memory; it is checked from the 4-byte header, before the
 * body arrives.
 *
 * Each message is copied once, into a buffer of its own and exactly its size,
 * which the transcript and the decoded message then share: a message inside one
 * fragment is copied out of it whole; a message split across records is
 * reassembled in a buffer that becomes the message when the last byte arrives.
 * That buffer grows geometrically (at least doubling what it holds), so a
 * message sent as one-byte records is copied a bounded number of times instead
 * of once per record; it never grows past twice what has actually arrived, nor
 * past the message the header announces: a peer that claims a large length
 * without sending it pins no memory.
 */
export class HandshakeJoiner {
  /** Whole messages not yet taken by next(), in order. */
  private readonly ready: Uint8Array[] = [];
  /** A header over the cap behind the ready messages: thrown once they are taken up to it. */
  private failure: TlsError | undefined;
  /** The first bytes of a message split across records, until its 4-byte header is whole. */
  private readonly header = new Uint8Array(HANDSHAKE_HEADER_LEN);
  private headerFilled = 0;
  /** The split message being reassembled, header included: body[0, filled) of its announced total. */
  private body = EMPTY;
  private filled = 0;
  private total = 0;
  private copied = 0;

  constructor(private readonly maxMessageSize: number) {}

  get isEmpty(): boolean {
    return this.ready.length === 0 && this.headerFilled === 0 && this.filled === 0 && this.failure === undefined;
  }

  /** Bytes copied so far by reassembly (messages out, split messages in, buffer growth): for tests and benchmarks. */
  get bytesCopied(): number {
    return this.copied;
  }

  /** The size of the reassembly buffer now. */
  get capacity(): number {
    return this.body.length;
  }

  push(fragment: Uint8Array): void {
    if (this.failure) return;
    let at = this.continueSplit(fragment);
    while (at < fragment.length) {
      const left = fragment.length - at;
      if (left < HANDSHAKE_HEADER_LEN) {
        this.header.set(fragment.subarray(at), 0);
        this.headerFilled = left;
        return;
      }
      const total = this.announced(fragment, at);
      if (total === undefined) return;
      if (left < total) {
        this.startBody(total, fragment.subarray(at));
        return;
      }
      // Copied, not viewed: the fragment may be a view of a larger socket buffer (a Node Buffer's
      // slice() is a view too), which the message's decoded fields would otherwise keep alive.
      const message = new Uint8Array(total);
      message.set(fragment.subarray(at, at + total));
      this.copied += total;
      this.ready.push(message);
      at += total;
    }
  }

  /** The next complete message, header included (the transcript needs the raw bytes). */
  next(): Uint8Array | undefined {
    const message = this.ready.shift();
    // A header over the cap ends the stream once it is in front: the message before it is not returned.
    if (this.ready.length === 0 && this.failure) throw this.failure;
    return message;
  }

  /** Feeds the split message in progress; returns how much of the fragment it took. */
  private continueSplit(fragment: Uint8Array): number {
    let at = 0;
    if (this.headerFilled > 0) {
      at = Math.min(HANDSHAKE_HEADER_LEN - this.headerFilled, fragment.length);
      this.header.set(fragment.subarray(0, at), this.headerFilled);
      this.headerFilled += at;
      if (this.headerFilled < HANDSHAKE_HEADER_LEN) return at;
      this.headerFilled = 0;
      const total = this.announced(this.header, 0);
      if (total === undefined) return fragment.length;
      this.startBody(total, this.header);
    }
    if (this.filled === 0) return at;
    const n = Math.min(this.total - this.filled, fragment.length - at);
    this.append(fragment.subarray(at, at + n));
    return at + n;
  }

  /** Starts reassembling a message of `total` bytes (header included) from its first bytes. */
  private startBody(total: number, first: Uint8Array): void {
    this.total = total;
    this.append(first);
  }

  private append(bytes: Uint8Array): void {
    const needed = this.filled + bytes.length;
    if (needed > this.body.length) {
      // Double what will be held, but never beyond the message the header announces (bounded by
      // the cap): geometric growth keeps the total copying linear.
      const capacity = Math.min(this.total, Math.max(JOINER_MIN_CAPACITY, 2 * needed));
      const next = new Uint8Array(capacity);
      next.set(this.body.subarray(0, this.filled));
      this.copied += this.filled;
      this.body = next;
    }
    this.body.set(bytes, this.filled);
    this.filled += bytes.length;
    this.copied += bytes.length;
    if (this.filled < this.total) return;
    // The buffer is never larger than the message: it becomes the message, without a copy.
    this.ready.push(this.body);
    this.body = EMPTY;
    this.filled = this.total = 0;
  }

  /**
   * The total length (header included) of the message whose header is at `at`, checked
   * against the cap; undefined when it is over the cap and messages before it are still to
   * be taken (next() throws once they are).
   */
  private announced(b: Uint8Array, at: number): number | undefined {
    const len = (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    if (len <= this.maxMessageSize) return HANDSHAKE_HEADER_LEN + len;
    const error = new TlsError(
      'MessageTooLarge',
      `handshake message of ${len} bytes exceeds the cap of ${this.maxMessageSize}`,
    );
    if (this.ready.length === 0) throw error;
    this.failure = error;
    return undefined;
  }
}
