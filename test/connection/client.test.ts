/**
 * Bad input to the client state machine, without sockets: start() gives the
 * ClientHello, hand-built plaintext server records go in, and each case checks
 * the typed error, the fatal alert that goes out (RFC 5246 §7.2), and that the
 * error is sticky. A property then feeds arbitrary bytes and arbitrary records.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import { createCA } from '../../src/pki/throwaway.ts';
import type { ClientConfigInput } from '../../src/connection/client-connection.ts';
import { concat } from '../../src/wire/codec.ts';
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  ExtensionType,
  HandshakeType,
  ProtocolVersion,
} from '../../src/wire/enums.ts';
import { TlsError, alertFor, type TlsErrorKind } from '../../src/wire/errors.ts';
import { renegotiationInfo, type Extension } from '../../src/wire/extensions.ts';
import { decodeHandshake, encodeHandshake, type ClientHello, type ServerHello } from '../../src/wire/handshake.ts';
import { MAX_CIPHERTEXT, MAX_PLAINTEXT, encodeRecordHeader } from '../../src/wire/record.ts';
import { assertArbitraryBytesHandled, assertArbitraryRecordsHandled } from '../support/arbitraries.ts';
import { split } from '../support/bytes.ts';
import { errorsIn } from '../support/events.ts';
import { alertRecord, alertsIn, handshakeRecord, parseRecords, record } from '../support/records.ts';
import { ProbedClient, checkOutcome, feed } from '../support/sans-io.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];

interface Started {
  conn: ProbedClient;
  hello: ClientHello;
}

function startClient(input: ClientConfigInput = {}): Started {
  const conn = new ProbedClient({ serverName: 'localhost', insecure: true, ...input });
  const events = conn.start();
  assert.deepStrictEqual(events, []);
  const records = parseRecords(conn.takeOutput());
  assert.equal(records.length, 1);
  assert.equal(records[0]!.type, ContentType.handshake);
  const hello = decodeHandshake(records[0]!.fragment, undefined);
  assert.equal(hello.type, HandshakeType.client_hello);
  return { conn, hello: hello as ClientHello };
}

const EMPTY_RI = renegotiationInfo(new Uint8Array(0));

/** A ServerHello that is correct for this hello (first offered suite, empty renegotiation_info), with overrides. */
function serverHello(hello: ClientHello, over: Partial<Omit<ServerHello, 'type'>> = {}): Uint8Array {
  return encodeHandshake({
    type: HandshakeType.server_hello,
    version: TLS12,
    random: new Uint8Array(32).fill(0x5e),
    sessionId: new Uint8Array(0),
    cipherSuite: hello.cipherSuites[0]!,
    compressionMethod: 0,
    extensions: [EMPTY_RI],
    ...over,
  });
}

/**
 * Feeds bytes that must fail the connection with `kind`, and checks the fatal
 * alert sent, and that the error is sticky: more input brings no new events,
 * no output and no throw.
 */
function expectFatal(conn: ProbedClient, input: Uint8Array, kind: TlsErrorKind, alert: number): TlsError {
  const events = conn.receive(input);
  const errors = errorsIn(events);
  assert.equal(errors.length, 1, `one error event, got ${JSON.stringify(events.map((e) => e.type))}`);
  const error = errors[0]!;
  assert.ok(error instanceof TlsError);
  assert.equal(error.kind, kind, error.message);
  assert.equal(conn.error, error);
  assert.ok(conn.closed);
  assert.deepStrictEqual(alertFor(kind), { level: AlertLevel.fatal, description: alert }, 'alertFor and the RFC agree');
  assert.deepStrictEqual(alertsIn(conn.takeOutput()), [[AlertLevel.fatal, alert]]);
  assert.ok(
    events.some(
      (e) => e.type === 'alert' && e.direction === 'sent' && e.level === AlertLevel.fatal && e.description === alert,
    ),
  );
  expectSticky(conn);
  return error;
}

function expectSticky(conn: ProbedClient): void {
  const before = conn.error;
  for (const more of [
    alertRecord(AlertLevel.fatal, 40),
    new TextEncoder().encode('GET / HTTP/1.1\r\n'),
    new Uint8Array(0),
  ]) {
    assert.deepStrictEqual(conn.receive(more), []);
    assert.equal(conn.takeOutput().length, 0);
  }
  assert.equal(conn.error, before);
}

