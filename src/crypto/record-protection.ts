/**
 * Record protection (RFC 5246 §6.2.3): turns TLSPlaintext fragments into
 * TLSCiphertext fragments and back, one direction per object. Headers and
 * framing belong to the record layer; this module sees fragments only. A sealed
 * fragment comes back as pieces, not copied together, with optional headroom in
 * the first for the record layer's header: bulk writes go out as one writev.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  randomFillSync,
  timingSafeEqual,
  type Cipher,
  type KeyObject,
} from 'node:crypto';
import { ProtocolVersion } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import type { CipherSuiteInfo, MacHash } from './suites.ts';

/** RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14. */
export const MAX_PLAINTEXT = 1 << 14;
/** RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
export const MAX_CIPHERTEXT = (1 << 14) + 2048;

export interface RecordProtector {
  /**
   * Protects one record's plaintext fragment and returns TLSCiphertext.fragment.
   * Sequence numbers are internal (RFC 5246 §6.1), from 0 for each connection state.
   * `padding` (low-level, tests): the CBC padding_length wanted, rounded down to a legal value
   * of at most 255 and never below the least that aligns; other protections ignore it.
   */
  seal(type: number, version: number, plaintext: Uint8Array, headroom?: number, padding?: number): Uint8Array[];
  /**
   * Returns the plaintext. Throws TlsError 'BadRecordMac' for any authentication,
   * padding or length failure, one error for all so there is no padding oracle
   * (RFC 5246 §7.2.2), and 'RecordOverflow' for a fragment over 2^14+2048 bytes or
   * an authentic plaintext over 2^14. A failed open leaves the state untouched.
   */
  open(type: number, version: number, fragment: Uint8Array): Uint8Array;
  /** The most a sealed fragment can exceed its plaintext by. */
  readonly overhead: number;
}

/** RFC 5246 §6.3: one direction's share of the key block. */
export interface DirectionKeys {
  macKey: Uint8Array;
  key: Uint8Array;
  /** AEAD implicit IV, or the TLS 1.0 CBC initial IV; empty for CBC in TLS 1.1+. */
  iv: Uint8Array;
}

export interface ConnectionKeys {
  client: DirectionKeys;
  server: DirectionKeys;
}

const TLS10 = ProtocolVersion.TLSv1;
const MAC_LENGTH: Readonly<Record<MacHash, number>> = { sha1: 20, sha256: 32, sha384: 48 };

function macLength(suite: CipherSuiteInfo): number {
  return suite.mac === null ? 0 : MAC_LENGTH[suite.mac];
}

/**
 * RFC 5246 §6.3 generates IVs only for implicit-nonce AEADs; TLS 1.1 dropped the
 * CBC IV from the key block (RFC 4346 §6.3), which TLS 1.0 still had (RFC 2246 §6.3).
 */
function implicitIvLength(suite: CipherSuiteInfo, version: number): number {
  if (suite.bulk.kind === 'aead') return suite.bulk.fixedIvLen;
  return version === TLS10 ? suite.bulk.fixedIvLen : 0;
}

function checkVersion(suite: CipherSuiteInfo, version: number): void {
  if (version < suite.minVersion || version > suite.maxVersion) {
    throw new TlsError('InternalError', `${suite.name} cannot run at version 0x${version.toString(16)}`);
  }
}

export function keyBlockLength(suite: CipherSuiteInfo, version: number): number {
  return 2 * (macLength(suite) + suite.bulk.keyLen + implicitIvLength(suite, version));
}

/**
 * RFC 5246 §6.3 order: client_write_MAC_key, server_write_MAC_key,
 * client_write_key, server_write_key, client_write_IV, server_write_IV.
 */
export function deriveConnectionKeys(suite: CipherSuiteInfo, version: number, keyBlock: Uint8Array): ConnectionKeys {
  checkVersion(suite, version);
  if (keyBlock.length < keyBlockLength(suite, version)) {
    throw new TlsError('InternalError', `key block of ${keyBlock.length} bytes is too short for ${suite.name}`);
  }
  let offset = 0;
  const take = (n: number): Uint8Array => keyBlock.slice(offset, (offset += n));
  const mac = macLength(suite);
  const key = suite.bulk.keyLen;
  const iv = implicitIvLength(suite, version);
  const clientMac = take(mac);
  const serverMac = take(mac);
  const clientKey = take(key);
  const serverKey = take(key);
  return {
    client: { macKey: clientMac, key: clientKey, iv: take(iv) },
    server: { macKey: serverMac, key: serverKey, iv: take(iv) },
  };
}

