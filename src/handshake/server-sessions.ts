/**
 * Server-side resumption state: a bounded session-ID cache and self-encrypted
 * tickets (RFC 5077 §4's recommended construction, with AES-256-GCM in place of
 * CBC+HMAC: key_name || nonce || ciphertext || tag).
 */
import * as crypto from 'node:crypto';
import { Reader, Writer } from '../wire/codec.ts';
import { TlsError } from '../wire/errors.ts';

export interface ServerSession {
  version: number;
  cipherSuite: number;
  masterSecret: Uint8Array;
  extendedMasterSecret: boolean;
  /** The client's certificate chain, DER, if it sent one. */
  clientCertificates: readonly Uint8Array[];
  createdAt: number;
}

function encodeSession(s: ServerSession): Uint8Array {
  const w = new Writer(256);
  w.u16(s.version)
    .u16(s.cipherSuite)
    .vec8(s.masterSecret)
    .u8(s.extendedMasterSecret ? 1 : 0);
  w.prefixed(3, (l) => s.clientCertificates.forEach((c) => l.vec24(c)));
  w.u32(Math.floor(s.createdAt / 1000));
  return w.finish();
}

function decodeSession(b: Uint8Array): ServerSession {
  const r = new Reader(b);
  const version = r.u16();
  const cipherSuite = r.u16();
  const masterSecret = r.vec8().slice();
  const extendedMasterSecret = r.u8() === 1;
  const list = r.sub24();
  const clientCertificates: Uint8Array[] = [];
  while (list.remaining > 0) clientCertificates.push(list.vec24().slice());
  const createdAt = r.u32() * 1000;
  r.expectEnd('session state');
  return { version, cipherSuite, masterSecret, extendedMasterSecret, clientCertificates, createdAt };
}

const MAX_CACHED = 10_000;

export class SessionStore {
  private readonly cache = new Map<string, ServerSession>();
  private readonly keyName: Uint8Array;
  private readonly key: Buffer;

  constructor(
    private readonly lifetimeMs: number,
    ticketKey?: Uint8Array,
  ) {
    const material = ticketKey ?? crypto.randomBytes(32);
    if (material.length !== 32) throw new TlsError('InternalError', 'ticket key must be 32 bytes');
    this.key = Buffer.from(material);
    this.keyName = new Uint8Array(crypto.createHash('sha256').update(this.key).digest().subarray(0, 16));
  }

  private fresh(s: ServerSession): boolean {
    return Date.now() - s.createdAt < this.lifetimeMs;
  }

  put(id: Uint8Array, s: ServerSession): void {
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(Buffer.from(id).toString('hex'), s);
  }

  get(id: Uint8Array): ServerSession | undefined {
    const key = Buffer.from(id).toString('hex');
    const s = this.cache.get(key);
    if (s && !this.fresh(s)) {
      this.cache.delete(key);
      return undefined;
    }
    return s;
  }

  seal(s: ServerSession): Uint8Array {
    const nonce = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(this.keyName);
    const body = Buffer.concat([c.update(encodeSession(s)), c.final()]);
    return new Uint8Array(Buffer.concat([this.keyName, nonce, body, c.getAuthTag()]));
  }

  /** undefined for any ticket we cannot use: another key, tampered, expired (RFC 5077 §3.3: fall back to a full handshake). */
  open(ticket: Uint8Array): ServerSession | undefined {
    if (ticket.length < 16 + 12 + 16 + 1) return undefined;
    if (!crypto.timingSafeEqual(ticket.subarray(0, 16), this.keyName)) return undefined;
    try {
      const d = crypto.createDecipheriv('aes-256-gcm', this.key, ticket.subarray(16, 28));
      d.setAAD(this.keyName);
      d.setAuthTag(ticket.subarray(ticket.length - 16));
      const plain = Buffer.concat([d.update(ticket.subarray(28, ticket.length - 16)), d.final()]);
      const s = decodeSession(plain);
      return this.fresh(s) ? s : undefined;
    } catch {
      return undefined;
    }
  }
}