// --- RFC 5746 on the initial handshake ---------------------------------------------------

describe('renegotiation_info in the initial ServerHello', () => {
  test('a ServerHello without renegotiation_info is refused with handshake_failure (RFC 5746 §3.4, OpenSSL 3 default)', () => {
    const { conn, hello } = startClient();
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { extensions: null })),
      'UnsafeLegacyServerRefused',
      AlertDescription.handshake_failure,
    );
  });

  test('with allowLegacyServer the same ServerHello is accepted and the client waits for the Certificate', () => {
    const { conn, hello } = startClient({ renegotiation: { allowLegacyServer: true } });
    const events = conn.receive(handshakeRecord(serverHello(hello, { extensions: null })));
    assert.deepStrictEqual(errorsIn(events), []);
    assert.equal(conn.error, undefined);
    assert.equal(conn.stateName, 'ExpectCertificate');
    assert.equal(conn.takeOutput().length, 0);
  });

  test('a ServerHello with an empty renegotiation_info is accepted', () => {
    const { conn, hello } = startClient();
    assert.deepStrictEqual(conn.receive(handshakeRecord(serverHello(hello))), []);
    assert.equal(conn.stateName, 'ExpectCertificate');
  });

  test('an initial ServerHello with a non-empty renegotiated_connection fails with handshake_failure', () => {
    const { conn, hello } = startClient();
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { extensions: [renegotiationInfo(new Uint8Array(24).fill(1))] })),
      'RenegotiationInfoMismatch',
      AlertDescription.handshake_failure,
    );
  });
});

// --- ServerHello contents ---------------------------------------------------------------

describe('a ServerHello that breaks the offer', () => {
  test('an extended_master_secret with a non-empty body is a decode_error (RFC 7627 §5.1: it SHALL be empty)', () => {
    const { conn, hello } = startClient();
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { extensions: [EMPTY_RI, { type: 0x0017, data: Uint8Array.of(0) }] })),
      'DecodeError',
      AlertDescription.decode_error,
    );
  });

  test('choosing a cipher suite that was not offered is an illegal_parameter', () => {
    const { conn, hello } = startClient();
    const notOffered = 0x0005; // TLS_RSA_WITH_RC4_128_SHA
    assert.ok(!hello.cipherSuites.includes(notOffered));
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { cipherSuite: notOffered })),
      'IllegalParameter',
      AlertDescription.illegal_parameter,
    );
  });

  test('choosing the renegotiation SCSV as the suite is an illegal_parameter', () => {
    const { conn, hello } = startClient({ renegotiation: { signal: 'scsv' } });
    assert.ok(hello.cipherSuites.includes(0x00ff));
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { cipherSuite: 0x00ff })),
      'IllegalParameter',
      AlertDescription.illegal_parameter,
    );
  });

  test('choosing TLS 1.3 through supported_versions is a protocol_version error', () => {
    const { conn, hello } = startClient();
    const tls13: Extension = { type: ExtensionType.supported_versions, data: Uint8Array.of(0x03, 0x04) };
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { extensions: [EMPTY_RI, tls13] })),
      'ProtocolVersion',
      AlertDescription.protocol_version,
    );
  });

  test('choosing a version above the offer is a protocol_version error', () => {
    const { conn, hello } = startClient();
    assert.equal(hello.version, TLS12);
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { version: 0x0304 })),
      'ProtocolVersion',
      AlertDescription.protocol_version,
    );
  });

  test('choosing a version below the configured minimum is a protocol_version error', () => {
    const { conn, hello } = startClient();
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { version: ProtocolVersion.TLSv1 })),
      'ProtocolVersion',
      AlertDescription.protocol_version,
    );
  });

  test('an extension the client did not offer is an unsupported_extension', () => {
    const { conn, hello } = startClient();
    assert.ok(!hello.extensions?.some((e) => e.type === 0x1234));
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { extensions: [EMPTY_RI, { type: 0x1234, data: new Uint8Array(0) }] })),
      'UnsupportedExtension',
      AlertDescription.unsupported_extension,
    );
  });

  test('a duplicated extension is an illegal_parameter', () => {
    const { conn, hello } = startClient();
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { extensions: [EMPTY_RI, EMPTY_RI] })),
      'IllegalParameter',
      AlertDescription.illegal_parameter,
    );
  });

  test('compression method 1 (DEFLATE) is an illegal_parameter', () => {
    const { conn, hello } = startClient();
    expectFatal(
      conn,
      handshakeRecord(serverHello(hello, { compressionMethod: 1 })),
      'IllegalParameter',
      AlertDescription.illegal_parameter,
    );
  });

  test('a truncated ServerHello is a decode_error', () => {
    const { conn, hello } = startClient();
    const body = serverHello(hello).subarray(4, 40);
    const truncated = concat(Uint8Array.of(HandshakeType.server_hello, 0, 0, body.length), body);
    expectFatal(conn, handshakeRecord(truncated), 'DecodeError', AlertDescription.decode_error);
  });
});

