/**
 * Record protection (RFC 5246 §6.2.3): turns TLSPlaintext fragments into
 * TLSCiphertext fragments and back, one direction per object. Headers and
 * framing belong to the record layer; this module sees fragments only.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, randomFillSync, timingSafeEqual, } from 'node:crypto';
import { ProtocolVersion } from "../wire/enums.js";
import { TlsError } from "../wire/errors.js";
/** RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14. */
export const MAX_PLAINTEXT = 1 << 14;
/** RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
export const MAX_CIPHERTEXT = (1 << 14) + 2048;
const TLS10 = ProtocolVersion.TLSv1;
const MAC_LENGTH = { sha1: 20, sha256: 32, sha384: 48 };
const MAX_SEQUENCE = (1n << 64n) - 1n;
function macLength(suite) {
    return suite.mac === null ? 0 : MAC_LENGTH[suite.mac];
}
/**
 * RFC 5246 §6.3 generates IVs only for implicit-nonce AEADs; TLS 1.1 dropped the
 * CBC IV from the key block (RFC 4346 §6.3), which TLS 1.0 still had (RFC 2246 §6.3).
 */
function implicitIvLength(suite, version) {
    if (suite.bulk.kind === 'aead')
        return suite.bulk.fixedIvLen;
    return version === TLS10 ? suite.bulk.fixedIvLen : 0;
}
function checkVersion(suite, version) {
    if (version < suite.minVersion || version > suite.maxVersion) {
        throw new TlsError('InternalError', `${suite.name} cannot run at version 0x${version.toString(16)}`);
    }
}
export function keyBlockLength(suite, version) {
    return 2 * (macLength(suite) + suite.bulk.keyLen + implicitIvLength(suite, version));
}
/**
 * RFC 5246 §6.3 order: client_write_MAC_key, server_write_MAC_key,
 * client_write_key, server_write_key, client_write_IV, server_write_IV.
 */
