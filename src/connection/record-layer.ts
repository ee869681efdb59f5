/**
 * The record layer of one connection: deframing and opening incoming records,
 * fragmenting and sealing outgoing ones (RFC 5246 §6.2), and the switch of each
 * direction's keys at ChangeCipherSpec (§7.1). Handshake messages of one flight
 * are coalesced into as few records as possible, as OpenSSL does.
 */
import type { RecordProtector } from '../crypto/record-protection.ts';
import { NULL_PROTECTOR } from '../crypto/record-protection.ts';
import { ContentType, ProtocolVersion } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import { Deframer, MAX_PLAINTEXT, RECORD_HEADER_LEN, type Record } from '../wire/record.ts';

export interface PlainRecord {
  type: number;
  version: number;
  /** The record's length on the wire (ciphertext). */
  wireLength: number;
  encrypted: boolean;
  data: Uint8Array;
}

export interface RecordObserver {
  (direction: 'in' | 'out', record: PlainRecord): void;
}

/** One record a layout asks for: its plaintext and, for CBC suites, the padding_length wanted. */
export interface LaidOutRecord {
  plaintext: Uint8Array;
  /** CBC only (RFC 5246 §6.2.3.2): rounded to a legal value; undefined: the least that aligns. */
  padding?: number;
}

/**
 * Low-level, for tests of what an on-path observer can see (test/guard/evasion.test.ts): given
 * the plaintext the record layer is about to seal as one or more records, returns the records to
 * seal instead (any split, or bytes a hostile peer adds, each at most 2^14), or undefined for the
 * usual layout. Called for every outgoing record, ChangeCipherSpec included.
 */
export interface RecordLayout {
  (record: { type: number; plaintext: Uint8Array; encrypted: boolean }): readonly LaidOutRecord[] | undefined;
}

export class RecordLayer {
  /** Version written in record headers: TLS 1.0 until ServerHello, as most stacks do for compatibility. */
  writeVersion: number = ProtocolVersion.TLSv1;
  /** Once the version is agreed, every incoming record must carry it (RFC 5246 §6.2.1, Appendix E.1). */
  expectedReadVersion: number | undefined;
  private reader: RecordProtector = NULL_PROTECTOR;
  private writer: RecordProtector = NULL_PROTECTOR;
  private pendingReader: RecordProtector | undefined;
  private readonly deframer = new Deframer();
  private readonly out: Uint8Array[] = [];
  private outBytes = 0;
  private handshakeBuf: Uint8Array[] = [];
  private handshakeBytes = 0;
  readEncrypted = false;
  writeEncrypted = false;
  observer: RecordObserver | undefined;
  /** Low-level: see RecordLayout. */
  layout: RecordLayout | undefined;

  receive(bytes: Uint8Array): void {
    this.deframer.push(bytes);
  }

  get bufferedIn(): number {
    return this.deframer.pending;
  }

  /** The next incoming record, opened with the current read keys. */
  nextRecord(): PlainRecord | undefined {
    const rec: Record | undefined = this.deframer.next();
    if (!rec) return undefined;
    if (this.expectedReadVersion !== undefined && rec.version !== this.expectedReadVersion) {
      throw new TlsError('ProtocolVersion', `record version 0x${rec.version.toString(16)} after agreeing on another`);
    }
    const data = this.reader.open(rec.type, rec.version, rec.fragment);
    if (data.length > MAX_PLAINTEXT) throw new TlsError('RecordOverflow', 'plaintext longer than 2^14');
    const plain = { type: rec.type, version: rec.version, wireLength: rec.length, encrypted: this.readEncrypted, data };
    this.observer?.('in', plain);
    return plain;
  }

  /** Low-level: the next record as it is on the wire, unopened (a relay past a key change it does not share). */
  nextRawRecord(): Record | undefined {
    return this.deframer.next();
  }