// --- messages and records out of order -------------------------------------------------------

// --- the version in view (RFC 5246 §7.4.4: CertificateRequest differs before TLS 1.2) ---------

describe('a handshake that settled on TLS 1.0', () => {
  const TLS10 = ProtocolVersion.TLSv1;
  const RSA_AES128_SHA = 0x002f; // a suite valid in TLS 1.0
  let rsaCert: Uint8Array | undefined;

  /** Runs a TLS 1.0 ServerHello and an RSA Certificate through a client, leaving it before CertificateRequest. */
  async function atCertificateRequest(): Promise<ProbedClient> {
    rsaCert ??= new Uint8Array(
      new X509Certificate((await createCA({ commonName: 'renego test', keyType: 'rsa' })).certPem).raw,
    );
    const { conn, hello } = startClient({ minVersion: TLS10 });
    assert.ok(hello.cipherSuites.includes(RSA_AES128_SHA));
    const sh = serverHello(hello, { version: TLS10, cipherSuite: RSA_AES128_SHA });
    const cert = encodeHandshake({ type: HandshakeType.certificate, certificates: [rsaCert] });
    assert.deepStrictEqual(conn.receive(record(ContentType.handshake, concat(sh, cert), TLS10)), []);
    assert.equal(conn.stateName, 'ExpectCertificateRequestOrServerHelloDone');
    return conn;
  }

  test('reads a CertificateRequest in the TLS 1.0 layout, without signature algorithms', async () => {
    const conn = await atCertificateRequest();
    const request = encodeHandshake({
      type: HandshakeType.certificate_request,
      certificateTypes: [1],
      signatureAlgorithms: null,
      certificateAuthorities: [Uint8Array.of(0x30, 0x00)],
    });
    assert.deepStrictEqual(conn.receive(record(ContentType.handshake, request, TLS10)), []);
    assert.equal(conn.error, undefined);
    assert.equal(conn.stateName, 'ExpectServerHelloDone');
  });

  test('refuses a CertificateRequest in the TLS 1.2 layout with decode_error', async () => {
    const conn = await atCertificateRequest();
    const request = encodeHandshake({
      type: HandshakeType.certificate_request,
      certificateTypes: [1],
      signatureAlgorithms: [0x0401],
      certificateAuthorities: [],
    });
    const events = conn.receive(record(ContentType.handshake, request, TLS10));
    assert.equal(errorsIn(events)[0]?.kind, 'DecodeError');
    assert.deepStrictEqual(alertsIn(conn.takeOutput()), [[AlertLevel.fatal, AlertDescription.decode_error]]);
  });

  test('refuses a record of another version once TLS 1.0 is agreed', async () => {
    const conn = await atCertificateRequest();
    expectFatal(
      conn,
      record(ContentType.handshake, encodeHandshake({ type: HandshakeType.server_hello_done }), TLS12),
      'ProtocolVersion',
      AlertDescription.protocol_version,
    );
  });
});