/**
 * RFC 5246 §6.1: a 64-bit counter that must never wrap; renegotiate (or close)
 * first. Kept as two 32-bit halves: it is written into every record's nonce and
 * MAC input, where BigInt writes took 1.4-1.9% of the bulk profile (docs/benchmarks.md).
 */
export class SequenceNumber {
  private hi: number;
  private lo: number;

  constructor(start = 0n) {
    this.hi = Number(start >> 32n);
    this.lo = Number(start & 0xffffffffn);
  }

  /** The current value (tests and diagnostics; the record path uses writeTo). */
  get value(): bigint {
    this.check();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Writes the current value as a big-endian uint64 at `offset`. */
  writeTo(b: Uint8Array, offset: number): void {
    this.check();
    const { hi, lo } = this;
    b[offset] = hi >>> 24;
    b[offset + 1] = hi >>> 16;
    b[offset + 2] = hi >>> 8;
    b[offset + 3] = hi;
    b[offset + 4] = lo >>> 24;
    b[offset + 5] = lo >>> 16;
    b[offset + 6] = lo >>> 8;
    b[offset + 7] = lo;
  }

  advance(): void {
    if (++this.lo === 0x100000000) {
      this.lo = 0;
      this.hi++;
    }
  }

  private check(): void {
    if (this.hi > 0xffffffff) throw new TlsError('InternalError', 'sequence number exhausted');
  }
}

function badRecordMac(): TlsError {
  return new TlsError('BadRecordMac', 'record failed authentication');
}

function checkPlaintextLength(length: number): void {
  if (length > MAX_PLAINTEXT) throw new TlsError('RecordOverflow', `plaintext of ${length} bytes`);
}

/** A Uint8Array view of node:crypto output, so callers never meet Buffer's view-returning slice(). */
function view(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + start, end - start);
}

type Direction = 'seal' | 'open';

abstract class Protector implements RecordProtector {
  private readonly seq = new SequenceNumber();
  /** seq_num(8) + type(1) + version(2) + length(2): the AEAD additional data and the MAC prefix. */
  private readonly header = Buffer.alloc(13);

  constructor(
    private readonly direction: Direction,
    readonly overhead: number,
  ) {}

  seal(type: number, version: number, plaintext: Uint8Array, headroom = 0, padding?: number): Uint8Array[] {
    this.expect('seal');
    if (plaintext.length > MAX_PLAINTEXT) {
      throw new TlsError('InternalError', `cannot seal ${plaintext.length} bytes in one record`);
    }
    const pieces = this.sealRecord(this.seq, type, version, plaintext, headroom, padding);
    this.seq.advance();
    return pieces;
  }

  open(type: number, version: number, fragment: Uint8Array): Uint8Array {
    this.expect('open');
    if (fragment.length > MAX_CIPHERTEXT) {
      throw new TlsError('RecordOverflow', `ciphertext of ${fragment.length} bytes`);
    }
    const plaintext = this.openRecord(this.seq, type, version, fragment);
    this.seq.advance();
    return plaintext;
  }

  protected abstract sealRecord(
    seq: SequenceNumber,
    type: number,
    version: number,
    plaintext: Uint8Array,
    headroom: number,
    padding: number | undefined,
  ): Uint8Array[];
  protected abstract openRecord(seq: SequenceNumber, type: number, version: number, fragment: Uint8Array): Uint8Array;

  /** RFC 5246 §6.2.3.1 (MAC input) and §6.2.3.3 (additional_data) share this layout. */
  protected recordHeader(seq: SequenceNumber, type: number, version: number, length: number): Buffer {
    const h = this.header;
    seq.writeTo(h, 0);
    h[8] = type;
    h[9] = version >> 8;
    h[10] = version;
    h[11] = length >> 8;
    h[12] = length;
    return h;
  }

  private expect(direction: Direction): void {
    if (direction !== this.direction) {
      throw new TlsError('InternalError', `record protector built to ${this.direction}, asked to ${direction}`);
    }
  }
}

const AEAD_TAG_LENGTH = 16;
/** RFC 5246 §6.2.3.2: padding_length is one byte. */
const MAX_CBC_PADDING = 255;