  /** Low-level: bytes for the wire as they are (records relayed untouched). */
  writeRaw(bytes: Uint8Array): void {
    this.flushHandshake();
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  /** Keys that take effect for reading at the peer's next ChangeCipherSpec. */
  setPendingReader(p: RecordProtector): void {
    this.pendingReader = p;
  }

  /** RFC 5246 §7.1: on receiving ChangeCipherSpec the pending read state becomes current. */
  activatePendingReader(): void {
    if (!this.pendingReader) throw new TlsError('UnexpectedMessage', 'ChangeCipherSpec before keys were agreed');
    this.reader = this.pendingReader;
    this.pendingReader = undefined;
    this.readEncrypted = true;
  }

  get hasPendingReader(): boolean {
    return this.pendingReader !== undefined;
  }

  /** Sends ChangeCipherSpec under the old keys, then switches to `next` for writing. */
  changeWriteKeys(next: RecordProtector): void {
    this.flushHandshake();
    this.writeRecord(ContentType.change_cipher_spec, Uint8Array.of(1));
    this.writer = next;
    this.writeEncrypted = true;
  }

  /** Queues one handshake message; flushHandshake() writes the flight. */
  queueHandshake(raw: Uint8Array): void {
    this.handshakeBuf.push(raw);
    this.handshakeBytes += raw.length;
  }

  /** Drops a half-built flight, so a fatal alert is not preceded by messages of a failed handshake. */
  discardHandshake(): void {
    this.handshakeBuf = [];
    this.handshakeBytes = 0;
  }

  flushHandshake(): void {
    if (this.handshakeBytes === 0) return;
    const all =
      this.handshakeBuf.length === 1 ? this.handshakeBuf[0]! : concatAll(this.handshakeBuf, this.handshakeBytes);
    this.handshakeBuf = [];
    this.handshakeBytes = 0;
    this.writeRecord(ContentType.handshake, all);
  }

  /** Writes data as records of at most 2^14 bytes each. */
  writeRecord(type: number, data: Uint8Array): void {
    if (type !== ContentType.handshake) this.flushHandshake();
    const laidOut = this.layout?.({ type, plaintext: data, encrypted: this.writeEncrypted });
    if (laidOut !== undefined) {
      for (const r of laidOut) this.sealOne(type, r.plaintext, r.padding);
      return;
    }
    if (data.length === 0) return this.sealOne(type, data);
    for (let at = 0; at < data.length; at += MAX_PLAINTEXT) {
      this.sealOne(type, data.subarray(at, Math.min(at + MAX_PLAINTEXT, data.length)));
    }
  }

  private sealOne(type: number, chunk: Uint8Array, padding?: number): void {
    const pieces = this.writer.seal(type, this.writeVersion, chunk, RECORD_HEADER_LEN, padding);
    let length = -RECORD_HEADER_LEN;
    for (const p of pieces) length += p.length;
    const head = pieces[0]!;
    head[0] = type;
    head[1] = this.writeVersion >>> 8;
    head[2] = this.writeVersion & 0xff;
    head[3] = length >>> 8;
    head[4] = length & 0xff;
    for (const p of pieces) if (p.length > 0) this.out.push(p);
    this.outBytes += RECORD_HEADER_LEN + length;
    this.observer?.('out', {
      type,
      version: this.writeVersion,
      wireLength: length,
      encrypted: this.writeEncrypted,
      data: chunk,
    });
  }

  get pendingOutput(): number {
    return this.outBytes + this.handshakeBytes;
  }

  /** Everything queued for the wire, as one buffer (empty when nothing is queued). */
  takeOutput(): Uint8Array {
    const chunks = this.takeOutputChunks();
    return chunks.length === 1
      ? chunks[0]!
      : concatAll(
          chunks,
          chunks.reduce((n, c) => n + c.length, 0),
        );
  }

  /** Everything queued for the wire, as the record pieces themselves: no copy, for a vectored socket write. */
  takeOutputChunks(): Uint8Array[] {
    this.flushHandshake();
    const chunks = this.out.splice(0);
    this.outBytes = 0;
    return chunks;
  }
}

function concatAll(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
