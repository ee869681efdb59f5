/**
 * The in-memory pair of test/support/engine-pair.ts, tampering in both directions: what a man in
 * the middle changes, drops or injects is caught by the engine on the other end, with the alert
 * the RFC names. (Also the check that the pair's tampering reaches the engines at all.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientConnection } from '../../src/connection/client-connection.ts';
import { createServerContext, type ServerContext } from '../../src/connection/server-connection.ts';
import { loadCertificate } from '../../src/pki/credentials.ts';
import { createTestPki } from '../../src/pki/throwaway.ts';
import { AlertDescription, AlertLevel, ContentType, HandshakeType } from '../../src/wire/enums.ts';
import { alterRecords, connectPair, inject, step, tamperMessage } from '../support/engine-pair.ts';
import { alertsSent, dataIn, summaries } from '../support/events.ts';
import { alertRecord } from '../support/records.ts';

const pki = await createTestPki({ keyType: 'rsa' });
const ctx: ServerContext = createServerContext({
  certificates: [loadCertificate(pki.server.chainPem, pki.server.keyPem)],
});
const newClient = (): ClientConnection => new ClientConnection({ serverName: 'localhost', insecure: true });

describe('an in-memory pair with a man in the middle', () => {
  test('untouched, the pair completes a handshake on both sides and carries data both ways', () => {
    const pair = connectPair(ctx, newClient());
    assert.equal(summaries(pair.clientEvents).length, 1);
    assert.equal(summaries(pair.serverEvents).length, 1);
    pair.client.write(new TextEncoder().encode('up'));
    pair.server.write(new TextEncoder().encode('down'));
    const got = step(pair);
    assert.equal(dataIn(got.server), 'up');
    assert.equal(dataIn(got.client), 'down');
  });

  test("a changed ServerHello random (server to client) is caught by the client's Finished check: decrypt_error", () => {
    // RFC 5246 §7.4.9: the Finished covers every handshake message, so the two transcripts disagree.
    const pair = connectPair(ctx, newClient(), {
      toClient: tamperMessage(HandshakeType.server_hello, (body) => {
        body[2 + 31]! ^= 0x01; // the last byte of the random, after the two-byte version
      }),
    });
    assert.equal(pair.client.error?.kind, 'DecryptError', pair.client.error?.message);
    assert.deepStrictEqual(alertsSent(pair.clientEvents).at(-1), [AlertLevel.fatal, AlertDescription.decrypt_error]);
    assert.equal(summaries(pair.clientEvents).length, 0);
  });

  test('a changed ClientHello random (client to server) is caught by the client: the ServerKeyExchange signature covers both randoms', () => {
    // RFC 5246 §7.4.3: the server signs client_random + server_random + params, with the random it received.
    const pair = connectPair(
      ctx,
      newClient(),
      tamperMessage(HandshakeType.client_hello, (body) => {
        body[2 + 31]! ^= 0x01;
      }),
    );
    assert.equal(pair.client.error?.kind, 'DecryptError', pair.client.error?.message);
    assert.equal(pair.server.error?.kind, 'PeerSentFatalAlert');
    assert.equal(pair.server.error?.peerAlert, AlertDescription.decrypt_error);
  });

  test('a dropped ChangeCipherSpec (server to client) fails the client with a fatal alert, no handshake completed', () => {
    // RFC 5246 §7.1: without the ChangeCipherSpec the encrypted Finished is read under the old (null) keys as
    // garbage; which decode error that garbage gives depends on the ciphertext, so only the failure is asserted.
    const pair = connectPair(ctx, newClient(), {
      toClient: alterRecords((r) => (r.type === ContentType.change_cipher_spec ? null : r)),
    });
    assert.ok(pair.client.error, 'the client failed');
    assert.equal(summaries(pair.clientEvents).length, 0);
    assert.equal(alertsSent(pair.clientEvents).at(-1)?.[0], AlertLevel.fatal);
    assert.equal(pair.server.error?.kind, 'PeerSentFatalAlert');
  });

  test('a plaintext record injected into the encrypted stream is refused with bad_record_mac (RFC 5246 §6.2.3)', () => {
    const pair = connectPair(ctx, newClient());
    inject(pair, 'client', alertRecord(AlertLevel.warning, AlertDescription.close_notify));
    assert.equal(pair.client.error?.kind, 'BadRecordMac', pair.client.error?.message);
    assert.deepStrictEqual(alertsSent(pair.clientEvents).at(-1), [AlertLevel.fatal, AlertDescription.bad_record_mac]);
    assert.equal(pair.server.error?.kind, 'PeerSentFatalAlert');
  });
});