/**
 * AES-GCM, RFC 5288 §3: nonce = salt(4) from the key block || nonce_explicit(8)
 * carried in the record. The explicit part is the sequence number, which RFC 5288
 * allows and which can never repeat under one key.
 */
class AesGcmProtector extends Protector {
  private readonly nonce = Buffer.alloc(12);

  constructor(
    direction: Direction,
    private readonly algorithm: 'aes-128-gcm' | 'aes-256-gcm',
    private readonly key: KeyObject,
    salt: Uint8Array,
  ) {
    super(direction, 8 + AEAD_TAG_LENGTH);
    this.nonce.set(salt);
  }

  protected sealRecord(
    seq: SequenceNumber,
    type: number,
    version: number,
    plaintext: Uint8Array,
    headroom: number,
  ): Uint8Array[] {
    // The ciphertext goes out as node:crypto returned it: header, nonce and tag travel in their own small pieces.
    const head = Buffer.allocUnsafe(headroom + 8);
    seq.writeTo(head, headroom);
    seq.writeTo(this.nonce, 4);
    const cipher = createCipheriv(this.algorithm, this.key, this.nonce, { authTagLength: AEAD_TAG_LENGTH });
    cipher.setAAD(this.recordHeader(seq, type, version, plaintext.length));
    const body = cipher.update(plaintext);
    cipher.final();
    return [head, body, cipher.getAuthTag()];
  }

  protected openRecord(seq: SequenceNumber, type: number, version: number, fragment: Uint8Array): Uint8Array {
    const n = fragment.length - 8 - AEAD_TAG_LENGTH;
    if (n < 0) throw badRecordMac();
    this.nonce.set(fragment.subarray(0, 8), 4);
    const decipher = createDecipheriv(this.algorithm, this.key, this.nonce, { authTagLength: AEAD_TAG_LENGTH });
    decipher.setAuthTag(fragment.subarray(8 + n));
    decipher.setAAD(this.recordHeader(seq, type, version, n));
    const plaintext = decipher.update(fragment.subarray(8, 8 + n));
    try {
      decipher.final();
    } catch {
      throw badRecordMac();
    }
    checkPlaintextLength(n);
    return view(plaintext);
  }
}

/** ChaCha20-Poly1305, RFC 7905 §2: nonce = IV XOR the left-padded sequence number; nothing explicit. */
class ChaChaProtector extends Protector {
  private readonly nonce = Buffer.alloc(12);

  constructor(
    direction: Direction,
    private readonly key: KeyObject,
    private readonly iv: Uint8Array,
  ) {
    super(direction, AEAD_TAG_LENGTH);
  }

  private nonceFor(seq: SequenceNumber): Buffer {
    const n = this.nonce;
    n.fill(0, 0, 4);
    seq.writeTo(n, 4);
    for (let i = 0; i < 12; i++) n[i]! ^= this.iv[i]!;
    return n;
  }

  protected sealRecord(
    seq: SequenceNumber,
    type: number,
    version: number,
    plaintext: Uint8Array,
    headroom: number,
  ): Uint8Array[] {
    const n = plaintext.length;
    const cipher = createCipheriv('chacha20-poly1305', this.key, this.nonceFor(seq), {
      authTagLength: AEAD_TAG_LENGTH,
    });
    cipher.setAAD(this.recordHeader(seq, type, version, n), { plaintextLength: n });
    const body = cipher.update(plaintext);
    cipher.final();
    return [Buffer.allocUnsafe(headroom), body, cipher.getAuthTag()];
  }

  protected openRecord(seq: SequenceNumber, type: number, version: number, fragment: Uint8Array): Uint8Array {
    const n = fragment.length - AEAD_TAG_LENGTH;
    if (n < 0) throw badRecordMac();
    const decipher = createDecipheriv('chacha20-poly1305', this.key, this.nonceFor(seq), {
      authTagLength: AEAD_TAG_LENGTH,
    });
    decipher.setAuthTag(fragment.subarray(n));
    decipher.setAAD(this.recordHeader(seq, type, version, n), { plaintextLength: n });
    const plaintext = decipher.update(fragment.subarray(0, n));
    try {
      decipher.final();
    } catch {
      throw badRecordMac();
    }
    checkPlaintextLength(n);
    return view(plaintext);
  }
}