export function deriveConnectionKeys(suite, version, keyBlock) {
    checkVersion(suite, version);
    if (keyBlock.length < keyBlockLength(suite, version)) {
        throw new TlsError('InternalError', `key block of ${keyBlock.length} bytes is too short for ${suite.name}`);
    }
    let offset = 0;
    const take = (n) => keyBlock.slice(offset, (offset += n));
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
/** RFC 5246 §6.1: a 64-bit counter that must never wrap; renegotiate (or close) first. */
export class SequenceNumber {
    value;
    constructor(value = 0n) {
        this.value = value;
    }
    current() {
        if (this.value > MAX_SEQUENCE)
            throw new TlsError('InternalError', 'sequence number exhausted');
        return this.value;
    }
    advance() {
        this.value++;
    }
}
function badRecordMac() {
    return new TlsError('BadRecordMac', 'record failed authentication');
}
function checkPlaintextLength(length) {
    if (length > MAX_PLAINTEXT)
        throw new TlsError('RecordOverflow', `plaintext of ${length} bytes`);
}
/** A Uint8Array view of node:crypto output, so callers never meet Buffer's view-returning slice(). */
function view(b, start = 0, end = b.length) {
    return new Uint8Array(b.buffer, b.byteOffset + start, end - start);
}
class Protector {
    direction;
    overhead;
    seq = new SequenceNumber();
    /** seq_num(8) + type(1) + version(2) + length(2): the AEAD additional data and the MAC prefix. */
    header = Buffer.alloc(13);
    constructor(direction, overhead) {
        this.direction = direction;
        this.overhead = overhead;
    }
    seal(type, version, plaintext) {
        this.expect('seal');
        if (plaintext.length > MAX_PLAINTEXT) {
            throw new TlsError('InternalError', `cannot seal ${plaintext.length} bytes in one record`);
        }
        const fragment = this.sealRecord(this.seq.current(), type, version, plaintext);
        this.seq.advance();
        return fragment;
    }
    open(type, version, fragment) {
        this.expect('open');
        if (fragment.length > MAX_CIPHERTEXT) {
            throw new TlsError('RecordOverflow', `ciphertext of ${fragment.length} bytes`);
        }
        const plaintext = this.openRecord(this.seq.current(), type, version, fragment);
        this.seq.advance();
        return plaintext;
    }
    /** RFC 5246 §6.2.3.1 (MAC input) and §6.2.3.3 (additional_data) share this layout. */
    recordHeader(seq, type, version, length) {
        const h = this.header;
        h.writeBigUInt64BE(seq, 0);
        h[8] = type;
        h[9] = version >> 8;
        h[10] = version;
        h[11] = length >> 8;
        h[12] = length;
        return h;
    }
    expect(direction) {
        if (direction !== this.direction) {
            throw new TlsError('InternalError', `record protector built to ${this.direction}, asked to ${direction}`);
        }
    }
}
const AEAD_TAG_LENGTH = 16;
/**
 * AES-GCM, RFC 5288 §3: nonce = salt(4) from the key block || nonce_explicit(8)
 * carried in the record. The explicit part is the sequence number, which RFC 5288
 * allows and which can never repeat under one key.
 */
class AesGcmProtector extends Protector {
    algorithm;
    key;
    nonce = Buffer.alloc(12);
    constructor(direction, algorithm, key, salt) {
        super(direction, 8 + AEAD_TAG_LENGTH);
        this.algorithm = algorithm;
        this.key = key;
        this.nonce.set(salt);
    }
    sealRecord(seq, type, version, plaintext) {
        const n = plaintext.length;
        const out = Buffer.allocUnsafe(8 + n + AEAD_TAG_LENGTH);
        out.writeBigUInt64BE(seq, 0);
        this.nonce.writeBigUInt64BE(seq, 4);
        const cipher = createCipheriv(this.algorithm, this.key, this.nonce, { authTagLength: AEAD_TAG_LENGTH });
        cipher.setAAD(this.recordHeader(seq, type, version, n));
        out.set(cipher.update(plaintext), 8);
        cipher.final();
        out.set(cipher.getAuthTag(), 8 + n);
        return view(out);
    }
    openRecord(seq, type, version, fragment) {
        const n = fragment.length - 8 - AEAD_TAG_LENGTH;
        if (n < 0)
            throw badRecordMac();
        this.nonce.set(fragment.subarray(0, 8), 4);
        const decipher = createDecipheriv(this.algorithm, this.key, this.nonce, { authTagLength: AEAD_TAG_LENGTH });
        decipher.setAuthTag(fragment.subarray(8 + n));
        decipher.setAAD(this.recordHeader(seq, type, version, n));
        const plaintext = decipher.update(fragment.subarray(8, 8 + n));
        try {
            decipher.final();
        }
        catch {
            throw badRecordMac();
        }
        checkPlaintextLength(n);
        return view(plaintext);
    }
}
/** ChaCha20-Poly1305, RFC 7905 §2: nonce = IV XOR the left-padded sequence number; nothing explicit. */
class ChaChaProtector extends Protector {
    key;
    iv;
    nonce = Buffer.alloc(12);
    constructor(direction, key, iv) {
        super(direction, AEAD_TAG_LENGTH);
        this.key = key;
        this.iv = iv;
    }
    nonceFor(seq) {
        this.nonce.set(this.iv);
        this.nonce.writeBigUInt64BE(this.nonce.readBigUInt64BE(4) ^ seq, 4);
        return this.nonce;
    }
    sealRecord(seq, type, version, plaintext) {
        const n = plaintext.length;
        const out = Buffer.allocUnsafe(n + AEAD_TAG_LENGTH);
        const cipher = createCipheriv('chacha20-poly1305', this.key, this.nonceFor(seq), {
            authTagLength: AEAD_TAG_LENGTH,
        });
        cipher.setAAD(this.recordHeader(seq, type, version, n), { plaintextLength: n });
        out.set(cipher.update(plaintext), 0);
        cipher.final();
        out.set(cipher.getAuthTag(), n);
        return view(out);
    }
    openRecord(seq, type, version, fragment) {
        const n = fragment.length - AEAD_TAG_LENGTH;
        if (n < 0)
            throw badRecordMac();
        const decipher = createDecipheriv('chacha20-poly1305', this.key, this.nonceFor(seq), {
            authTagLength: AEAD_TAG_LENGTH,
        });
        decipher.setAuthTag(fragment.subarray(n));
        decipher.setAAD(this.recordHeader(seq, type, version, n), { plaintextLength: n });
        const plaintext = decipher.update(fragment.subarray(0, n));
        try {
            decipher.final();
        }
        catch {
            throw badRecordMac();
        }
        checkPlaintextLength(n);
        return view(plaintext);
    }
}
function cbcParams(suite, version) {
    if (suite.mac === null)
        throw new TlsError('InternalError', `${suite.name} has no MAC`);
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
    p;
    macKey;
    cipher;
    constructor(p, macKey, key, iv) {
        super('seal', (p.explicitIv ? p.blockLength : 0) + p.macLength + p.blockLength);
        this.p = p;
        this.macKey = macKey;
        const initialIv = p.explicitIv ? Buffer.alloc(p.blockLength) : iv;
        this.cipher = createCipheriv(p.algorithm, key, initialIv);
        this.cipher.setAutoPadding(false);
    }
    sealRecord(seq, type, version, plaintext) {
        const { blockLength, macLength } = this.p;
        const ivLength = this.p.explicitIv ? blockLength : 0;
        const n = plaintext.length;
        // RFC 5246 §6.2.3.2: padding_length+1 bytes, each holding padding_length; the minimum that aligns.
        const padding = blockLength - 1 - ((n + macLength) % blockLength);
        const buf = Buffer.allocUnsafe(ivLength + n + macLength + padding + 1);
        if (ivLength > 0)
            randomFillSync(buf, 0, ivLength);
        buf.set(plaintext, ivLength);
        const mac = createHmac(this.p.mac, this.macKey).update(this.recordHeader(seq, type, version, n)).update(plaintext);
        buf.set(mac.digest(), ivLength + n);
        buf.fill(padding, ivLength + n + macLength);
        return view(this.cipher.update(buf));
    }
    openRecord() {
        throw new TlsError('InternalError', 'unreachable');
    }
}
/**
 * The receiving side of MAC-then-encrypt. A fresh decipher per record with the
 * record's IV (TLS 1.1+) or the previous ciphertext block (TLS 1.0), so a rejected
 * record leaves the chain as it was.
 */
class CbcOpener extends Protector {
    p;
    macKey;
    key;
    chainIv;
    constructor(p, macKey, key, iv) {
        super('open', (p.explicitIv ? p.blockLength : 0) + p.macLength + p.blockLength);
        this.p = p;
        this.macKey = macKey;
        this.key = key;
        this.chainIv = iv;
    }
    sealRecord() {
        throw new TlsError('InternalError', 'unreachable');
    }
    openRecord(seq, type, version, fragment) {
        const { blockLength, macLength, explicitIv } = this.p;
        const ivLength = explicitIv ? blockLength : 0;
        const bodyLength = fragment.length - ivLength;
        // RFC 5246 §6.2.3.2: a length that is not a whole number of blocks, or too short
        // for MAC and padding_length, is bad_record_mac like any other failure.
        const minBody = Math.ceil((macLength + 1) / blockLength) * blockLength;
        if (bodyLength < minBody || bodyLength % blockLength !== 0)
            throw badRecordMac();
        const iv = explicitIv ? fragment.subarray(0, blockLength) : this.chainIv;
        const decipher = createDecipheriv(this.p.algorithm, this.key, iv);
        decipher.setAutoPadding(false);
        const plain = decipher.update(fragment.subarray(ivLength));
        const contentLength = this.verify(seq, type, version, plain);
        checkPlaintextLength(contentLength);
        if (!explicitIv)
            this.chainIv = fragment.slice(fragment.length - blockLength);
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
    verify(seq, type, version, plain) {
        const { macLength } = this.p;
        const n = plain.length;
        const padding = plain[n - 1];
        // 1 when padding_length + 1 + mac fits, by sign bit, not by branch.
        let good = ((n - padding - 1 - macLength) >>> 31) ^ 1;
        let diff = 0;
        const scan = Math.min(256, n);
        for (let i = 1; i <= scan; i++) {
            const inPadding = ((i - padding - 2) >>> 31) & 1;
            diff |= inPadding * (plain[n - i] ^ padding);
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
        if ((good & macGood) === 0)
            throw badRecordMac();
        return contentLength;
    }
}
function build(direction, suite, version, keys) {
    checkVersion(suite, version);
    const key = createSecretKey(keys.key);
    const name = suite.bulk.nodeName;
    if (name === 'aes-128-gcm' || name === 'aes-256-gcm')
        return new AesGcmProtector(direction, name, key, keys.iv);
    if (name === 'chacha20-poly1305')
        return new ChaChaProtector(direction, key, keys.iv);
    const p = cbcParams(suite, version);
    const macKey = createSecretKey(keys.macKey);
    return direction === 'seal' ? new CbcSealer(p, macKey, key, keys.iv) : new CbcOpener(p, macKey, key, keys.iv);
}
/** Protects the records one side writes, with that side's keys. */
export function createSealer(suite, version, keys) {
    return build('seal', suite, version, keys);
}
/** Opens the records the other side writes, with the other side's keys. */
export function createOpener(suite, version, keys) {
    return build('open', suite, version, keys);
}
/**
 * The pending write and read states for one side of a connection (RFC 5246 §6.1):
 * a client seals with the client keys and opens with the server's, a server the reverse.
 */
export function createProtectors(suite, version, keyBlock, side) {
    const keys = deriveConnectionKeys(suite, version, keyBlock);
    const [mine, theirs] = side === 'client' ? [keys.client, keys.server] : [keys.server, keys.client];
    return { sealer: createSealer(suite, version, mine), opener: createOpener(suite, version, theirs) };
}
/** The initial epoch's null cipher (RFC 5246 §6.1, TLS_NULL_WITH_NULL_NULL). */
export const NULL_PROTECTOR = Object.freeze({
    overhead: 0,
    seal(_type, _version, plaintext) {
        if (plaintext.length > MAX_PLAINTEXT) {
            throw new TlsError('InternalError', `cannot send ${plaintext.length} bytes in one record`);
        }
        return plaintext;
    },
    open(_type, _version, fragment) {
        checkPlaintextLength(fragment.length);
        return fragment;
    },
});
//# sourceMappingURL=record-protection.js.map