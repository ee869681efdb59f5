import { NULL_PROTECTOR } from "../crypto/record-protection.js";
import { ContentType, ProtocolVersion } from "../wire/enums.js";
import { TlsError } from "../wire/errors.js";
import { Deframer, MAX_PLAINTEXT, RECORD_HEADER_LEN } from "../wire/record.js";
export class RecordLayer {
    /** Version written in record headers: TLS 1.0 until ServerHello, as most stacks do for compatibility. */
    writeVersion = ProtocolVersion.TLSv1;
    /** Once the version is agreed, every incoming record must carry it (RFC 5246 §6.2.1, Appendix E.1). */
    expectedReadVersion;
    reader = NULL_PROTECTOR;
    writer = NULL_PROTECTOR;
    pendingReader;
    deframer = new Deframer();
    out = [];
    outBytes = 0;
    handshakeBuf = [];
    handshakeBytes = 0;
    readEncrypted = false;
    writeEncrypted = false;
    observer;
    receive(bytes) {
        this.deframer.push(bytes);
    }
    get bufferedIn() {
        return this.deframer.pending;
    }
    /** The next incoming record, opened with the current read keys. */
    nextRecord() {
        const rec = this.deframer.next();
        if (!rec)
            return undefined;
        if (this.expectedReadVersion !== undefined && rec.version !== this.expectedReadVersion) {
            throw new TlsError('ProtocolVersion', `record version 0x${rec.version.toString(16)} after agreeing on another`);
        }
        const data = this.reader.open(rec.type, rec.version, rec.fragment);
        if (data.length > MAX_PLAINTEXT)
            throw new TlsError('RecordOverflow', 'plaintext longer than 2^14');
        const plain = { type: rec.type, version: rec.version, wireLength: rec.length, encrypted: this.readEncrypted, data };
        this.observer?.('in', plain);
        return plain;
    }
    /** Keys that take effect for reading at the peer's next ChangeCipherSpec. */
    setPendingReader(p) {
        this.pendingReader = p;
    }
    /** RFC 5246 §7.1: on receiving ChangeCipherSpec the pending read state becomes current. */
    activatePendingReader() {
        if (!this.pendingReader)
            throw new TlsError('UnexpectedMessage', 'ChangeCipherSpec before keys were agreed');
        this.reader = this.pendingReader;
        this.pendingReader = undefined;
        this.readEncrypted = true;
    }
    get hasPendingReader() {
        return this.pendingReader !== undefined;
    }
    /** Sends ChangeCipherSpec under the old keys, then switches to `next` for writing. */
    changeWriteKeys(next) {
        this.flushHandshake();
        this.writeRecord(ContentType.change_cipher_spec, Uint8Array.of(1));
        this.writer = next;
        this.writeEncrypted = true;
    }
    /** Queues one handshake message; flushHandshake() writes the flight. */
    queueHandshake(raw) {
        this.handshakeBuf.push(raw);
        this.handshakeBytes += raw.length;
    }
    /** Drops a half-built flight, so a fatal alert is not preceded by messages of a failed handshake. */
    discardHandshake() {
        this.handshakeBuf = [];
        this.handshakeBytes = 0;
    }
    flushHandshake() {
        if (this.handshakeBytes === 0)
            return;
        const all = this.handshakeBuf.length === 1 ? this.handshakeBuf[0] : concatAll(this.handshakeBuf, this.handshakeBytes);
        this.handshakeBuf = [];
        this.handshakeBytes = 0;
        this.writeRecord(ContentType.handshake, all);
    }
    /** Writes data as records of at most 2^14 bytes each. */
    writeRecord(type, data) {
        if (type !== ContentType.handshake)
            this.flushHandshake();
        if (data.length === 0)
            return this.sealOne(type, data);
        for (let at = 0; at < data.length; at += MAX_PLAINTEXT) {
            this.sealOne(type, data.subarray(at, Math.min(at + MAX_PLAINTEXT, data.length)));
        }
    }
    sealOne(type, chunk) {
        const fragment = this.writer.seal(type, this.writeVersion, chunk);
        const header = new Uint8Array(RECORD_HEADER_LEN);
        header[0] = type;
        header[1] = this.writeVersion >>> 8;
        header[2] = this.writeVersion & 0xff;
        header[3] = fragment.length >>> 8;
        header[4] = fragment.length & 0xff;
        this.out.push(header, fragment);
        this.outBytes += RECORD_HEADER_LEN + fragment.length;
        this.observer?.('out', {
            type,
            version: this.writeVersion,
            wireLength: fragment.length,
            encrypted: this.writeEncrypted,
            data: chunk,
        });
    }
    get pendingOutput() {
        return this.outBytes + this.handshakeBytes;
    }
    /** Everything queued for the wire, as one buffer (empty when nothing is queued). */
    takeOutput() {
        this.flushHandshake();
        const all = this.out.length === 1 ? this.out[0] : concatAll(this.out, this.outBytes);
        this.out.length = 0;
        this.outBytes = 0;
        return all ?? new Uint8Array(0);
    }
}
function concatAll(parts, total) {
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
        out.set(p, at);
        at += p.length;
    }
    return out;
}
//# sourceMappingURL=record-layer.js.map