interface CbcParams {
  algorithm: string;
  blockLength: number;
  mac: MacHash;
  macLength: number;
  /** TLS 1.1+: each record starts with its own IV block (RFC 4346 §6.2.3.2). */
  explicitIv: boolean;
}

function cbcParams(suite: CipherSuiteInfo, version: number): CbcParams {
  if (suite.mac === null) throw new TlsError('InternalError', `${suite.name} has no MAC`);
  return {
    algorithm: suite.bulk.nodeName,
    blockLength: suite.bulk.blockLen,
    mac: suite.mac,
    macLength: MAC_LENGTH[suite.mac],
    explicitIv: version > TLS10,
  };
}

/**
 * MAC-then-encrypt, RFC 5246 §6.2.3.2. One cipher runs for the whole connection
 * state so CBC chains across records: that is TLS 1.0's IV rule (RFC 2246 §6.2.3.2,
 * the residue of the previous record), and for TLS 1.1+ a fresh random block is
 * enciphered in front of each record, whose ciphertext is the record's IV
 * (RFC 4346 §6.2.3.2, option (2)(b), with the CBC residue as mask). A per-record
 * random first block is what stops BEAST's predictable-IV attack.
 */
class CbcSealer extends Protector {
  private readonly cipher: Cipher;

  constructor(
    private readonly p: CbcParams,
    private readonly macKey: KeyObject,
    key: KeyObject,
    iv: Uint8Array,
  ) {
    super('seal', (p.explicitIv ? p.blockLength : 0) + p.macLength + p.blockLength);
    const initialIv = p.explicitIv ? Buffer.alloc(p.blockLength) : iv;
    this.cipher = createCipheriv(p.algorithm, key, initialIv);
    this.cipher.setAutoPadding(false);
  }

  protected sealRecord(
    seq: SequenceNumber,
    type: number,
    version: number,
    plaintext: Uint8Array,
    headroom: number,
    wanted: number | undefined,
  ): Uint8Array[] {
    const { blockLength, macLength } = this.p;
    const ivLength = this.p.explicitIv ? blockLength : 0;
    const n = plaintext.length;
    // RFC 5246 §6.2.3.2: padding_length+1 bytes, each holding padding_length; the minimum that
    // aligns, or up to 255 when a test asks for more (any multiple of the block length more is legal).
    const least = blockLength - 1 - ((n + macLength) % blockLength);
    const more = wanted === undefined ? 0 : Math.floor((Math.min(wanted, MAX_CBC_PADDING) - least) / blockLength);
    const padding = least + Math.max(0, more) * blockLength;
    const buf = Buffer.allocUnsafe(ivLength + n + macLength + padding + 1);
    if (ivLength > 0) randomFillSync(buf, 0, ivLength);
    buf.set(plaintext, ivLength);
    const mac = createHmac(this.p.mac, this.macKey)
      .update(this.recordHeader(seq, type, version, n))
      .update(plaintext);
    buf.set(mac.digest(), ivLength + n);
    buf.fill(padding, ivLength + n + macLength);
    return [Buffer.allocUnsafe(headroom), this.cipher.update(buf)];
  }

  protected openRecord(): Uint8Array {
    throw new TlsError('InternalError', 'unreachable');
  }
}

/**
 * The receiving side of MAC-then-encrypt. A fresh decipher per record with the
 * record's IV (TLS 1.1+) or the previous ciphertext block (TLS 1.0), so a rejected
 * record leaves the chain as it was.
 */
class CbcOpener extends Protector {
  private chainIv: Uint8Array;

  constructor(
    private readonly p: CbcParams,
    private readonly macKey: KeyObject,
    private readonly key: KeyObject,
    iv: Uint8Array,
  ) {
    super('open', (p.explicitIv ? p.blockLength : 0) + p.macLength + p.blockLength);
    this.chainIv = iv;
  }

  protected sealRecord(): Uint8Array[] {
    throw new TlsError('InternalError', 'unreachable');
  }

