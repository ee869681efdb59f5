/**
 * The wire codecs by property (STYLE.md §14): every handshake message survives
 * encode → decode; no strict prefix of an encoded message decodes; random bytes
 * only ever raise TlsError. Then the named rejection cases, one sentence each.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, Writer, annotatedHex, concat, type Note } from '../../src/wire/codec.ts';
import { ExtensionType, HandshakeType, ProtocolVersion, extensionName } from '../../src/wire/enums.ts';
import { TlsError, type TlsErrorKind } from '../../src/wire/errors.ts';
import {
  decodeExtensions,
  encodeExtensions,
  findExtension,
  parseAlpn,
  parseRenegotiationInfo,
  parseServerName,
  parseU16List,
  rejectDuplicates,
  renegotiationInfo,
  serverName,
  serverNameFor,
  type Extension,
} from '../../src/wire/extensions.ts';
import { isIP } from 'node:net';
import {
  decodeHandshake,
  encodeHandshake,
  isUnknown,
  type ClientHello,
  type HandshakeMessage,
  type ServerHello,
} from '../../src/wire/handshake.ts';
import {
  Deframer,
  HandshakeJoiner,
  MAX_CIPHERTEXT,
  RECORD_HEADER_LEN,
  encodeRecordHeader,
} from '../../src/wire/record.ts';
import { split } from '../support/bytes.ts';

const TLS10 = ProtocolVersion.TLSv1;
const TLS11 = ProtocolVersion['TLSv1.1'];
const TLS12 = ProtocolVersion['TLSv1.2'];

function throwsKind(fn: () => unknown, kind: TlsErrorKind, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TlsError && e.kind === kind, message);
}

/** Runs fn; a throw must be a TlsError (of `kind` when given), anything else fails the property. */
function onlyTlsError(fn: () => unknown, kind?: TlsErrorKind): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TlsError)) throw new Error(`threw a non-TlsError: ${String(e)}`);
    if (kind !== undefined && e.kind !== kind) throw new Error(`threw ${e.kind}, expected ${kind}`);
  }
}

/** A handshake header and body as raw bytes, with the length right. */
function rawHandshake(type: number, body: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(type, body.length >>> 16, (body.length >>> 8) & 0xff, body.length & 0xff), body);
}

// --- arbitraries -----------------------------------------------------------------

/** fast-check 4 builds records without a prototype; decoded messages are plain objects. */
function plainRecord<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength, maxLength });
const random32 = bytes(32, 32);
const sessionId = bytes(32);
const extension: fc.Arbitrary<Extension> = plainRecord({ type: u16, data: bytes(40) });
/** Duplicates and unknown types included: the codec keeps whatever is on the wire. */
const extensionList = fc.array(extension, { maxLength: 6 });

const clientHello = (withExtensions: boolean): fc.Arbitrary<HandshakeMessage> =>
  plainRecord({
    type: fc.constant(HandshakeType.client_hello),
    version: u16,
    random: random32,
    sessionId,
    cipherSuites: fc.array(u16, { minLength: 1, maxLength: 20 }),
    compressionMethods: bytes(4, 1),
    extensions: withExtensions ? extensionList : fc.constant(null),
  });

const serverHello = (withExtensions: boolean): fc.Arbitrary<HandshakeMessage> =>
  plainRecord({
    type: fc.constant(HandshakeType.server_hello),
    version: u16,
    random: random32,
    sessionId,
    cipherSuite: u16,
    compressionMethod: u8,
    extensions: withExtensions ? extensionList : fc.constant(null),
  });

const certificate: fc.Arbitrary<HandshakeMessage> = plainRecord({
  type: fc.constant(HandshakeType.certificate),
  certificates: fc.array(bytes(64, 1), { maxLength: 4 }),
});

const certificateRequest = (tls12: boolean): fc.Arbitrary<HandshakeMessage> =>
  plainRecord({
    type: fc.constant(HandshakeType.certificate_request),
    certificateTypes: fc.array(u8, { minLength: 1, maxLength: 4 }),
    signatureAlgorithms: tls12 ? fc.array(u16, { minLength: 1, maxLength: 10 }) : fc.constant(null),
    certificateAuthorities: fc.array(bytes(40, 1), { maxLength: 4 }),
  });

const certificateVerify = (tls12: boolean): fc.Arbitrary<HandshakeMessage> =>
  plainRecord({
    type: fc.constant(HandshakeType.certificate_verify),
    scheme: tls12 ? u16 : fc.constant(null),
    signature: bytes(96),
  });

