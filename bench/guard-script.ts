/**
 * Synthetic TLS 1.2 byte streams for the guard benchmark. The guard reads only record headers and
 * the two hellos, so a scripted conversation (real hellos from the wire encoders, random bytes of
 * the right length for every encrypted record) makes it do all its work, while the endpoints
 * spend nothing on cryptography: the benchmark then measures the proxies, not TLS.
 */
import { randomBytes } from 'node:crypto';
import { concat } from '../src/wire/codec.ts';
import { ContentType, HandshakeType } from '../src/wire/enums.ts';
import { renegotiationInfo } from '../src/wire/extensions.ts';
import { encodeHandshake } from '../src/wire/handshake.ts';
import { MAX_PLAINTEXT, encodeRecordHeader } from '../src/wire/record.ts';

const TLS12 = 0x0303;
/** TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256. */
const SUITE = 0xc02f;
/** An AES-GCM record adds an 8-byte explicit nonce and a 16-byte tag. */
const GCM_OVERHEAD = 24;

function record(type: number, body: Uint8Array): Uint8Array {
  return concat(encodeRecordHeader(type, TLS12, body.length), body);
}

function sealed(type: number, plaintextLength: number): Uint8Array {
  return record(type, randomBytes(plaintextLength + GCM_OVERHEAD));
}

/** ClientHello; ClientKeyExchange, ChangeCipherSpec, Finished: what a client sends before data. */
export function clientScript(): Uint8Array {
  const hello = encodeHandshake({
    type: HandshakeType.client_hello,
    version: TLS12,
    random: randomBytes(32),
    sessionId: new Uint8Array(0),
    cipherSuites: [SUITE],
    compressionMethods: Uint8Array.of(0),
    extensions: [renegotiationInfo(new Uint8Array(0))],
  });
  return concat(
    record(ContentType.handshake, hello),
    record(ContentType.handshake, randomBytes(37)),
    record(ContentType.change_cipher_spec, Uint8Array.of(1)),
    sealed(ContentType.handshake, 16),
  );
}

/** ServerHello … ServerHelloDone, then ChangeCipherSpec and Finished. */
export function serverScript(): Uint8Array {
  const hello = encodeHandshake({
    type: HandshakeType.server_hello,
    version: TLS12,
    random: randomBytes(32),
    sessionId: randomBytes(32),
    cipherSuite: SUITE,
    compressionMethod: 0,
    extensions: [renegotiationInfo(new Uint8Array(0))],
  });
  return concat(
    record(ContentType.handshake, hello),
    record(ContentType.handshake, randomBytes(900)),
    record(ContentType.handshake, randomBytes(300)),
    record(ContentType.handshake, Uint8Array.of(HandshakeType.server_hello_done, 0, 0, 0)),
    record(ContentType.change_cipher_spec, Uint8Array.of(1)),
    sealed(ContentType.handshake, 16),
  );
}

/** One application-data record of the given plaintext length. */
export function dataRecord(plaintextLength: number): Uint8Array {
  return sealed(ContentType.application_data, plaintextLength);
}

/** `count` full-size application-data records back to back: what a bulk sender writes. */
export function bulkRecords(count: number): Uint8Array {
  const one = dataRecord(MAX_PLAINTEXT);
  const out = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) out.set(one, i * one.length);
  return out;
}