  protected openRecord(seq: SequenceNumber, type: number, version: number, fragment: Uint8Array): Uint8Array {
    const { blockLength, macLength, explicitIv } = this.p;
    const ivLength = explicitIv ? blockLength : 0;
    const bodyLength = fragment.length - ivLength;
    // RFC 5246 §6.2.3.2: a length that is not a whole number of blocks, or too short
    // for MAC and padding_length, is bad_record_mac like any other failure.
    const minBody = Math.ceil((macLength + 1) / blockLength) * blockLength;
    if (bodyLength < minBody || bodyLength % blockLength !== 0) throw badRecordMac();

    const iv = explicitIv ? fragment.subarray(0, blockLength) : this.chainIv;
    const decipher = createDecipheriv(this.p.algorithm, this.key, iv);
    decipher.setAutoPadding(false);
    const plain = decipher.update(fragment.subarray(ivLength));
    const contentLength = this.verify(seq, type, version, plain);
    checkPlaintextLength(contentLength);
    if (!explicitIv) this.chainIv = fragment.slice(fragment.length - blockLength);
    return view(plain, 0, contentLength);
  }

  /**
   * Checks padding and MAC together and returns the content length. No branch on
   * the padding outcome: bad padding is treated as none and the MAC still runs
   * (RFC 5246 §6.2.3.2 implementation note), and the bytes left out of the MAC are
   * hashed anyway so the hash work hardly depends on padding_length (Lucky Thirteen,
   * as Go's crypto/tls does). JavaScript gives no constant-time guarantee; this
   * removes the gross timing signal, not every one.
   */
  private verify(seq: SequenceNumber, type: number, version: number, plain: Uint8Array): number {
    const { macLength } = this.p;
    const n = plain.length;
    const padding = plain[n - 1]!;
    // 1 when padding_length + 1 + mac fits, by sign bit, not by branch.
    let good = ((n - padding - 1 - macLength) >>> 31) ^ 1;
    let diff = 0;
    const scan = Math.min(256, n);
    for (let i = 1; i <= scan; i++) {
      const inPadding = ((i - padding - 2) >>> 31) & 1;
      diff |= inPadding * (plain[n - i]! ^ padding);
    }
    good &= ((diff - 1) >>> 31) & 1;

    const contentLength = n - 1 - padding * good - macLength;
    const header = this.recordHeader(seq, type, version, contentLength);
    const expected = createHmac(this.p.mac, this.macKey)
      .update(header)
      .update(plain.subarray(0, contentLength))
      .digest();
    createHash(this.p.mac)
      .update(plain.subarray(contentLength + macLength, n - 1))
      .digest();
    const received = plain.subarray(contentLength, contentLength + macLength);
    const macGood = timingSafeEqual(expected, received) ? 1 : 0;
    if ((good & macGood) === 0) throw badRecordMac();
    return contentLength;
  }
}

function build(direction: Direction, suite: CipherSuiteInfo, version: number, keys: DirectionKeys): RecordProtector {
  checkVersion(suite, version);
  const key = createSecretKey(keys.key);
  const name = suite.bulk.nodeName;
  if (name === 'aes-128-gcm' || name === 'aes-256-gcm') return new AesGcmProtector(direction, name, key, keys.iv);
  if (name === 'chacha20-poly1305') return new ChaChaProtector(direction, key, keys.iv);
  const p = cbcParams(suite, version);
  const macKey = createSecretKey(keys.macKey);
  return direction === 'seal' ? new CbcSealer(p, macKey, key, keys.iv) : new CbcOpener(p, macKey, key, keys.iv);
}

/** Protects the records one side writes, with that side's keys. */
export function createSealer(suite: CipherSuiteInfo, version: number, keys: DirectionKeys): RecordProtector {
  return build('seal', suite, version, keys);
}

/** Opens the records the other side writes, with the other side's keys. */
export function createOpener(suite: CipherSuiteInfo, version: number, keys: DirectionKeys): RecordProtector {
  return build('open', suite, version, keys);
}

/** The initial epoch's null cipher (RFC 5246 §6.1, TLS_NULL_WITH_NULL_NULL). */
export const NULL_PROTECTOR: RecordProtector = Object.freeze({
  overhead: 0,
  seal(_type: number, _version: number, plaintext: Uint8Array, headroom = 0): Uint8Array[] {
    if (plaintext.length > MAX_PLAINTEXT) {
      throw new TlsError('InternalError', `cannot send ${plaintext.length} bytes in one record`);
    }
    return [Buffer.allocUnsafe(headroom), plaintext];
  },
  open(_type: number, _version: number, fragment: Uint8Array): Uint8Array {
    checkPlaintextLength(fragment.length);
    return fragment;
  },
});