const opaque = (type: typeof HandshakeType.server_key_exchange | typeof HandshakeType.client_key_exchange) =>
  plainRecord({ type: fc.constant(type), body: bytes(120) }) as fc.Arbitrary<HandshakeMessage>;

interface Case {
  name: string;
  arb: fc.Arbitrary<HandshakeMessage>;
  /** Versions the message is decoded with; the encoding must not depend on which. */
  versions: readonly (number | undefined)[];
  /** Every strict prefix of the body (with the header's length fixed up) is malformed too. */
  fixedShape: boolean;
}

const ANY_VERSION = [undefined, TLS10, TLS11, TLS12] as const;

const CASES: readonly Case[] = [
  { name: 'ClientHello with an extensions block', arb: clientHello(true), versions: ANY_VERSION, fixedShape: false },
  { name: 'ClientHello without an extensions block', arb: clientHello(false), versions: ANY_VERSION, fixedShape: true },
  { name: 'ServerHello with an extensions block', arb: serverHello(true), versions: ANY_VERSION, fixedShape: false },
  { name: 'ServerHello without an extensions block', arb: serverHello(false), versions: ANY_VERSION, fixedShape: true },
  { name: 'Certificate', arb: certificate, versions: ANY_VERSION, fixedShape: true },
  {
    name: 'CertificateRequest for TLS 1.0/1.1',
    arb: certificateRequest(false),
    versions: [TLS10, TLS11],
    fixedShape: true,
  },
  {
    name: 'CertificateRequest for TLS 1.2',
    arb: certificateRequest(true),
    versions: [undefined, TLS12],
    fixedShape: true,
  },
  {
    name: 'CertificateVerify for TLS 1.0/1.1',
    arb: certificateVerify(false),
    versions: [TLS10, TLS11],
    fixedShape: true,
  },
  {
    name: 'CertificateVerify for TLS 1.2',
    arb: certificateVerify(true),
    versions: [undefined, TLS12],
    fixedShape: true,
  },
  {
    name: 'Finished',
    arb: plainRecord({ type: fc.constant(HandshakeType.finished), verifyData: bytes(36) }),
    versions: ANY_VERSION,
    fixedShape: false,
  },
  {
    name: 'HelloRequest',
    arb: fc.constant({ type: HandshakeType.hello_request }),
    versions: ANY_VERSION,
    fixedShape: true,
  },
  {
    name: 'ServerHelloDone',
    arb: fc.constant({ type: HandshakeType.server_hello_done }),
    versions: ANY_VERSION,
    fixedShape: true,
  },
  {
    name: 'NewSessionTicket',
    arb: plainRecord({
      type: fc.constant(HandshakeType.new_session_ticket),
      lifetimeHint: fc.integer({ min: 0, max: 0xffffffff }),
      ticket: bytes(80),
    }),
    versions: ANY_VERSION,
    fixedShape: true,
  },
  {
    name: 'ServerKeyExchange (opaque)',
    arb: opaque(HandshakeType.server_key_exchange),
    versions: ANY_VERSION,
    fixedShape: false,
  },
  {
    name: 'ClientKeyExchange (opaque)',
    arb: opaque(HandshakeType.client_key_exchange),
    versions: ANY_VERSION,
    fixedShape: false,
  },
];

// --- round trip and truncation -----------------------------------------------------

describe('every handshake message', () => {
  for (const c of CASES) {
    const withVersion = fc.tuple(c.arb, fc.constantFrom(...c.versions));

    test(`${c.name} decodes to what was encoded`, () => {
      fc.assert(
        fc.property(withVersion, ([m, version]) => {
          const raw = encodeHandshake(m);
          assert.deepStrictEqual(decodeHandshake(raw, version), m);
        }),
        { numRuns: 200 },
      );
    });

    test(`no strict prefix of an encoded ${c.name} decodes`, () => {
      fc.assert(
        fc.property(withVersion, ([m, version]) => {
          const raw = encodeHandshake(m);
          for (let n = 0; n < raw.length; n++) {
            throwsKind(
              () => decodeHandshake(raw.subarray(0, n), version),
              'DecodeError',
              `prefix of ${n} bytes decoded`,
            );
          }
        }),
        { numRuns: 60 },
      );
    });

    if (c.fixedShape) {
      test(`no strict prefix of a ${c.name} body decodes, even under a matching header`, () => {
        fc.assert(
          fc.property(withVersion, ([m, version]) => {
            const body = encodeHandshake(m).subarray(4);
            for (let n = 0; n < body.length; n++) {
              const reheaded = rawHandshake(m.type, body.subarray(0, n));
              throwsKind(() => decodeHandshake(reheaded, version), 'DecodeError', `body prefix of ${n} bytes decoded`);
            }
          }),
          { numRuns: 60 },
        );
      });
    }
  }
});