describe('input out of order', () => {
  test('a Certificate before the ServerHello is an unexpected_message', () => {
    const { conn } = startClient();
    const cert = encodeHandshake({ type: HandshakeType.certificate, certificates: [Uint8Array.of(0x30, 0)] });
    expectFatal(conn, handshakeRecord(cert), 'UnexpectedMessage', AlertDescription.unexpected_message);
  });

  test('an unknown handshake message type is an unexpected_message', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      handshakeRecord(Uint8Array.of(0x63, 0, 0, 0)),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('an application data record before the handshake is an unexpected_message', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      record(ContentType.application_data, Uint8Array.of(1, 2, 3)),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('a ChangeCipherSpec before keys were agreed is an unexpected_message', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      record(ContentType.change_cipher_spec, Uint8Array.of(1)),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('a ChangeCipherSpec right after a valid ServerHello is an unexpected_message', () => {
    const { conn, hello } = startClient();
    assert.deepStrictEqual(conn.receive(handshakeRecord(serverHello(hello))), []);
    expectFatal(
      conn,
      record(ContentType.change_cipher_spec, Uint8Array.of(1)),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('a HelloRequest during the handshake is ignored (RFC 5246 §7.4.1.1)', () => {
    const { conn, hello } = startClient();
    const helloRequest = encodeHandshake({ type: HandshakeType.hello_request });
    assert.deepStrictEqual(conn.receive(handshakeRecord(helloRequest)), []);
    assert.equal(conn.error, undefined);
    assert.equal(conn.stateName, 'ExpectServerHello');
    assert.equal(conn.takeOutput().length, 0, 'no second ClientHello, no alert');
    // The handshake carries on: the ServerHello is still what the client waits for.
    assert.deepStrictEqual(conn.receive(handshakeRecord(serverHello(hello))), []);
    assert.equal(conn.stateName, 'ExpectCertificate');
    // And again once the server's flight has begun.
    assert.deepStrictEqual(conn.receive(handshakeRecord(helloRequest)), []);
    assert.equal(conn.stateName, 'ExpectCertificate');
  });

  test('a HelloRequest with a body is a decode_error', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      handshakeRecord(Uint8Array.of(HandshakeType.hello_request, 0, 0, 1, 0)),
      'DecodeError',
      AlertDescription.decode_error,
    );
  });
});

// --- framing limits ---------------------------------------------------------------------------

describe('framing limits', () => {
  test('an empty (0-byte) handshake record is a decode_error', () => {
    const { conn } = startClient();
    expectFatal(conn, record(ContentType.handshake, new Uint8Array(0)), 'DecodeError', AlertDescription.decode_error);
  });

  test('a handshake message over the configured cap is refused from its header with decode_error', () => {
    const { conn } = startClient({ maxHandshakeMessageSize: 256 });
    // Only the 4-byte header arrives; the body never needs to.
    expectFatal(
      conn,
      handshakeRecord(Uint8Array.of(HandshakeType.certificate, 0, 1, 1)),
      'MessageTooLarge',
      AlertDescription.decode_error,
    );
    assert.equal(conn.bufferedIn, 0);
  });

  test('a handshake message exactly at the cap is waited for, not refused', () => {
    const { conn } = startClient({ maxHandshakeMessageSize: 256 });
    assert.deepStrictEqual(conn.receive(handshakeRecord(Uint8Array.of(HandshakeType.certificate, 0, 1, 0))), []);
    assert.equal(conn.error, undefined);
  });

  test('a record longer than 2^14+2048 is a record_overflow, refused from its header', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      encodeRecordHeader(ContentType.handshake, TLS12, MAX_CIPHERTEXT + 1),
      'RecordOverflow',
      AlertDescription.record_overflow,
    );
  });

  test('a plaintext record longer than 2^14 is a record_overflow', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      record(ContentType.handshake, new Uint8Array(MAX_PLAINTEXT + 1)),
      'RecordOverflow',
      AlertDescription.record_overflow,
    );
  });

  test("a non-TLS reply ('HTTP/1.1 400') is an unexpected_message", () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n\r\n'),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('random garbage fails with a typed error and a fatal alert, without a throw out of receive()', () => {
    // A fixed LCG stream, so the case is the same on every run; byte 0 is not a content type.
    let x = 0x2545f491;
    const garbage = Uint8Array.from({ length: 2000 }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x >>> 24));
    assert.ok(garbage[0]! < 20 || garbage[0]! > 24);
    const { conn } = startClient();
    const events = conn.receive(garbage);
    const errors = errorsIn(events);
    assert.equal(errors.length, 1);
    const alert = alertFor(errors[0]!.kind)?.description;
    assert.ok(alert !== undefined);
    assert.deepStrictEqual(alertsIn(conn.takeOutput()), [[AlertLevel.fatal, alert]]);
    expectSticky(conn);
  });
});

// --- alerts from the server ----------------------------------------------------------------------

