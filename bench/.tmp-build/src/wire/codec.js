/**
 * One Reader and one Writer for every wire structure (RFC 5246 §4, presentation
 * language). Length-prefixed vectors are read through bounded sub-readers and
 * written with back-filled prefixes, so no length is ever computed by hand.
 *
 * Optional notes (subtls' idea): when a `notes` array is given, every read or
 * write with a label records its byte range, feeding annotated hex dumps.
 */
import { TlsError } from "./errors.js";
export class Reader {
    buf;
    notes;
    pos;
    end;
    constructor(buf, start = 0, end = buf.length, notes) {
        this.buf = buf;
        this.notes = notes;
        this.pos = start;
        this.end = end;
    }
    get remaining() {
        return this.end - this.pos;
    }
    get offset() {
        return this.pos;
    }
    take(n, what) {
        if (n > this.end - this.pos) {
            throw new TlsError('DecodeError', `truncated ${what}: need ${n}, have ${this.end - this.pos}`);
        }
        const at = this.pos;
        this.pos += n;
        return at;
    }
    note(start, label) {
        if (label !== undefined && this.notes)
            this.notes.push({ start, end: this.pos, label });
    }
    u8(label) {
        const at = this.take(1, label ?? 'uint8');
        this.note(at, label);
        return this.buf[at];
    }
    u16(label) {
        const at = this.take(2, label ?? 'uint16');
        this.note(at, label);
        return (this.buf[at] << 8) | this.buf[at + 1];
    }
    u24(label) {
        const at = this.take(3, label ?? 'uint24');
        this.note(at, label);
        return (this.buf[at] << 16) | (this.buf[at + 1] << 8) | this.buf[at + 2];
    }
    u32(label) {
        const at = this.take(4, label ?? 'uint32');
        this.note(at, label);
        return ((this.buf[at] << 24) >>> 0) + ((this.buf[at + 1] << 16) | (this.buf[at + 2] << 8) | this.buf[at + 3]);
    }
    /** A view (no copy) of the next n bytes. */
    bytes(n, label) {
        const at = this.take(n, label ?? 'bytes');
        this.note(at, label);
        return this.buf.subarray(at, at + n);
    }
    rest(label) {
        return this.bytes(this.remaining, label);
    }
    /** opaque x<floor..2^8-1> */
    vec8(label, min = 0) {
        return this.checkedMin(this.bytes(this.u8(), label), min, label);
    }
    /** opaque x<floor..2^16-1> */
    vec16(label, min = 0) {
        return this.checkedMin(this.bytes(this.u16(), label), min, label);
    }
    /** opaque x<floor..2^24-1> */
    vec24(label, min = 0) {
        return this.checkedMin(this.bytes(this.u24(), label), min, label);
    }
    sub8(label) {
        return this.sub(this.u8(), label);
    }
    sub16(label) {
        return this.sub(this.u16(), label);
    }
    sub24(label) {
        return this.sub(this.u24(), label);
    }
    /** A reader bounded to the next n bytes; this reader moves past them. */
    sub(n, label) {
        const at = this.take(n, label ?? 'vector');
        this.note(at, label);
        return new Reader(this.buf, at, at + n, this.notes);
    }
    /** Every structure ends exactly where its length said: trailing bytes are a decode error. */
    expectEnd(what) {
        if (this.pos !== this.end) {
            throw new TlsError('DecodeError', `${this.end - this.pos} trailing bytes after ${what}`);
        }
    }
    checkedMin(v, min, label) {
        if (v.length < min)
            throw new TlsError('DecodeError', `${label ?? 'vector'} shorter than ${min}`);
        return v;
    }
}
export class Writer {
    notes;
    buf;
    len = 0;
    constructor(capacity = 256, notes) {
        this.notes = notes;
        this.buf = new Uint8Array(capacity);
    }
    get length() {
        return this.len;
    }
    reserve(n) {
        const need = this.len + n;
        if (need > this.buf.length) {
            let cap = this.buf.length * 2;
            while (cap < need)
                cap *= 2;
            const next = new Uint8Array(cap);
            next.set(this.buf.subarray(0, this.len));
            this.buf = next;
        }
        const at = this.len;
        this.len = need;
        return at;
    }
    note(start, label) {
        if (label !== undefined && this.notes)
            this.notes.push({ start, end: this.len, label });
    }
    u8(v, label) {
        const at = this.reserve(1);
        this.buf[at] = v;
        this.note(at, label);
        return this;
    }
    u16(v, label) {
        const at = this.reserve(2);
        this.buf[at] = v >>> 8;
        this.buf[at + 1] = v;
        this.note(at, label);
        return this;
    }
    u24(v, label) {
        const at = this.reserve(3);
        this.buf[at] = v >>> 16;
        this.buf[at + 1] = v >>> 8;
        this.buf[at + 2] = v;
        this.note(at, label);
        return this;
    }
    u32(v, label) {
        const at = this.reserve(4);
        this.buf[at] = v >>> 24;
        this.buf[at + 1] = v >>> 16;
        this.buf[at + 2] = v >>> 8;
        this.buf[at + 3] = v;
        this.note(at, label);
        return this;
    }
    bytes(b, label) {
        const at = this.reserve(b.length);
        this.buf.set(b, at);
        this.note(at, label);
        return this;
    }
    vec8(b, label) {
        return this.prefixed(1, (w) => w.bytes(b), label);
    }
    vec16(b, label) {
        return this.prefixed(2, (w) => w.bytes(b), label);
    }
    vec24(b, label) {
        return this.prefixed(3, (w) => w.bytes(b), label);
    }
    /** Writes a length prefix of `width` bytes, back-filled once `body` has written. */
    prefixed(width, body, label) {
        const at = this.reserve(width);
        body(this);
        const n = this.len - at - width;
        if (n >= 2 ** (8 * width))
            throw new TlsError('InternalError', `vector of ${n} bytes overflows a ${width}-byte length`);
        for (let i = width - 1, v = n; i >= 0; i--, v = Math.floor(v / 256))
            this.buf[at + i] = v & 0xff;
        this.note(at, label);
        return this;
    }
    finish() {
        return this.buf.subarray(0, this.len);
    }
}
export function concat(...parts) {
    let n = 0;
    for (const p of parts)
        n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
        out.set(p, at);
        at += p.length;
    }
    return out;
}
export function toHex(b) {
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
/** Annotated hex dump: one line per note, for scanner evidence and lab transcripts. */
export function annotatedHex(b, notes) {
    return notes.map((n) => `${toHex(b.subarray(n.start, n.end)).padEnd(24)} ${n.label}`).join('\n');
}
//# sourceMappingURL=codec.js.map