// --- random bytes ----------------------------------------------------------------

/** Random bodies behind a well-formed header of a known (or unknown) type, to reach the body decoders. */
const headedGarbage = fc
  .tuple(fc.oneof(fc.constantFrom(...Object.values(HandshakeType)), u8), bytes(120))
  .map(([type, body]) => rawHandshake(type, body));
const anyBytes = fc.oneof(bytes(200), headedGarbage);
const anyVersion = fc.constantFrom(...ANY_VERSION);

/** Bytes shaped like a vector of extensions, with random contents, so the loop runs. */
const u16Prefixed = (inner: fc.Arbitrary<Uint8Array>) =>
  inner.map((b) => concat(Uint8Array.of(b.length >>> 8, b.length & 0xff), b));

describe('random bytes only ever raise TlsError', () => {
  test('from decodeHandshake, and then only DecodeError', () => {
    fc.assert(
      fc.property(anyBytes, anyVersion, (b, v) => onlyTlsError(() => decodeHandshake(b, v), 'DecodeError')),
      { numRuns: 3000 },
    );
  });

  test('from decodeExtensions reading through a Reader', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(100), u16Prefixed(bytes(100))), (b) =>
        onlyTlsError(() => decodeExtensions(new Reader(b)), 'DecodeError'),
      ),
      { numRuns: 2000 },
    );
  });

  test('from parseRenegotiationInfo, parseAlpn, parseServerName and parseU16List', () => {
    const shaped = fc.oneof(
      bytes(64),
      u16Prefixed(bytes(64)),
      bytes(64).map((b) => concat(Uint8Array.of(b.length), b)),
    );
    fc.assert(
      fc.property(shaped, (b) => {
        onlyTlsError(() => parseRenegotiationInfo(b), 'DecodeError');
        onlyTlsError(() => parseAlpn(b), 'DecodeError');
        onlyTlsError(() => parseServerName(b), 'DecodeError');
        onlyTlsError(() => parseU16List(b, 'supported_groups'), 'DecodeError');
      }),
      { numRuns: 3000 },
    );
  });

  test('from the Deframer, which never holds more than one record', () => {
    const chunks = fc.array(
      fc.oneof(
        bytes(40),
        bytes(8).map((b) => concat(Uint8Array.of(22, 3, 3), b)),
      ),
      {
        maxLength: 8,
      },
    );
    fc.assert(
      fc.property(chunks, (cs) => {
        const d = new Deframer();
        onlyTlsError(() => {
          for (const c of cs) {
            d.push(c);
            for (let r = d.next(); r; r = d.next()) {
              assert.ok(r.length <= MAX_CIPHERTEXT);
              assert.equal(r.fragment.length, r.length);
            }
            assert.ok(d.pending < RECORD_HEADER_LEN + MAX_CIPHERTEXT);
          }
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('from the HandshakeJoiner, and then only MessageTooLarge', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(bytes(40), { maxLength: 8 }), (cap, fragments) => {
        const j = new HandshakeJoiner(cap);
        onlyTlsError(() => {
          for (const f of fragments) {
            j.push(f);
            for (let m = j.next(); m; m = j.next()) assert.ok(m.length - 4 <= cap);
          }
        }, 'MessageTooLarge');
      }),
      { numRuns: 2000 },
    );
  });
});

// --- framing by property --------------------------------------------------------------

test('the Deframer returns the records it was given, however the stream is split', () => {
  const wireRecord = plainRecord({
    type: fc.constantFrom(20, 21, 22, 23),
    version: fc.constantFrom(0x0300, TLS10, TLS11, TLS12),
    fragment: bytes(300),
  });
  fc.assert(
    fc.property(fc.array(wireRecord, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (records, cuts) => {
      const stream = concat(
        ...records.map((r) => concat(encodeRecordHeader(r.type, r.version, r.fragment.length), r.fragment)),
      );
      const d = new Deframer();
      const got: { type: number; version: number; fragment: Uint8Array }[] = [];
      for (const chunk of split(stream, cuts)) {
        d.push(chunk);
        for (let r = d.next(); r; r = d.next()) got.push({ type: r.type, version: r.version, fragment: r.fragment });
      }
      assert.deepStrictEqual(got, records);
      assert.equal(d.pending, 0);
    }),
    { numRuns: 300 },
  );
});

test('the HandshakeJoiner returns the messages it was given, however they are split into records', () => {
  const message = fc.tuple(u8, bytes(200)).map(([type, body]) => rawHandshake(type, body));
  fc.assert(
    fc.property(fc.array(message, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
      const j = new HandshakeJoiner(200);
      const got: Uint8Array[] = [];
      for (const fragment of split(concat(...messages), cuts)) {
        j.push(fragment);
        for (let m = j.next(); m; m = j.next()) got.push(m);
      }
      assert.deepStrictEqual(got, messages);
      assert.ok(j.isEmpty);
    }),
    { numRuns: 300 },
  );
});

// --- named cases -------------------------------------------------------------------

function sampleServerHello(extensions: readonly Extension[] | null): ServerHello {
  return {
    type: HandshakeType.server_hello,
    version: TLS12,
    random: new Uint8Array(32).fill(0xab),
    sessionId: Uint8Array.of(1, 2, 3),
    cipherSuite: 0xc02f,
    compressionMethod: 0,
    extensions,
  };
}

function sampleClientHello(extensions: readonly Extension[] | null): ClientHello {
  return {
    type: HandshakeType.client_hello,
    version: TLS12,
    random: new Uint8Array(32).fill(0xcd),
    sessionId: new Uint8Array(32).fill(0x55),
    cipherSuites: [0xc02f, 0x009c, 0x00ff],
    compressionMethods: Uint8Array.of(0),
    extensions,
  };
}

describe('extensions', () => {
  test('rejects a duplicate extension', () => {
    const twice = [renegotiationInfo(new Uint8Array(0)), serverName('a.example'), renegotiationInfo(Uint8Array.of(1))];
    const decoded = decodeHandshake(encodeHandshake(sampleServerHello(twice)), TLS12) as ServerHello;
    // The codec keeps both entries (tools need to see them); the check is the caller's.
    assert.equal(decoded.extensions?.length, 3);
    throwsKind(() => rejectDuplicates(decoded.extensions), 'IllegalParameter');
    assert.doesNotThrow(() => rejectDuplicates(decoded.extensions!.slice(0, 2)));
    assert.doesNotThrow(() => rejectDuplicates(null));
  });

  test('keeps unknown extensions in wire order', () => {
    const exts: Extension[] = [
      { type: 0x1234, data: Uint8Array.of(9, 9) },
      serverName('host.example'),
      { type: 0xfe0d, data: new Uint8Array(0) },
      { type: 0x1234, data: Uint8Array.of(7) },
      renegotiationInfo(new Uint8Array(0)),
    ];
    const decoded = decodeHandshake(encodeHandshake(sampleClientHello(exts)), undefined) as ClientHello;
    assert.deepStrictEqual(
      decoded.extensions?.map((e) => e.type),
      [0x1234, ExtensionType.server_name, 0xfe0d, 0x1234, ExtensionType.renegotiation_info],
    );
    assert.deepStrictEqual(decoded.extensions?.[3]?.data, Uint8Array.of(7));
    assert.equal(extensionName(0x1234), 'unknown(0x1234)');
    assert.equal(extensionName(ExtensionType.renegotiation_info), 'renegotiation_info');
  });

  test('distinguishes an absent renegotiation_info from an empty one', () => {
    const decode = (exts: readonly Extension[] | null) =>
      (decodeHandshake(encodeHandshake(sampleServerHello(exts)), TLS12) as ServerHello).extensions;

    const noBlock = decode(null);
    const emptyBlock = decode([]);
    const emptyRi = decode([renegotiationInfo(new Uint8Array(0))]);
    const valueRi = decode([renegotiationInfo(Uint8Array.of(1, 2, 3))]);

    // No extensions block at all, an empty block, and a block without the extension: all "absent".
    assert.equal(noBlock, null);
    assert.deepStrictEqual(emptyBlock, []);
    assert.equal(findExtension(noBlock, ExtensionType.renegotiation_info), undefined);
    assert.equal(findExtension(emptyBlock, ExtensionType.renegotiation_info), undefined);
    // Present with an empty renegotiated_connection: RFC 5746's initial-handshake signal.
    const empty = findExtension(emptyRi, ExtensionType.renegotiation_info);
    assert.ok(empty);
    assert.deepStrictEqual(empty.data, Uint8Array.of(0));
    assert.deepStrictEqual(parseRenegotiationInfo(empty.data), new Uint8Array(0));
    // Present with a value.
    assert.deepStrictEqual(
      parseRenegotiationInfo(findExtension(valueRi, ExtensionType.renegotiation_info)!.data),
      Uint8Array.of(1, 2, 3),
    );
    // An extension_data of zero bytes is not an empty renegotiation_info: it lacks the length byte.
    throwsKind(() => parseRenegotiationInfo(new Uint8Array(0)), 'DecodeError');
  });

  test('sends no server_name for an IP address (RFC 6066 §3), as node:net judges one, and the name for any host name', () => {
    for (const ip of [
      '127.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1%eth0',
      '2001:db8::1',
      '::ffff:10.0.0.1',
    ]) {
      assert.notEqual(isIP(ip), 0, ip);
      assert.equal(serverNameFor(ip), undefined, ip);
    }
    for (const name of [
      'localhost',
      'a.example',
      '1.example',
      'example.123a',
      '127.0.0',
      '10.0.0.1.example',
      'xn--bcher-kva.example',
    ]) {
      assert.equal(isIP(name), 0, name);
      assert.deepEqual(serverNameFor(name), serverName(name), name);
    }
    assert.equal(serverNameFor(undefined), undefined);
    assert.equal(serverNameFor(''), undefined);
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => serverNameFor(ip) === undefined),
      { numRuns: 500 },
    );
  });

  test('rejects a renegotiation_info whose length byte disagrees with its data', () => {
    throwsKind(() => parseRenegotiationInfo(Uint8Array.of(0, 0)), 'DecodeError');
    throwsKind(() => parseRenegotiationInfo(Uint8Array.of(3, 1, 2)), 'DecodeError');
  });
});

describe('fixed structures', () => {
  test('rejects trailing bytes after a HelloRequest or ServerHelloDone, whose bodies are empty', () => {
    throwsKind(
      () => decodeHandshake(rawHandshake(HandshakeType.hello_request, Uint8Array.of(0)), TLS12),
      'DecodeError',
    );
    throwsKind(
      () => decodeHandshake(rawHandshake(HandshakeType.server_hello_done, Uint8Array.of(0)), TLS12),
      'DecodeError',
    );
    assert.deepStrictEqual(decodeHandshake(rawHandshake(HandshakeType.hello_request, new Uint8Array(0)), TLS12), {
      type: HandshakeType.hello_request,
    });
  });

  test('rejects a ServerHello with a stray byte inside or after its extensions block', () => {
    const good = encodeHandshake(sampleServerHello([renegotiationInfo(new Uint8Array(0))]));
    const body = good.subarray(4);
    // Inside: the block's length grows by one to cover a byte that is no whole extension.
    const inside = Uint8Array.from(body);
    const blockAt = body.length - 7; // uint16 length, then ff 01 00 01 00
    const blockLen = (inside[blockAt]! << 8) | inside[blockAt + 1]!;
    assert.equal(blockLen, 5);
    inside[blockAt + 1] = blockLen + 1;
    throwsKind(
      () => decodeHandshake(rawHandshake(HandshakeType.server_hello, concat(inside, Uint8Array.of(0))), TLS12),
      'DecodeError',
    );
    // After: the block is intact but the body goes on.
    throwsKind(
      () => decodeHandshake(rawHandshake(HandshakeType.server_hello, concat(body, Uint8Array.of(0))), TLS12),
      'DecodeError',
    );
    // And the same body without the stray byte decodes.
    assert.equal(
      decodeHandshake(rawHandshake(HandshakeType.server_hello, body), TLS12).type,
      HandshakeType.server_hello,
    );
  });

  test('rejects a handshake record whose header length disagrees with its body', () => {
    const finished = encodeHandshake({ type: HandshakeType.finished, verifyData: new Uint8Array(12) });
    throwsKind(() => decodeHandshake(concat(finished, Uint8Array.of(0)), TLS12), 'DecodeError');
    throwsKind(() => decodeHandshake(finished.subarray(0, finished.length - 1), TLS12), 'DecodeError');
  });

  test('rejects a session_id longer than 32 bytes', () => {
    const long = new Uint8Array(33).fill(1);
    throwsKind(
      () => decodeHandshake(encodeHandshake({ ...sampleServerHello(null), sessionId: long }), TLS12),
      'DecodeError',
    );
    throwsKind(
      () => decodeHandshake(encodeHandshake({ ...sampleClientHello(null), sessionId: long }), undefined),
      'DecodeError',
    );
    const exact = new Uint8Array(32).fill(1);
    const ok = decodeHandshake(encodeHandshake({ ...sampleServerHello(null), sessionId: exact }), TLS12) as ServerHello;
    assert.equal(ok.sessionId.length, 32);
  });

  test('rejects a ClientHello with an odd-length or empty cipher_suites list', () => {
    const body = encodeHandshake(sampleClientHello(null)).subarray(4);
    const suitesAt = 2 + 32 + 1 + 32;
    const odd = Uint8Array.from(body);
    odd[suitesAt + 1] = 5; // 6 bytes of suites announced as 5
    throwsKind(() => decodeHandshake(rawHandshake(HandshakeType.client_hello, odd), undefined), 'DecodeError');
    const empty = concat(body.subarray(0, suitesAt), Uint8Array.of(0, 0), body.subarray(suitesAt + 2 + 6));
    throwsKind(() => decodeHandshake(rawHandshake(HandshakeType.client_hello, empty), undefined), 'DecodeError');
  });

  test('keeps an unknown handshake message type, with its body', () => {
    const m = decodeHandshake(rawHandshake(0x63, Uint8Array.of(1, 2)), TLS12);
    assert.ok(isUnknown(m));
    assert.equal(m.type, 0x63);
    assert.deepStrictEqual(m.body, Uint8Array.of(1, 2));
  });
});

describe('framing', () => {
  test('Deframer rejects a record longer than 2^14+2048 (RecordOverflow)', () => {
    const d = new Deframer();
    // Refused from the header alone: the body never has to arrive.
    d.push(encodeRecordHeader(22, TLS12, MAX_CIPHERTEXT + 1));
    throwsKind(() => d.next(), 'RecordOverflow');

    const atLimit = new Deframer();
    atLimit.push(encodeRecordHeader(23, TLS12, MAX_CIPHERTEXT));
    assert.equal(atLimit.next(), undefined);
    atLimit.push(new Uint8Array(MAX_CIPHERTEXT));
    assert.equal(atLimit.next()?.fragment.length, MAX_CIPHERTEXT);
  });

  test("Deframer rejects a non-TLS first byte ('HTTP/1.1 400' or an SSLv2 0x80 header) with UnexpectedMessage", () => {
    const http = new Deframer();
    http.push(new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'));
    throwsKind(() => http.next(), 'UnexpectedMessage');

    const sslv2 = new Deframer();
    sslv2.push(Uint8Array.of(0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00));
    throwsKind(() => sslv2.next(), 'UnexpectedMessage');

    // A known content type with a major version other than 3 is not TLS either.
    const badVersion = new Deframer();
    badVersion.push(Uint8Array.of(22, 2, 0, 0, 1, 0));
    throwsKind(() => badVersion.next(), 'DecodeError');
  });

  test('Deframer waits for a whole header and a whole record', () => {
    const d = new Deframer();
    d.push(Uint8Array.of(22, 3));
    assert.equal(d.next(), undefined);
    d.push(Uint8Array.of(3, 0, 2, 0xaa));
    assert.equal(d.next(), undefined);
    d.push(Uint8Array.of(0xbb, 21));
    const r = d.next();
    assert.deepStrictEqual(r && { type: r.type, version: r.version, fragment: r.fragment }, {
      type: 22,
      version: TLS12,
      fragment: Uint8Array.of(0xaa, 0xbb),
    });
    assert.equal(d.next(), undefined);
    assert.equal(d.pending, 1);
  });

  test('HandshakeJoiner rejects a message header announcing more than the cap before the body arrives (MessageTooLarge)', () => {
    const j = new HandshakeJoiner(100);
    throwsKind(() => j.push(Uint8Array.of(HandshakeType.certificate, 0, 0, 101)), 'MessageTooLarge');

    // The header split over two records is checked once whole.
    const split2 = new HandshakeJoiner(100);
    split2.push(Uint8Array.of(HandshakeType.certificate, 0));
    throwsKind(() => split2.push(Uint8Array.of(0x01, 0x00)), 'MessageTooLarge');

    // A second, over-long message behind a good one in the same record.
    const behind = new HandshakeJoiner(100);
    behind.push(
      concat(rawHandshake(HandshakeType.server_hello_done, new Uint8Array(0)), Uint8Array.of(11, 0xff, 0xff, 0xff)),
    );
    throwsKind(() => behind.next(), 'MessageTooLarge');

    const atCap = new HandshakeJoiner(100);
    atCap.push(Uint8Array.of(HandshakeType.certificate, 0, 0, 100));
    assert.equal(atCap.next(), undefined);
  });

  test('HandshakeJoiner reassembles a 64 KiB message sent as one-byte records with linear copying, never holding more than twice what arrived', () => {
    const message = rawHandshake(
      HandshakeType.certificate,
      new Uint8Array(64 * 1024).map((_, i) => i * 7),
    );
    const j = new HandshakeJoiner(128 * 1024);
    let got: Uint8Array | undefined;
    for (let at = 0; at < message.length; at++) {
      j.push(message.subarray(at, at + 1));
      assert.ok(j.capacity <= Math.max(256, 2 * (at + 1)), `${j.capacity} bytes reserved for ${at + 1} received`);
      got = j.next();
      if (at < message.length - 1) assert.equal(got, undefined);
    }
    assert.deepStrictEqual(got, message);
    assert.ok(j.isEmpty);
    // Each byte in and the growth steps (a geometric series); the buffer is handed over: at most 4n.
    // Reallocating on every fragment would copy n²/2, about 2^31 bytes here.
    assert.ok(
      j.bytesCopied <= 4 * message.length,
      `${j.bytesCopied} bytes copied for a ${message.length}-byte message`,
    );
  });

  test('HandshakeJoiner copies each message once, into a buffer of exactly its size that the transcript can keep', () => {
    const certificate = rawHandshake(
      HandshakeType.certificate,
      new Uint8Array(300).map((_, i) => i),
    );
    const done = rawHandshake(HandshakeType.server_hello_done, new Uint8Array(0));
    const record = concat(certificate, done);
    const whole = new HandshakeJoiner(1000);
    whole.push(record);
    const got = [whole.next()!, whole.next()!];
    assert.deepStrictEqual(got, [certificate, done]);
    assert.equal(whole.bytesCopied, record.length, 'messages inside one record are copied out once');
    for (const m of got) assert.equal(m.buffer.byteLength, m.length, 'a buffer of its own, not a view of the record');

    const split = new HandshakeJoiner(1000);
    // The header split too: two bytes, then the rest of it with the body's start.
    const cuts = [0, 2, 100, 200, certificate.length];
    for (let i = 0; i + 1 < cuts.length; i++) split.push(certificate.subarray(cuts[i], cuts[i + 1]));
    const reassembled = split.next()!;
    assert.deepStrictEqual(reassembled, certificate);
    assert.equal(reassembled.buffer.byteLength, certificate.length, 'the reassembly buffer is handed over, not copied');
    // Each byte in once, plus one growth step of what had arrived; nothing copied out.
    assert.ok(split.bytesCopied < 2 * certificate.length, `${split.bytesCopied} bytes copied`);
    assert.ok(split.isEmpty);
  });

  test('HandshakeJoiner does not reserve the length a header claims before the bytes arrive', () => {
    const j = new HandshakeJoiner(128 * 1024);
    j.push(Uint8Array.of(HandshakeType.certificate, 0x01, 0xff, 0xff, 1, 2, 3, 4, 5, 6));
    assert.equal(j.next(), undefined);
    assert.ok(j.capacity <= 256, `${j.capacity} bytes reserved for a claim of 128 KiB`);
  });

  test('HandshakeJoiner reassembles a message split across three records and two messages coalesced in one record', () => {
    const j = new HandshakeJoiner(1000);
    const hello = encodeHandshake(sampleServerHello([renegotiationInfo(new Uint8Array(0))]));
    j.push(hello.subarray(0, 2));
    assert.equal(j.next(), undefined);
    j.push(hello.subarray(2, 30));
    assert.equal(j.next(), undefined);
    j.push(hello.subarray(30));
    assert.deepStrictEqual(j.next(), hello);
    assert.equal(j.next(), undefined);
    assert.ok(j.isEmpty);

    const done = encodeHandshake({ type: HandshakeType.server_hello_done });
    const ticket = encodeHandshake({
      type: HandshakeType.new_session_ticket,
      lifetimeHint: 300,
      ticket: Uint8Array.of(1, 2, 3),
    });
    j.push(concat(ticket, done));
    assert.deepStrictEqual(j.next(), ticket);
    assert.deepStrictEqual(j.next(), done);
    assert.equal(j.next(), undefined);
    assert.ok(j.isEmpty);
  });
});

describe('codec', () => {
  test('Writer back-fills nested length prefixes', () => {
    const w = new Writer(1); // forces the buffer to grow while prefixes are still open
    w.prefixed(2, (a) => {
      a.u8(0xaa);
      a.prefixed(1, (b) => b.bytes(Uint8Array.of(1, 2, 3)));
      a.prefixed(3, (c) => c.u16(0xbeef));
    });
    w.vec8(new Uint8Array(0));
    assert.deepStrictEqual(
      w.finish(),
      Uint8Array.of(0x00, 0x0a, 0xaa, 0x03, 1, 2, 3, 0x00, 0x00, 0x02, 0xbe, 0xef, 0x00),
    );

    // And a Reader walks the same structure back.
    const r = new Reader(w.finish());
    const outer = r.sub16();
    assert.equal(outer.u8(), 0xaa);
    assert.deepStrictEqual(outer.vec8(), Uint8Array.of(1, 2, 3));
    const inner = outer.sub24();
    assert.equal(inner.u16(), 0xbeef);
    inner.expectEnd('inner');
    outer.expectEnd('outer');
    assert.deepStrictEqual(r.vec8(), new Uint8Array(0));
    r.expectEnd('all');
  });

  test('Writer refuses a vector too long for its length prefix', () => {
    assert.equal(new Writer().vec8(new Uint8Array(255)).length, 256);
    throwsKind(() => new Writer().vec8(new Uint8Array(256)), 'InternalError');
    throwsKind(() => new Writer().vec16(new Uint8Array(65536)), 'InternalError');
  });

  test('Reader rejects a read past the end of a bounded sub-reader', () => {
    const r = new Reader(Uint8Array.of(0, 1, 0xff, 0xff));
    const sub = r.sub16();
    assert.equal(sub.u8(), 0xff);
    throwsKind(() => sub.u16(), 'DecodeError');
    // The outer reader still holds a byte the sub-reader did not cover: trailing.
    throwsKind(() => r.expectEnd('outer'), 'DecodeError');
  });

  test('a ClientHello encoded with a notes array annotates session_id, cipher_suites and extensions', () => {
    const hello = sampleClientHello([renegotiationInfo(new Uint8Array(0)), serverName('a.example')]);
    const notes: Note[] = [];
    const raw = encodeHandshake(hello, new Writer(16, notes));
    const byLabel = (label: string): Note => {
      const n = notes.find((x) => x.label === label);
      assert.ok(n, `no note labelled ${label}`);
      return n;
    };

    const sid = byLabel('session_id');
    assert.deepStrictEqual(raw.subarray(sid.start, sid.end), concat(Uint8Array.of(32), hello.sessionId));

    const suites = byLabel('cipher_suites');
    assert.equal(suites.end - suites.start, 2 + 2 * hello.cipherSuites.length);
    assert.equal((raw[suites.start]! << 8) | raw[suites.start + 1]!, 2 * hello.cipherSuites.length);

    const exts = byLabel('extensions');
    assert.equal(exts.end, raw.length, 'the extensions block ends the message');
    assert.equal((raw[exts.start]! << 8) | raw[exts.start + 1]!, exts.end - exts.start - 2);

    // Each extension's data is labelled by its name, and the dump prints the labels.
    byLabel('renegotiation_info');
    byLabel('server_name');
    const dump = annotatedHex(raw, notes);
    assert.match(dump, /session_id/);
    assert.match(dump, /^000100 +renegotiation_info$/m);

    // Without a notes array, encoding is the same bytes.
    assert.deepStrictEqual(encodeHandshake(hello), raw);
  });

  test('decoding with a notes array annotates the same fields', () => {
    const raw = encodeHandshake(sampleClientHello([renegotiationInfo(new Uint8Array(0))]));
    const notes: Note[] = [];
    decodeHandshake(raw, undefined, notes);
    const labels = notes.map((n) => n.label);
    for (const l of ['session_id', 'cipher_suites', 'extensions', 'renegotiation_info'])
      assert.ok(labels.includes(l), l);
    for (const n of notes) assert.ok(n.start <= n.end && n.end <= raw.length);
  });

  test('encodeExtensions writes an empty list as a zero length, not as nothing', () => {
    const w = new Writer();
    encodeExtensions(w, []);
    assert.deepStrictEqual(w.finish(), Uint8Array.of(0, 0));
  });
});