describe('alerts from the server', () => {
  test('four warning alerts in a row are tolerated', () => {
    const { conn } = startClient();
    for (let i = 0; i < 4; i++) {
      const events = conn.receive(alertRecord(AlertLevel.warning, AlertDescription.unrecognized_name));
      assert.deepStrictEqual(errorsIn(events), []);
    }
    assert.equal(conn.closed, false);
    assert.equal(conn.takeOutput().length, 0);
  });

  test('a flood of warning alerts closes the connection with an unexpected_message', () => {
    const { conn } = startClient();
    for (let i = 0; i < 4; i++) conn.receive(alertRecord(AlertLevel.warning, AlertDescription.unrecognized_name));
    expectFatal(
      conn,
      alertRecord(AlertLevel.warning, AlertDescription.unrecognized_name),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('a flood of warnings packed in one record closes the connection too', () => {
    const { conn } = startClient();
    const five = new Uint8Array(10).fill(AlertLevel.warning);
    for (let i = 1; i < 10; i += 2) five[i] = AlertDescription.user_canceled;
    expectFatal(conn, record(ContentType.alert, five), 'UnexpectedMessage', AlertDescription.unexpected_message);
  });

  test('a fatal alert from the server is a PeerSentFatalAlert, with no alert sent back', () => {
    const { conn } = startClient();
    const events = conn.receive(alertRecord(AlertLevel.fatal, AlertDescription.handshake_failure));
    const errors = errorsIn(events);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.kind, 'PeerSentFatalAlert');
    assert.equal(errors[0]!.peerAlert, AlertDescription.handshake_failure);
    assert.ok(
      events.some(
        (e) => e.type === 'alert' && e.direction === 'received' && e.description === AlertDescription.handshake_failure,
      ),
    );
    assert.ok(!events.some((e) => e.type === 'alert' && e.direction === 'sent'));
    assert.equal(conn.takeOutput().length, 0);
    assert.ok(conn.closed);
    expectSticky(conn);
  });

  test('a malformed alert record (odd length) is a decode_error', () => {
    const { conn } = startClient();
    expectFatal(
      conn,
      record(ContentType.alert, Uint8Array.of(AlertLevel.fatal)),
      'DecodeError',
      AlertDescription.decode_error,
    );
  });

  test('close_notify gives a close-notify event and our own close_notify', () => {
    const { conn } = startClient();
    const events = conn.receive(alertRecord(AlertLevel.warning, AlertDescription.close_notify));
    assert.ok(events.some((e) => e.type === 'close-notify'));
    assert.deepStrictEqual(errorsIn(events), []);
    assert.deepStrictEqual(alertsIn(conn.takeOutput()), [[AlertLevel.warning, AlertDescription.close_notify]]);
    assert.ok(conn.closed);
    expectSticky(conn);
  });
});

// --- arbitrary input ---------------------------------------------------------------------------

describe('arbitrary input', () => {
  test('arbitrary bytes never throw out of receive() and end waiting or in a typed error', () => {
    assertArbitraryBytesHandled(() => startClient().conn, 300);
  });

  test('arbitrary sequences of well-formed records never throw out of receive() and end waiting or in a typed error', () => {
    // Some records are a valid ServerHello for this client's hello, to reach the states after it.
    assertArbitraryRecordsHandled(
      fc.boolean(),
      (legacy) => {
        const { conn, hello } = startClient(legacy ? { renegotiation: { allowLegacyServer: true } } : {});
        return { conn, valid: handshakeRecord(serverHello(hello)) };
      },
      400,
    );
  });

  test('a stream too large to be one record is never buffered whole', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 4 }), (length, pieces) => {
        const { conn } = startClient();
        const header = encodeRecordHeader(ContentType.handshake, TLS12, length);
        const payload = new Uint8Array(Math.min(length, MAX_CIPHERTEXT + 100));
        const chunks = [
          header,
          ...split(
            payload,
            Array.from({ length: pieces }, (_, i) => Math.floor((i * payload.length) / pieces)),
          ),
        ];
        const { events, output } = feed(conn, chunks);
        checkOutcome(conn, events, output);
        if (length > MAX_CIPHERTEXT) assert.equal(conn.error?.kind, 'RecordOverflow');
      }),
      { numRuns: 60 },
    );
  });
});
