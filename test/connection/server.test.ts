/**
 * The server engine without sockets: a ClientConnection and a ServerConnection
 * pumped against each other in memory (takeOutput() → receive()), with records
 * altered in flight where a case needs a misbehaving client. Each preset is
 * checked against its definition in docs/server-policy.md, for every kind of
 * client and both directions of renegotiation; then the RFC 5746 server rules,
 * client certificates, resumption, the RSA key exchange countermeasure, the
 * rate limit, SNI, ALPN, and arbitrary input.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { ClientConnection, type ClientConfigInput } from '../../src/connection/client-connection.ts';
import {
  type ServerConnection,
  createServerContext,
  type ServerConfigInput,
  type ServerContext,
} from '../../src/connection/server-connection.ts';
import { suiteByName } from '../../src/crypto/suites.ts';
import type { ClientSession } from '../../src/handshake/client-config.ts';
import type { ConnectionEvent, HandshakeSummary } from '../../src/handshake/events.ts';
import { SERVER_PRESETS, type ServerPresetName } from '../../src/handshake/server-presets.ts';
import { loadCertificate } from '../../src/pki/credentials.ts';
import { createTestPki, issueCertificate, type TestPki } from '../../src/pki/throwaway.ts';
import { parsePemCertificates, trustStoreFromPem } from '../../src/pki/verify.ts';
import { concat } from '../../src/wire/codec.ts';
import {
  AlertDescription,
  AlertLevel,
  ContentType,
  HandshakeType,
  NamedGroup,
  ProtocolVersion,
  SignatureScheme,
  TLS_FALLBACK_SCSV,
} from '../../src/wire/enums.ts';
import { renegotiationInfo } from '../../src/wire/extensions.ts';
import { TlsError, alertFor, type TlsErrorKind } from '../../src/wire/errors.ts';
import {
  MAX_CLIENT_HELLO_LENGTH,
  decodeHandshake,
  encodeHandshake,
  type ClientHello,
  type HandshakeMessage,
  type ServerHello,
  type UnknownHandshake,
} from '../../src/wire/handshake.ts';
import {
  HANDSHAKE_HEADER_LEN,
  MAX_CIPHERTEXT,
  MAX_PLAINTEXT,
  RECORD_HEADER_LEN,
  encodeRecordHeader,
} from '../../src/wire/record.ts';
import { assertArbitraryBytesHandled, assertArbitraryRecordsHandled } from '../support/arbitraries.ts';
import { connectPair, step, tamperMessage, type Pair } from '../support/engine-pair.ts';
import { alertsSent, dataIn, errorsIn, summaries } from '../support/events.ts';
import { encodeRecords, handshakeRecord, parseRecords, type WireRecord } from '../support/records.ts';
import { ProbedServer, checkOutcome, feed } from '../support/sans-io.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// --- fixtures: one throwaway PKI for the server and the good client, another CA for a stranger ----

const pki: TestPki = await createTestPki({ keyType: 'rsa' });
const stranger: TestPki = await createTestPki({ keyType: 'rsa' });
const serverCert = loadCertificate(pki.server.chainPem, pki.server.keyPem);
const trust = trustStoreFromPem(pki.ca.certPem);
const der = (pem: string): Uint8Array[] => parsePemCertificates(pem).map((c) => new Uint8Array(c.raw));
const clientCredentials = {
  clientCertificates: der(pki.client.certPem),
  clientKey: crypto.createPrivateKey(pki.client.keyPem),
};
const strangerCredentials = {
  clientCertificates: der(stranger.client.certPem),
  clientKey: crypto.createPrivateKey(stranger.client.keyPem),
};
/** The DER subject of our CA: what a CertificateRequest must list (RFC 5246 §7.4.4). */
const caSubject = new Uint8Array(pki.ca.cert.subjectName.toArrayBuffer());

function serverContext(input: Partial<ServerConfigInput> = {}): ServerContext {
  return createServerContext({ certificates: [serverCert], clientTrust: trust, ...input });
}

function presetContext(name: ServerPresetName, more: Partial<ServerConfigInput> = {}): ServerContext {
  const p = SERVER_PRESETS[name];
  return serverContext({ renegotiation: p.renegotiation, clientCertificate: p.clientCertificate, ...more });
}

function newClient(input: ClientConfigInput = {}): ClientConnection {
  return new ClientConnection({ serverName: 'localhost', trust, ...input });
}

/** Application data still flows both ways under the keys in force. */
function assertDataFlows(pair: Pair, tag: string): void {
  pair.client.write(text(`ping ${tag}`));
  assert.equal(dataIn(step(pair).server), `ping ${tag}`);
  pair.server.write(text(`pong ${tag}`));
  assert.equal(dataIn(step(pair).client), `pong ${tag}`);
}

/**
 * The server failed with `kind` and sent the matching fatal alert; the client
 * received it as PeerSentFatalAlert.
 */
function assertServerFatal(pair: Pair, kind: TlsErrorKind, alert: number): void {
  assert.equal(pair.server.error?.kind, kind, pair.server.error?.message ?? 'no server error');
  assert.deepStrictEqual(alertFor(kind), { level: AlertLevel.fatal, description: alert }, 'alertFor and the RFC agree');
  assert.deepStrictEqual(alertsSent(pair.serverEvents).at(-1), [AlertLevel.fatal, alert]);
  assert.equal(errorsIn(pair.serverEvents).length, 1, 'one error event on the server');
  assert.equal(pair.client.error?.kind, 'PeerSentFatalAlert');
  assert.equal(pair.client.error?.peerAlert, alert);
}

function assertThrowsTls(fn: () => unknown, kind: TlsErrorKind): void {
  assert.throws(fn, (e: unknown) => e instanceof TlsError && e.kind === kind);
}

// --- presets, as docs/server-policy.md defines them ---------------------------------------------

/** The columns of the "Presets" table in docs/server-policy.md, transcribed. */
interface PresetDefinition {
  rfc5746: 'no' | 'yes' | 'required';
  clientInitiated: 'accepted' | 'refused';
  /** Client-initiated renegotiations per window ("3 per 10 min"), or none. */
  clientLimit: number | 'none';
  serverInitiated: 'yes' | 'never';
  legacyClientsRenegotiate: 'yes' | 'no' | '-';
  clientCertificate: 'by renegotiation' | 'by renegotiation: breaks' | 'initial handshake' | 'none';
}

const DEFINITIONS: Record<ServerPresetName, PresetDefinition> = {
  'legacy-2009': {
    rfc5746: 'no',
    clientInitiated: 'accepted',
    clientLimit: 'none',
    serverInitiated: 'yes',
    legacyClientsRenegotiate: 'yes',
    clientCertificate: 'by renegotiation',
  },
  'iis-default': {
    rfc5746: 'no',
    clientInitiated: 'refused',
    clientLimit: 3,
    serverInitiated: 'yes',
    legacyClientsRenegotiate: 'yes',
    clientCertificate: 'by renegotiation',
  },
  'iis-977377': {
    rfc5746: 'no',
    clientInitiated: 'refused',
    clientLimit: 3,
    serverInitiated: 'never',
    legacyClientsRenegotiate: '-',
    clientCertificate: 'by renegotiation: breaks',
  },
  'iis-always-nego-client-cert': {
    rfc5746: 'no',
    clientInitiated: 'refused',
    clientLimit: 3,
    serverInitiated: 'yes',
    legacyClientsRenegotiate: 'yes',
    clientCertificate: 'initial handshake',
  },
  rfc5746: {
    rfc5746: 'yes',
    clientInitiated: 'accepted',
    clientLimit: 3,
    serverInitiated: 'yes',
    legacyClientsRenegotiate: 'no',
    clientCertificate: 'by renegotiation',
  },
  'rfc5746-strict': {
    rfc5746: 'required',
    clientInitiated: 'accepted',
    clientLimit: 3,
    serverInitiated: 'yes',
    legacyClientsRenegotiate: '-',
    clientCertificate: 'by renegotiation',
  },
  'openssl3-default': {
    rfc5746: 'yes',
    clientInitiated: 'refused',
    clientLimit: 3,
    serverInitiated: 'yes',
    legacyClientsRenegotiate: 'no',
    clientCertificate: 'none',
  },
};

type ClientKind = 'rfc5746' | 'scsv' | 'legacy';

/**
 * The three clients of the field. The RFC 5746 and SCSV clients complete a
 * handshake with an unpatched server (OpenSSL's -legacy_server_connect) but
 * never renegotiate with one (RFC 5746 §4.2); the legacy client is a 2009
 * client that signals nothing and renegotiates with anyone.
 */
const CLIENT_KINDS: Record<ClientKind, ClientConfigInput> = {
  rfc5746: { renegotiation: { allowLegacyServer: true } },
  scsv: { renegotiation: { signal: 'scsv', allowLegacyServer: true } },
  legacy: { renegotiation: { signal: 'none', allowUnsafeLegacyRenegotiation: true } },
};

type Outcome =
  | { kind: 'completed' }
  /** The peer answered with a no_renegotiation warning; the session goes on. */
  | { kind: 'refused-warning' }
  /** The side that would start it refuses locally, with a typed error. */
  | { kind: 'refused-locally'; side: 'client' | 'server'; error: TlsErrorKind }
  /** The server ends the connection with a fatal alert. */
  | { kind: 'fatal'; error: TlsErrorKind; alert: number };

const COMPLETED: Outcome = { kind: 'completed' };
const REFUSED_WARNING: Outcome = { kind: 'refused-warning' };

function initialOutcome(d: PresetDefinition, client: ClientKind): Outcome {
  // KB980436 strict mode: a client that does not signal RFC 5746 never gets in.
  if (d.rfc5746 === 'required' && client === 'legacy') {
    return { kind: 'fatal', error: 'UnsafeLegacyClientRefused', alert: AlertDescription.handshake_failure };
  }
  return COMPLETED;
}

function clientInitiatedOutcome(d: PresetDefinition, client: ClientKind): Outcome {
  if (client !== 'legacy' && d.rfc5746 === 'no') {
    return { kind: 'refused-locally', side: 'client', error: 'InsecureRenegotiationRefused' };
  }
  if (d.clientInitiated === 'refused') return REFUSED_WARNING;
  if (client === 'legacy' && d.legacyClientsRenegotiate === 'no') return REFUSED_WARNING;
  return COMPLETED;
}

function serverInitiatedOutcome(d: PresetDefinition, client: ClientKind): Outcome {
  if (d.serverInitiated === 'never') return { kind: 'refused-locally', side: 'server', error: 'RenegotiationRefused' };
  if (client === 'legacy' && d.legacyClientsRenegotiate === 'no') {
    return { kind: 'refused-locally', side: 'server', error: 'InsecureRenegotiationRefused' };
  }
  // Our patched clients answer an unpatched server's HelloRequest with a no_renegotiation warning.
  if (client !== 'legacy' && d.rfc5746 === 'no') return REFUSED_WARNING;
  return COMPLETED;
}

function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case 'completed':
      return 'completes';
    case 'refused-warning':
      return 'is refused with a no_renegotiation warning and the session goes on';
    case 'refused-locally':
      return `is refused by the ${o.side} before anything is sent (${o.error})`;
    case 'fatal':
      return `fails with a fatal alert ${o.alert} (${o.error})`;
  }
}

/** Connects a client of this kind that holds a certificate from our CA, and checks the initial handshake. */
function connectForPreset(name: ServerPresetName, client: ClientKind): Pair | undefined {
  const d = DEFINITIONS[name];
  const pair = connectPair(presetContext(name), newClient({ ...CLIENT_KINDS[client], ...clientCredentials }));
  const expected = initialOutcome(d, client);
  if (expected.kind === 'fatal') {
    assertServerFatal(pair, expected.error, expected.alert);
    return undefined;
  }
  assert.equal(pair.server.error, undefined, pair.server.error?.message);
  assert.equal(pair.client.error, undefined, pair.client.error?.message);
  const [s] = summaries(pair.serverEvents);
  assert.ok(s, 'the server completed the initial handshake');
  assert.equal(s.secureRenegotiation, d.rfc5746 !== 'no' && client !== 'legacy', 'RFC 5746 status');
  // The client certificate column: asked for in the initial handshake only by the "initial handshake" presets.
  const initialCert = d.clientCertificate === 'initial handshake';
  assert.equal(s.certificateRequested !== undefined, initialCert, 'CertificateRequest in the initial handshake');
  assert.equal(s.peerCertificates.length, initialCert ? 1 : 0);
  if (initialCert) assert.equal(s.peerVerified, true);
  return pair;
}

function assertRenegotiationCompleted(pair: Pair, handshakes: number): HandshakeSummary {
  assert.equal(pair.client.error, undefined, pair.client.error?.message);
  assert.equal(pair.server.error, undefined, pair.server.error?.message);
  assert.equal(pair.client.security.handshakes, handshakes);
  assert.equal(pair.server.security.handshakes, handshakes);
  const s = summaries(pair.serverEvents).at(-1)!;
  assert.equal(s.renegotiation, handshakes - 1);
  return s;
}

function assertRefusedWithWarning(pair: Pair, refuser: 'client' | 'server', asker: 'client' | 'server'): void {
  const refuserEvents = refuser === 'client' ? pair.clientEvents : pair.serverEvents;
  const askerEvents = asker === 'client' ? pair.clientEvents : pair.serverEvents;
  assert.equal(pair.client.error, undefined, pair.client.error?.message);
  assert.equal(pair.server.error, undefined, pair.server.error?.message);
  assert.deepStrictEqual(alertsSent(refuserEvents).at(-1), [AlertLevel.warning, AlertDescription.no_renegotiation]);
  assert.ok(refuserEvents.some((e) => e.type === 'renegotiation-requested' && !e.accepted));
  assert.ok(
    askerEvents.some((e) => e.type === 'renegotiation-refused'),
    `the ${asker} saw the refusal`,
  );
  assert.equal(pair.client.security.handshakes, 1);
  assert.equal(pair.server.security.handshakes, 1);
  assert.equal(pair.client.isHandshaking, false);
  assert.equal(pair.server.isHandshaking, false);
}

describe('each preset behaves as docs/server-policy.md defines it', () => {
  test('the definitions cover exactly the presets', () => {
    assert.deepStrictEqual(Object.keys(DEFINITIONS).sort(), Object.keys(SERVER_PRESETS).sort());
  });

  for (const name of Object.keys(DEFINITIONS) as ServerPresetName[]) {
    const d = DEFINITIONS[name];
    describe(name, () => {
      for (const client of Object.keys(CLIENT_KINDS) as ClientKind[]) {
        const initial = initialOutcome(d, client);
        if (initial.kind !== 'completed') {
          test(`an initial handshake from a ${client} client ${describeOutcome(initial)}`, () => {
            assert.equal(connectForPreset(name, client), undefined);
          });
          continue;
        }

        const ci = clientInitiatedOutcome(d, client);
        test(`a client-initiated renegotiation from a ${client} client ${describeOutcome(ci)}`, () => {
          const pair = connectForPreset(name, client)!;
          if (ci.kind === 'refused-locally') {
            assertThrowsTls(() => pair.client.renegotiate(), ci.error);
            assert.equal(pair.client.takeOutput().length, 0);
            assert.equal(pair.client.error, undefined, 'a local refusal does not end the connection');
          } else {
            pair.clientEvents.push(...pair.client.renegotiate());
            step(pair);
            if (ci.kind === 'completed') {
              const s = assertRenegotiationCompleted(pair, 2);
              assert.equal(s.secureRenegotiation, client !== 'legacy');
              if (d.clientCertificate === 'initial handshake') assert.equal(s.peerCertificates.length, 1);
            } else {
              assertRefusedWithWarning(pair, 'server', 'client');
            }
          }
          assertDataFlows(pair, 'after');
        });

        const si = serverInitiatedOutcome(d, client);
        const requestCert = d.clientCertificate !== 'none';
        test(`a server-initiated renegotiation${requestCert ? ' for a client certificate' : ''} with a ${client} client ${describeOutcome(si)}`, () => {
          const pair = connectForPreset(name, client)!;
          if (si.kind === 'refused-locally') {
            assertThrowsTls(() => pair.server.requestRenegotiation({ requestCert }), si.error);
            assert.equal(pair.server.takeOutput().length, 0, 'no HelloRequest went out');
            assert.equal(pair.server.awaitingRenegotiation, false);
          } else {
            pair.serverEvents.push(...pair.server.requestRenegotiation({ requestCert }));
            step(pair);
            if (si.kind === 'completed') {
              const s = assertRenegotiationCompleted(pair, 2);
              if (requestCert) {
                assert.ok(s.certificateRequested, 'the renegotiation asked for a certificate');
                assert.equal(s.peerCertificates.length, 1, 'the client certificate was obtained');
                assert.equal(s.peerVerified, true);
              }
            } else {
              assertRefusedWithWarning(pair, 'client', 'server');
              assert.equal(pair.server.awaitingRenegotiation, false);
            }
          }
          assertDataFlows(pair, 'after');
        });
      }

      if (d.clientInitiated === 'accepted') {
        const limit = d.clientLimit;
        const client: ClientKind = d.rfc5746 === 'no' ? 'legacy' : 'rfc5746';
        test(
          limit === 'none'
            ? 'client-initiated renegotiations have no limit (ten in a row complete)'
            : `the ${limit + 1}th client-initiated renegotiation in the window closes the connection`,
          () => {
            const pair = connectForPreset(name, client)!;
            const allowed = limit === 'none' ? 10 : limit;
            for (let i = 1; i <= allowed; i++) {
              pair.client.renegotiate();
              step(pair);
              assertRenegotiationCompleted(pair, i + 1);
            }
            if (limit === 'none') return;
            pair.client.renegotiate();
            step(pair);
            assertServerFatal(pair, 'TooManyRenegotiationRequests', AlertDescription.handshake_failure);
          },
        );
      }
    });
  }
});

// --- RFC 5746 on the server ------------------------------------------------------------------

describe('RFC 5746 rules on a renegotiation ClientHello (§3.7)', () => {
  const cases: { name: string; ri: Parameters<ClientConnection['renegotiate']>[0] }[] = [
    {
      name: 'a wrong renegotiated_connection',
      ri: { renegotiationInfo: { kind: 'value', value: new Uint8Array(12).fill(0xa5) } },
    },
    { name: 'an empty renegotiated_connection', ri: { renegotiationInfo: { kind: 'empty' } } },
    { name: 'the SCSV alone', ri: { renegotiationInfo: { kind: 'scsv-only' } } },
    { name: 'no renegotiation_info at all', ri: { renegotiationInfo: { kind: 'omit' } } },
  ];
  for (const c of cases) {
    test(`${c.name} is refused with a fatal handshake_failure`, () => {
      const pair = connectPair(presetContext('rfc5746'), newClient());
      assert.equal(pair.server.handshakeComplete, true);
      pair.client.renegotiate(c.ri);
      step(pair);
      assertServerFatal(pair, 'RenegotiationInfoMismatch', AlertDescription.handshake_failure);
      assert.equal(pair.server.security.handshakes, 1);
    });
  }

  for (const c of cases) {
    test(`${c.name} in the answer to our own HelloRequest is refused with a fatal handshake_failure`, () => {
      const pair = connectPair(presetContext('openssl3-default'), newClient());
      pair.client.helloRequestAnswer = c.ri ?? {};
      pair.server.requestRenegotiation({ requestCert: true });
      step(pair);
      assertServerFatal(pair, 'RenegotiationInfoMismatch', AlertDescription.handshake_failure);
      assert.equal(pair.server.security.handshakes, 1);
    });
  }

  test("the client's own verify_data from the previous handshake is accepted", () => {
    const pair = connectPair(presetContext('rfc5746'), newClient());
    const value = pair.client.security.clientVerifyData.slice();
    pair.client.renegotiate({ renegotiationInfo: { kind: 'value', value } });
    step(pair);
    assertRenegotiationCompleted(pair, 2);
  });

  test('a legacy connection that starts signalling RFC 5746 mid-way is refused with handshake_failure', () => {
    const ctx = serverContext({ renegotiation: { allowClientInitiated: true, allowUnsafeLegacy: true } });
    const pair = connectPair(ctx, newClient(CLIENT_KINDS.legacy));
    pair.client.renegotiate({ renegotiationInfo: { kind: 'empty' } });
    step(pair);
    assertServerFatal(pair, 'RenegotiationInfoMismatch', AlertDescription.handshake_failure);
  });

  test('allowUnsafeLegacy lets a legacy client renegotiate on a patched server, and the connection stays legacy', () => {
    const ctx = serverContext({ renegotiation: { allowClientInitiated: true, allowUnsafeLegacy: true } });
    const pair = connectPair(ctx, newClient(CLIENT_KINDS.legacy));
    pair.client.renegotiate();
    step(pair);
    const s = assertRenegotiationCompleted(pair, 2);
    assert.equal(s.secureRenegotiation, false);
  });

  test('an initial ClientHello with a non-empty renegotiation_info is refused with handshake_failure (§3.6)', () => {
    const server = new ProbedServer(presetContext('rfc5746'));
    const client = newClient();
    const pair: Pair = {
      client,
      server,
      clientEvents: client.start({ renegotiationInfo: { kind: 'value', value: new Uint8Array(12).fill(1) } }),
      serverEvents: [],
    };
    step(pair);
    assertServerFatal(pair, 'RenegotiationInfoMismatch', AlertDescription.handshake_failure);
  });

  test("strict mode refuses a legacy client's initial ClientHello, and accepts the SCSV", () => {
    const refused = connectPair(presetContext('rfc5746-strict'), newClient(CLIENT_KINDS.legacy));
    assertServerFatal(refused, 'UnsafeLegacyClientRefused', AlertDescription.handshake_failure);
    assert.equal(summaries(refused.serverEvents).length, 0);
    const scsv = connectPair(presetContext('rfc5746-strict'), newClient(CLIENT_KINDS.scsv));
    assert.equal(summaries(scsv.serverEvents)[0]?.secureRenegotiation, true);
  });

  test('refuseWith fatal ends the connection at a refused renegotiation with a fatal handshake_failure, never a fatal no_renegotiation (RFC 5246 §7.2.2)', () => {
    const pair = connectPair(serverContext({ renegotiation: { refuseWith: 'fatal' } }), newClient());
    pair.client.renegotiate();
    step(pair);
    assertServerFatal(pair, 'RenegotiationRefused', AlertDescription.handshake_failure);
  });

  for (const maxRefusals of [undefined, 2] as const) {
    test(`a client that keeps asking after warnings is cut off after maxRefusals refusals (${maxRefusals ?? 'default 5'})`, () => {
      const more =
        maxRefusals === undefined
          ? {}
          : { renegotiation: { ...SERVER_PRESETS['openssl3-default'].renegotiation, maxRefusals } };
      const pair = connectPair(presetContext('openssl3-default', more), newClient());
      let asked = 0;
      for (; asked < 50 && !pair.server.error; asked++) {
        pair.client.renegotiate();
        step(pair);
        // Data between the refusals, so the client's own cap on consecutive warning alerts stays out of it.
        if (!pair.server.error) assertDataFlows(pair, `refusal ${asked}`);
      }
      const expected = maxRefusals ?? 5;
      assertServerFatal(pair, 'TooManyRenegotiationRequests', AlertDescription.handshake_failure);
      assert.equal(alertsSent(pair.serverEvents).filter(([l]) => l === AlertLevel.warning).length, expected);
      assert.equal(asked, expected + 1);
    });
  }

  test('a renegotiation ClientHello that drops extended_master_secret is refused with handshake_failure (RFC 7627 §5.3)', () => {
    const pair = connectPair(presetContext('rfc5746'), newClient());
    assert.equal(pair.server.security.extendedMasterSecret, true);
    (pair.client.config as { extendedMasterSecret: boolean }).extendedMasterSecret = false;
    pair.client.renegotiate();
    step(pair);
    assertServerFatal(pair, 'ExtendedMasterSecretDropped', AlertDescription.handshake_failure);
  });

  test('the client-initiated limit is a sliding window: once it has passed, renegotiations are allowed again', async () => {
    const ctx = serverContext({
      renegotiation: { allowClientInitiated: true, clientLimit: { count: 2, windowMs: 40 } },
    });
    const pair = connectPair(ctx, newClient());
    for (let i = 1; i <= 2; i++) {
      pair.client.renegotiate();
      step(pair);
      assertRenegotiationCompleted(pair, i + 1);
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    pair.client.renegotiate();
    step(pair);
    assertRenegotiationCompleted(pair, 4);
  });

  test('server-initiated renegotiations do not count against the client-initiated limit', () => {
    const pair = connectPair(presetContext('rfc5746'), newClient());
    for (let i = 1; i <= 6; i++) {
      pair.server.requestRenegotiation();
      step(pair);
      assertRenegotiationCompleted(pair, i + 1);
    }
  });

  test('a second HelloRequest while one is pending is refused locally', () => {
    const pair = connectPair(presetContext('openssl3-default'), newClient({ renegotiation: { accept: 'never' } }));
    pair.server.requestRenegotiation();
    assertThrowsTls(() => pair.server.requestRenegotiation(), 'InternalError');
    step(pair);
    assertRefusedWithWarning(pair, 'client', 'server');
    // Once refused, the server may ask again.
    pair.server.requestRenegotiation();
    step(pair);
    assert.equal(pair.server.error, undefined);
  });
});

// --- client certificates ---------------------------------------------------------------------

describe('client certificates', () => {
  const initial = (required: boolean): ServerContext =>
    serverContext({ clientCertificate: 'initial', clientCertificateRequired: required });

  test("mode none sends no CertificateRequest, and the client's certificate is never asked for", () => {
    const pair = connectPair(serverContext({ clientCertificate: 'none' }), newClient(clientCredentials));
    const [c] = summaries(pair.clientEvents);
    assert.equal(c?.certificateRequested, undefined);
    assert.equal(c?.clientCertificateSent, false);
    assert.equal(summaries(pair.serverEvents)[0]?.peerCertificates.length, 0);
  });

  test("the CertificateRequest lists our CA's name, which reaches the client's summary", () => {
    const pair = connectPair(initial(false), newClient(clientCredentials));
    const [c] = summaries(pair.clientEvents);
    assert.ok(c?.certificateRequested);
    assert.deepStrictEqual(
      c.certificateRequested.certificateAuthorities.map((n) => Buffer.from(n).toString('hex')),
      [Buffer.from(caSubject).toString('hex')],
    );
    assert.equal(c.clientCertificateSent, true);
    const [s] = summaries(pair.serverEvents);
    assert.deepStrictEqual(s?.peerCertificates, clientCredentials.clientCertificates);
    assert.equal(s?.peerVerified, true);
  });

  test('optional: a client without a certificate is let in, with none', () => {
    const pair = connectPair(initial(false), newClient());
    const [s] = summaries(pair.serverEvents);
    assert.ok(s?.certificateRequested);
    assert.equal(s.peerCertificates.length, 0);
    assert.equal(s.peerVerified, false);
    assertDataFlows(pair, 'optional');
  });

  test('required: a client without a certificate fails with handshake_failure', () => {
    const pair = connectPair(initial(true), newClient());
    assertServerFatal(pair, 'HandshakeFailure', AlertDescription.handshake_failure);
  });

  test('a certificate from another CA fails with unknown_ca', () => {
    const pair = connectPair(initial(false), newClient(strangerCredentials));
    assertServerFatal(pair, 'UnknownCA', AlertDescription.unknown_ca);
  });

  test('a CertificateVerify whose signature was altered fails with decrypt_error', () => {
    const flipLast = tamperMessage(HandshakeType.certificate_verify, (body) => {
      body[body.length - 1]! ^= 0x01;
    });
    const pair = connectPair(initial(false), newClient(clientCredentials), flipLast);
    assertServerFatal(pair, 'DecryptError', AlertDescription.decrypt_error);
  });

  test('by renegotiation: the HelloRequest for a certificate brings it, verified', () => {
    const pair = connectPair(serverContext({ clientCertificate: 'renegotiate' }), newClient(clientCredentials));
    assert.equal(summaries(pair.serverEvents)[0]?.certificateRequested, undefined);
    pair.server.requestRenegotiation({ requestCert: true });
    step(pair);
    const s = assertRenegotiationCompleted(pair, 2);
    assert.deepStrictEqual(s.peerCertificates, clientCredentials.clientCertificates);
    assert.equal(s.peerVerified, true);
    const c = summaries(pair.clientEvents).at(-1)!;
    assert.equal(c.certificateRequested?.certificateAuthorities.length, 1);
    assert.equal(c.clientCertificateSent, true);
    // Once given, a certificate is asked for again on every later renegotiation.
    pair.server.requestRenegotiation();
    step(pair);
    assert.equal(assertRenegotiationCompleted(pair, 3).peerCertificates.length, 1);
  });

  test('by renegotiation, optional: a client without a certificate carries on without one', () => {
    const pair = connectPair(serverContext({ clientCertificate: 'renegotiate' }), newClient());
    pair.server.requestRenegotiation({ requestCert: true });
    step(pair);
    assert.equal(assertRenegotiationCompleted(pair, 2).peerCertificates.length, 0);
  });

  test('by renegotiation, required: a client without a certificate fails with handshake_failure', () => {
    const ctx = serverContext({ clientCertificate: 'renegotiate', clientCertificateRequired: true });
    const pair = connectPair(ctx, newClient());
    pair.server.requestRenegotiation({ requestCert: true });
    step(pair);
    assertServerFatal(pair, 'HandshakeFailure', AlertDescription.handshake_failure);
  });

  test('by renegotiation: a certificate from another CA fails with unknown_ca', () => {
    const pair = connectPair(serverContext({ clientCertificate: 'renegotiate' }), newClient(strangerCredentials));
    pair.server.requestRenegotiation({ requestCert: true });
    step(pair);
    assertServerFatal(pair, 'UnknownCA', AlertDescription.unknown_ca);
  });
});

// --- resumption -------------------------------------------------------------------------------

describe('session resumption', () => {
  function firstSession(ctx: ServerContext, input: ClientConfigInput): ClientSession {
    const pair = connectPair(ctx, newClient(input));
    const sessions = pair.clientEvents.flatMap((e) => (e.type === 'session' ? [e.session] : []));
    assert.equal(sessions.length, 1);
    assert.equal(summaries(pair.serverEvents)[0]?.resumed, false);
    return sessions[0]!;
  }

  test("by session ID: a second connection with the first one's session resumes it", () => {
    const ctx = serverContext();
    const session = firstSession(ctx, { sessionTickets: false });
    assert.equal(session.ticket, undefined);
    assert.equal(session.sessionId.length, 32);
    const again = connectPair(ctx, newClient({ sessionTickets: false, session }));
    const [s] = summaries(again.serverEvents);
    assert.equal(s?.resumed, true);
    assert.equal(summaries(again.clientEvents)[0]?.resumed, true);
    assertDataFlows(again, 'resumed by id');
  });

  test('by ticket (RFC 5077): a second connection with the ticket resumes, and gets a fresh ticket', () => {
    const ctx = serverContext({ sessionCache: false });
    const session = firstSession(ctx, {});
    assert.ok(session.ticket && session.ticket.length > 0);
    const again = connectPair(ctx, newClient({ session }));
    assert.equal(summaries(again.serverEvents)[0]?.resumed, true);
    const renewed = again.clientEvents.find((e) => e.type === 'session');
    assert.ok(renewed && renewed.type === 'session' && renewed.session.ticket);
    assertDataFlows(again, 'resumed by ticket');
  });

  test('a ticket from another server (another key) gives a full handshake', () => {
    const session = firstSession(serverContext({ sessionCache: false }), {});
    const again = connectPair(serverContext({ sessionCache: false }), newClient({ session }));
    assert.equal(summaries(again.serverEvents)[0]?.resumed, false);
    assert.equal(again.client.error, undefined);
  });

  test('a session made without EMS is not resumed by a client that now offers EMS (RFC 7627 §5.3)', () => {
    const ctx = serverContext();
    const session = firstSession(ctx, { extendedMasterSecret: false, sessionTickets: false });
    assert.equal(session.extendedMasterSecret, false);
    const again = connectPair(ctx, newClient({ sessionTickets: false, session }));
    const [s] = summaries(again.serverEvents);
    assert.equal(s?.resumed, false);
    assert.equal(s?.extendedMasterSecret, true);
    assert.equal(again.client.error, undefined);
  });

  test('an EMS session offered in a ClientHello without EMS is refused with handshake_failure (RFC 7627 §5.3)', () => {
    for (const sessionTickets of [false, true]) {
      const ctx = serverContext();
      const session = firstSession(ctx, { sessionTickets });
      assert.equal(session.extendedMasterSecret, true);
      const again = connectPair(ctx, newClient({ sessionTickets, session, extendedMasterSecret: false }));
      assertServerFatal(again, 'ExtendedMasterSecretDropped', AlertDescription.handshake_failure);
      assert.equal(summaries(again.serverEvents).length, 0, 'nothing resumed');
    }
  });

  test('an extended_master_secret with a non-empty body is a decode_error (RFC 7627 §5.1)', () => {
    const server = new ProbedServer(serverContext());
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuites: [0x002f, 0x00ff],
      compressionMethods: Uint8Array.of(0),
      extensions: [{ type: 0x0017, data: Uint8Array.of(0) }],
    });
    const events = server.receive(handshakeRecord(ch));
    assert.equal(server.error?.kind, 'DecodeError', server.error?.message);
    assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, AlertDescription.decode_error]]);
  });

  test("a ClientHello that offers a session without the session's cipher suite is refused with illegal_parameter (RFC 5246 §7.4.1.2)", () => {
    for (const sessionTickets of [false, true]) {
      const ctx = serverContext({ sessionCache: !sessionTickets });
      const session = firstSession(ctx, { sessionTickets });
      const client = newClient({ sessionTickets, session });
      client.start();
      const hello = decodeHandshake(parseRecords(client.takeOutput())[0]!.fragment, undefined) as ClientHello;
      assert.ok(hello.cipherSuites.includes(session.cipherSuite));
      const withoutIt = encodeHandshake({
        ...hello,
        cipherSuites: hello.cipherSuites.filter((id) => id !== session.cipherSuite),
      });
      const server = new ProbedServer(ctx);
      const events = server.receive(handshakeRecord(withoutIt));
      const how = sessionTickets ? 'ticket' : 'session ID';
      assert.equal(server.error?.kind, 'IllegalParameter', how);
      assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, AlertDescription.illegal_parameter]], how);
    }
  });

  test('a ClientHello whose type byte is changed is unexpected_message, not decode_error (RFC 5246 §7.2.2)', () => {
    for (const type of [HandshakeType.hello_request, HandshakeType.certificate_request, HandshakeType.finished]) {
      const client = newClient();
      client.start();
      const hello = parseRecords(client.takeOutput())[0]!.fragment.slice();
      hello[0] = type;
      const server = new ProbedServer(serverContext());
      const events = server.receive(handshakeRecord(hello));
      assert.equal(server.error?.kind, 'UnexpectedMessage', `type ${type}`);
      assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, AlertDescription.unexpected_message]]);
    }
  });

  test('TLS_FALLBACK_SCSV below our highest version is refused with inappropriate_fallback (RFC 7507 §3)', () => {
    const helloAt = (version: number): Uint8Array => {
      const client = newClient({ minVersion: ProtocolVersion.TLSv1, maxVersion: version });
      client.start();
      const hello = decodeHandshake(parseRecords(client.takeOutput())[0]!.fragment, undefined) as ClientHello;
      const body = encodeHandshake({ ...hello, cipherSuites: [...hello.cipherSuites, TLS_FALLBACK_SCSV] });
      return handshakeRecord(body);
    };
    const TLS11 = ProtocolVersion['TLSv1.1'];
    const downgraded = new ProbedServer(serverContext({ minVersion: ProtocolVersion.TLSv1 }));
    const events = downgraded.receive(helloAt(TLS11));
    assert.equal(downgraded.error?.kind, 'InappropriateFallback');
    assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, AlertDescription.inappropriate_fallback]]);
    // The same hello to a server whose highest version it is, and the SCSV at our highest: served.
    for (const [serverMax, clientMax] of [
      [TLS11, TLS11],
      [TLS12, TLS12],
    ] as const) {
      const server = new ProbedServer(serverContext({ minVersion: ProtocolVersion.TLSv1, maxVersion: serverMax }));
      server.receive(helloAt(clientMax));
      assert.equal(server.error, undefined, server.error?.message);
      assert.equal(serverMessages(server.takeOutput()).length > 0, true);
    }
  });

  test('a renegotiation is always a full handshake, never a resumption', () => {
    const ctx = presetContext('rfc5746');
    const session = firstSession(ctx, { sessionTickets: false });
    const pair = connectPair(ctx, newClient({ sessionTickets: false, session }));
    assert.equal(summaries(pair.serverEvents)[0]?.resumed, true);
    pair.client.renegotiate();
    step(pair);
    assert.equal(assertRenegotiationCompleted(pair, 2).resumed, false);
  });
});

// --- RSA key exchange (RFC 5246 §7.4.7.1) ------------------------------------------------------

describe('RSA key exchange', () => {
  const rsaSuite = suiteByName('AES128-GCM-SHA256')!;

  test('completes with TLS_RSA_WITH_AES_128_GCM_SHA256', () => {
    const pair = connectPair(serverContext(), newClient({ cipherSuites: [rsaSuite] }));
    assert.equal(summaries(pair.serverEvents)[0]?.cipherSuite, rsaSuite.id);
    assertDataFlows(pair, 'rsa');
  });

  test('a corrupted EncryptedPreMasterSecret draws no alert at ClientKeyExchange; the handshake fails at Finished', () => {
    const server = new ProbedServer(serverContext());
    const client = newClient({ cipherSuites: [rsaSuite] });
    client.start();
    server.receive(client.takeOutput());
    client.receive(server.takeOutput());
    // The client's flight: ClientKeyExchange (plaintext), ChangeCipherSpec, Finished (encrypted).
    const flight = parseRecords(client.takeOutput());
    assert.deepStrictEqual(
      flight.map((r) => r.type),
      [ContentType.handshake, ContentType.change_cipher_spec, ContentType.handshake],
    );
    const [kx, ccs, finished] = flight as [WireRecord, WireRecord, WireRecord];
    const corrupted = tamperMessage(HandshakeType.client_key_exchange, (body) => {
      body[2 + 100]! ^= 0x40; // inside the RSA ciphertext, after its two-byte length
    })(encodeRecords([kx]));

    // Bleichenbacher countermeasure: nothing visible happens at the ClientKeyExchange or the CCS.
    assert.deepStrictEqual(server.receive(corrupted), []);
    assert.equal(server.takeOutput().length, 0);
    assert.equal(server.error, undefined);
    assert.deepStrictEqual(server.receive(encodeRecords([ccs])), []);
    assert.equal(server.error, undefined);

    const events = server.receive(encodeRecords([finished]));
    const kind = (server as ServerConnection).error?.kind; // re-read: the asserts above narrowed it
    assert.ok(kind === 'BadRecordMac' || kind === 'DecryptError', `failed at Finished with ${kind}`);
    assert.equal(errorsIn(events).length, 1);
    assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, alertFor(kind!)!.description]]);
  });

  test('a ClientKeyExchange whose RSA ciphertext has the wrong length is treated the same way', () => {
    const shorten = (bytes: Uint8Array): Uint8Array => {
      const records = parseRecords(bytes);
      const first = records[0]!;
      if (first.type !== ContentType.handshake || first.fragment[0] !== HandshakeType.client_key_exchange) return bytes;
      // A 16-byte "ciphertext" in place of 256 bytes.
      const body = concat(Uint8Array.of(0, 16), new Uint8Array(16).fill(7));
      first.fragment = encodeHandshakeRaw(HandshakeType.client_key_exchange, body);
      return encodeRecords(records);
    };
    const pair = connectPair(serverContext(), newClient({ cipherSuites: [rsaSuite] }), shorten);
    const kind = pair.server.error?.kind;
    assert.ok(kind === 'BadRecordMac' || kind === 'DecryptError', `failed with ${kind}`);
  });
});

function encodeHandshakeRaw(type: number, body: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(type, body.length >>> 16, (body.length >>> 8) & 0xff, body.length & 0xff), body);
}

// --- SNI and ALPN -------------------------------------------------------------------------------

describe('SNI and ALPN', () => {
  test('SNI selects between two certificates (RFC 6066 §3), the first being the default', async () => {
    const a = await issueCertificate(pki.ca, {
      commonName: 'a.example',
      dnsNames: ['a.example'],
      keyType: 'rsa',
      usage: 'server',
    });
    const b = await issueCertificate(pki.ca, {
      commonName: 'b.example',
      dnsNames: ['*.b.example'],
      keyType: 'rsa',
      usage: 'server',
    });
    const ctx = serverContext({
      certificates: [loadCertificate(a.chainPem, a.keyPem), loadCertificate(b.chainPem, b.keyPem)],
    });
    const leafOf = (pem: string): string => Buffer.from(der(pem)[0]!).toString('hex');
    const leafSeen = (serverName: string): string => {
      const pair = connectPair(ctx, newClient({ serverName, insecure: true }));
      assert.equal(pair.client.error, undefined, pair.client.error?.message);
      assert.equal(summaries(pair.serverEvents)[0]?.serverName, serverName);
      return Buffer.from(pair.client.security.peerCertificates[0]!).toString('hex');
    };
    assert.equal(leafSeen('a.example'), leafOf(a.certPem));
    assert.equal(leafSeen('www.b.example'), leafOf(b.certPem));
    assert.equal(leafSeen('other.example'), leafOf(a.certPem));
    // And with verification on, the chosen certificate is valid for the name.
    const verified = connectPair(ctx, newClient({ serverName: 'www.b.example' }));
    assert.equal(verified.client.error, undefined);
  });

  test('ALPN picks the server-preferred protocol the client offers (RFC 7301 §3.2)', () => {
    const ctx = serverContext({ alpn: ['h2', 'http/1.1'] });
    const pair = connectPair(ctx, newClient({ alpn: ['http/1.1', 'h2'] }));
    assert.equal(summaries(pair.serverEvents)[0]?.alpn, 'h2');
    assert.equal(summaries(pair.clientEvents)[0]?.alpn, 'h2');
    const without = connectPair(ctx, newClient());
    assert.equal(summaries(without.serverEvents)[0]?.alpn, undefined);
  });

  test('no ALPN protocol in common is a fatal no_application_protocol', () => {
    const pair = connectPair(serverContext({ alpn: ['h2'] }), newClient({ alpn: ['spdy/3'] }));
    assertServerFatal(pair, 'NoApplicationProtocol', AlertDescription.no_application_protocol);
  });
});

// --- bad input to a fresh server ----------------------------------------------------------------

/** The handshake messages in a server's plaintext output (its first flight). */
function serverMessages(out: Uint8Array): Uint8Array[] {
  const bytes = concat(...parseRecords(out).flatMap((r) => (r.type === ContentType.handshake ? [r.fragment] : [])));
  const messages: Uint8Array[] = [];
  for (let at = 0; at + 4 <= bytes.length;) {
    const length = (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
    messages.push(bytes.subarray(at, at + 4 + length));
    at += 4 + length;
  }
  return messages;
}

describe('RFC 5746 on an initial ClientHello (§3.6)', () => {
  test('a ClientHello with only the SCSV and no extensions block gets an empty renegotiation_info (ff01 0001 00)', () => {
    const server = new ProbedServer(serverContext());
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuites: [0x002f, 0x0035, 0x00ff],
      compressionMethods: Uint8Array.of(0),
      extensions: null,
    });
    server.receive(handshakeRecord(ch));
    assert.equal(server.error, undefined, server.error?.message);
    const sh = decodeHandshake(serverMessages(server.takeOutput())[0]!, TLS12) as ServerHello;
    assert.equal(sh.type, HandshakeType.server_hello);
    assert.deepStrictEqual(
      sh.extensions?.map((e) => [e.type, [...e.data]]),
      [[0xff01, [0]]],
      'exactly one extension: renegotiation_info with an empty renegotiated_connection',
    );
  });
});

describe('ChangeCipherSpec (RFC 5246 §7.1)', () => {
  /** Replaces the body of the client's ChangeCipherSpec record. */
  const ccsBody =
    (body: Uint8Array) =>
    (bytes: Uint8Array): Uint8Array =>
      encodeRecords(
        parseRecords(bytes).map((r) => (r.type === ContentType.change_cipher_spec ? { ...r, fragment: body } : r)),
      );

  for (const [label, body] of [
    ['two bytes long (01 01)', Uint8Array.of(1, 1)],
    ['of value 2', Uint8Array.of(2)],
    ['empty', new Uint8Array(0)],
  ] as const) {
    test(`a ChangeCipherSpec ${label} is refused with a fatal unexpected_message, before any key change`, () => {
      const pair = connectPair(serverContext(), newClient(), ccsBody(body));
      assertServerFatal(pair, 'UnexpectedMessage', AlertDescription.unexpected_message);
      assert.equal(summaries(pair.serverEvents).length, 0);
    });
  }
});

describe('ClientHello size: everything the record layer can carry is accepted (RFC 5246 §7.4.1.2, §6.2.1)', () => {
  /** The hello as handshake records of at most 2^14 bytes each (§6.2.1 lets a message span records). */
  function helloRecords(extensions: { type: number; data: Uint8Array }[], more: Partial<ClientHello> = {}): Uint8Array {
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(32).fill(7),
      sessionId: new Uint8Array(0),
      cipherSuites: [0xc02f, 0x002f, 0x00ff],
      compressionMethods: Uint8Array.of(0),
      extensions,
      ...more,
    });
    const records: Uint8Array[] = [];
    for (let at = 0; at < ch.length; at += MAX_PLAINTEXT) {
      const piece = ch.subarray(at, at + MAX_PLAINTEXT);
      records.push(encodeRecordHeader(ContentType.handshake, TLS12, piece.length), piece);
    }
    return concat(...records);
  }

  function assertServerHelloSent(input: Uint8Array): void {
    const server = new ProbedServer(serverContext());
    server.receive(input);
    assert.equal(server.error, undefined, server.error?.message);
    assert.equal(serverMessages(server.takeOutput())[0]?.[0], HandshakeType.server_hello);
  }

  test(`the largest ClientHello the protocol allows (${MAX_CLIENT_HELLO_LENGTH} bytes, OpenSSL's limit too) over nine records`, () => {
    const input = helloRecords([{ type: 21, data: new Uint8Array(65535 - 4) }], {
      sessionId: new Uint8Array(32).fill(9),
      cipherSuites: [0xc02f, 0x002f, 0x00ff, ...Array.from({ length: 32767 - 3 }, () => 0x0a0a)],
      compressionMethods: Uint8Array.from({ length: 255 }, (_, i) => i),
    });
    assert.equal(input.length, 9 * RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + MAX_CLIENT_HELLO_LENGTH);
    assertServerHelloSent(input);
  });

  test('a 65 KB padding extension', () => {
    assertServerHelloSent(helloRecords([{ type: 21, data: new Uint8Array(65535 - 4) }]));
  });

  test('16,383 extensions (each empty, of unknown types)', () => {
    assertServerHelloSent(
      helloRecords(Array.from({ length: 16383 }, (_, i) => ({ type: 0x4000 + i, data: new Uint8Array(0) }))),
    );
  });

  test('one byte over the largest ClientHello is refused from its header, before the body arrives', () => {
    const server = new ProbedServer(serverContext());
    const length = MAX_CLIENT_HELLO_LENGTH + 1;
    const header = Uint8Array.of(HandshakeType.client_hello, length >> 16, (length >> 8) & 0xff, length & 0xff);
    const events = server.receive(handshakeRecord(header));
    assert.equal(server.error?.kind, 'MessageTooLarge');
    assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, AlertDescription.decode_error]]);
  });
});

describe("the client's key share (ClientKeyExchange)", () => {
  /** The client's ECDHE point, rewritten in place: body = opaque point<1..2^8-1>. */
  const rewritePoint = (change: (point: Uint8Array) => void): ((b: Uint8Array) => Uint8Array) =>
    tamperMessage(HandshakeType.client_key_exchange, (body) => change(body.subarray(1)));

  // RFC 7748 §6.1 / RFC 8422 §5.11: small-order u-coordinates force an all-zero shared secret.
  const X25519_SMALL_ORDER: Record<string, (u: Uint8Array) => void> = {
    zero: (u) => u.fill(0),
    one: (u) => u.fill(0).set([1]),
    'a point of order 8': (u) =>
      u.set(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex')),
    'p - 1': (u) => u.fill(0xff).set([0xec]),
  };
  for (const [name, change] of Object.entries(X25519_SMALL_ORDER)) {
    test(`an X25519 share of small order (${name}) is refused with illegal_parameter`, () => {
      const pair = connectPair(
        serverContext({ groups: [NamedGroup.x25519] }),
        newClient({ groups: [NamedGroup.x25519] }),
        rewritePoint((u) => {
          assert.equal(u.length, 32);
          change(u);
        }),
      );
      assertServerFatal(pair, 'IllegalParameter', AlertDescription.illegal_parameter);
    });
  }

  test('X448 is negotiated (RFC 8422 §5.1.1), and its small-order shares are refused with illegal_parameter (RFC 7748 §6.2)', () => {
    const ctx = serverContext({ groups: [NamedGroup.x448] });
    const ok = connectPair(ctx, newClient({ groups: [NamedGroup.x448] }));
    assert.equal(ok.server.error, undefined, ok.server.error?.message);
    assert.equal(summaries(ok.serverEvents).length, 1, 'an X448-only handshake completed');
    const X448_P_MINUS_1 = (u: Uint8Array) => {
      // p = 2^448 - 2^224 - 1, little-endian: p - 1 = fe ff … ff fe ff … ff (bytes 0..27 and 28..55).
      u.fill(0xff);
      u[0] = 0xfe;
      u[28] = 0xfe;
    };
    for (const [name, change] of [
      ['zero', (u: Uint8Array) => u.fill(0)],
      ['one', (u: Uint8Array) => u.fill(0).set([1])],
      ['p - 1', X448_P_MINUS_1],
    ] as const) {
      const pair = connectPair(
        ctx,
        newClient({ groups: [NamedGroup.x448] }),
        rewritePoint((u) => {
          assert.equal(u.length, 56);
          change(u);
        }),
      );
      assert.equal(pair.server.error?.kind, 'IllegalParameter', name);
    }
  });

  for (const group of [NamedGroup.secp256r1, NamedGroup.secp384r1]) {
    const name = group === NamedGroup.secp256r1 ? 'P-256' : 'P-384';
    test(`a ${name} point off the curve is refused with illegal_parameter`, () => {
      const pair = connectPair(
        serverContext({ groups: [group] }),
        newClient({ groups: [group] }),
        rewritePoint((p) => {
          p[p.length - 1]! ^= 1;
        }),
      );
      assertServerFatal(pair, 'IllegalParameter', AlertDescription.illegal_parameter);
    });

    test(`a ${name} point that is not in uncompressed form is refused with illegal_parameter`, () => {
      const pair = connectPair(
        serverContext({ groups: [group] }),
        newClient({ groups: [group] }),
        rewritePoint((p) => {
          p[0] = 2;
        }),
      );
      assertServerFatal(pair, 'IllegalParameter', AlertDescription.illegal_parameter);
    });
  }
});

describe('signature_algorithms absent: the RFC 5246 §7.4.1.4.1 defaults, and resumption inside a renegotiation', () => {
  /** The SignatureAndHashAlgorithm of an ECDHE ServerKeyExchange: it follows curve_type, named_curve and the point. */
  function skeScheme(body: Uint8Array): number {
    const at = 1 + 2 + 1 + body[3]!;
    return (body[at]! << 8) | body[at + 1]!;
  }

  function outgoing(events: readonly ConnectionEvent[]): (HandshakeMessage | UnknownHandshake)[] {
    return events.flatMap((e) => (e.type === 'handshake-message' && e.direction === 'out' ? [e.message] : []));
  }

  /** A connected pair whose server reports its handshake messages, with a session ID cached. */
  function observedPair(ctx: ServerContext = presetContext('rfc5746')): Pair {
    const server = new ProbedServer(ctx, { observe: true });
    const client = newClient({ sessionTickets: false });
    const pair: Pair = { client, server, clientEvents: [...client.start()], serverEvents: [] };
    step(pair);
    assert.equal(summaries(pair.serverEvents).length, 1);
    assert.equal(server.security.sessionId.length, 32);
    return pair;
  }

  /** A renegotiation ClientHello as a client without signature_algorithms would send it (RFC 5746 §3.5). */
  function renegotiationHello(pair: Pair, sessionId: Uint8Array): Uint8Array {
    return encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(crypto.randomBytes(32)),
      sessionId,
      cipherSuites: [pair.server.security.suite!.id],
      compressionMethods: Uint8Array.of(0),
      extensions: [renegotiationInfo(pair.client.security.clientVerifyData), { type: 0x0017, data: new Uint8Array(0) }],
    });
  }

  test('an initial TLS 1.2 ECDHE handshake without the extension is signed with rsa_pkcs1_sha1', () => {
    const server = new ProbedServer(serverContext(), { observe: true });
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuites: [0xc02f],
      compressionMethods: Uint8Array.of(0),
      extensions: [{ type: 0xff01, data: Uint8Array.of(0) }],
    });
    const events = server.receive(handshakeRecord(ch));
    assert.equal(server.error, undefined, server.error?.message);
    const ske = outgoing(events).find((m) => m.type === HandshakeType.server_key_exchange);
    assert.ok(ske && 'body' in ske);
    assert.equal(skeScheme(ske.body), SignatureScheme.rsa_pkcs1_sha1);
  });

  test('a renegotiation without the extension is a full handshake signed with rsa_pkcs1_sha1', () => {
    const pair = observedPair();
    pair.client.sendRawHandshake(renegotiationHello(pair, new Uint8Array(0)));
    const sent = outgoing(pair.server.receive(pair.client.takeOutput()));
    assert.equal(pair.server.error, undefined, pair.server.error?.message);
    assert.deepStrictEqual(
      sent.map((m) => m.type),
      [
        HandshakeType.server_hello,
        HandshakeType.certificate,
        HandshakeType.server_key_exchange,
        HandshakeType.server_hello_done,
      ],
    );
    const ske = sent[2]!;
    assert.ok('body' in ske);
    assert.equal(skeScheme(ske.body), SignatureScheme.rsa_pkcs1_sha1);
  });

  test("a renegotiation without the extension that offers the connection's own session resumes it (abbreviated handshake)", () => {
    const pair = observedPair();
    const id = pair.server.security.sessionId;
    pair.client.sendRawHandshake(renegotiationHello(pair, id));
    const sent = outgoing(pair.server.receive(pair.client.takeOutput()));
    assert.equal(pair.server.error, undefined, pair.server.error?.message);
    assert.deepStrictEqual(
      sent.map((m) => m.type),
      [HandshakeType.server_hello, HandshakeType.finished],
    );
    assert.deepStrictEqual((sent[0] as ServerHello).sessionId, id);
  });

  test('a renegotiation that offers the session of another connection is a full handshake (the peer never changes)', () => {
    const ctx = presetContext('rfc5746');
    const other = observedPair(ctx);
    const pair = observedPair(ctx);
    pair.client.sendRawHandshake(renegotiationHello(pair, other.server.security.sessionId));
    const sent = outgoing(pair.server.receive(pair.client.takeOutput()));
    assert.equal(pair.server.error, undefined, pair.server.error?.message);
    assert.deepStrictEqual(sent.map((m) => m.type).slice(0, 2), [
      HandshakeType.server_hello,
      HandshakeType.certificate,
    ]);
  });

  test('a renegotiation asking for a client certificate does not resume a session made without one', () => {
    const pair = observedPair();
    pair.server.requestRenegotiation({ requestCert: true });
    pair.server.takeOutput(); // the HelloRequest: the hello below answers it
    pair.client.sendRawHandshake(renegotiationHello(pair, pair.server.security.sessionId));
    const sent = outgoing(pair.server.receive(pair.client.takeOutput()));
    assert.equal(pair.server.error, undefined, pair.server.error?.message);
    assert.ok(sent.some((m) => m.type === HandshakeType.certificate_request));
  });
});

describe('application data', () => {
  test('an empty write (how node:http ends a response) sends no record at all', () => {
    const pair = connectPair(serverContext(), newClient());
    pair.server.write(new Uint8Array(0));
    assert.equal(pair.server.takeOutput().length, 0);
    pair.client.write(new Uint8Array(0));
    assert.equal(pair.client.takeOutput().length, 0);
    assertDataFlows(pair, 'after empty writes');
  });
});

describe('bad input to a fresh server', () => {
  function record(type: number, body: Uint8Array, version: number = TLS12): Uint8Array {
    return concat(encodeRecordHeader(type, version, body.length), body);
  }

  function expectServerFatal(input: Uint8Array, kind: TlsErrorKind, alert: number): void {
    const server = new ProbedServer(serverContext());
    const events = server.receive(input);
    assert.equal(server.error?.kind, kind, server.error?.message);
    assert.equal(errorsIn(events).length, 1);
    assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, alert]]);
    assert.deepStrictEqual(server.receive(record(ContentType.handshake, Uint8Array.of(1, 0, 0, 0))), [], 'sticky');
  }

  test('an HTTP request instead of a ClientHello is an unexpected_message', () => {
    expectServerFatal(
      text('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('application data before the handshake is an unexpected_message', () => {
    expectServerFatal(
      record(ContentType.application_data, text('x')),
      'UnexpectedMessage',
      AlertDescription.unexpected_message,
    );
  });

  test('a ServerHello sent to the server is an unexpected_message', () => {
    const sh = encodeHandshake({
      type: HandshakeType.server_hello,
      version: TLS12,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuite: 0xc02f,
      compressionMethod: 0,
      extensions: [],
    });
    expectServerFatal(record(ContentType.handshake, sh), 'UnexpectedMessage', AlertDescription.unexpected_message);
  });

  test('a ClientHello without the null compression method is an illegal_parameter', () => {
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuites: [0xc02f],
      compressionMethods: Uint8Array.of(1),
      extensions: null,
    });
    expectServerFatal(record(ContentType.handshake, ch), 'IllegalParameter', AlertDescription.illegal_parameter);
  });

  test('an SSL 3.0 ClientHello is a protocol_version error', () => {
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: 0x0300,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuites: [0x002f],
      compressionMethods: Uint8Array.of(0),
      extensions: null,
    });
    expectServerFatal(record(ContentType.handshake, ch, 0x0300), 'ProtocolVersion', AlertDescription.protocol_version);
  });

  test('a ClientHello offering no suite we run is a handshake_failure', () => {
    const ch = encodeHandshake({
      type: HandshakeType.client_hello,
      version: TLS12,
      random: new Uint8Array(32),
      sessionId: new Uint8Array(0),
      cipherSuites: [0x0005, 0x00ff],
      compressionMethods: Uint8Array.of(0),
      extensions: null,
    });
    expectServerFatal(record(ContentType.handshake, ch), 'HandshakeFailure', AlertDescription.handshake_failure);
  });

  test('a handshake message over the cap is refused from its header', () => {
    const server = new ProbedServer(serverContext({ maxHandshakeMessageSize: 1024 }));
    const events = server.receive(record(ContentType.handshake, Uint8Array.of(HandshakeType.client_hello, 0, 0x10, 0)));
    assert.equal(server.error?.kind, 'MessageTooLarge');
    assert.deepStrictEqual(alertsSent(events), [[AlertLevel.fatal, AlertDescription.decode_error]]);
  });
});

// --- arbitrary input (property tests) ------------------------------------------------------------

/** A valid ClientHello record from our own client, to reach the states after it. */
function validHelloRecord(): Uint8Array {
  const c = newClient();
  c.start();
  return c.takeOutput();
}

describe('arbitrary input to a fresh ServerConnection', () => {
  const ctx = serverContext();

  test('random bytes never throw out of receive(), never buffer more than one record, and end waiting or in a typed error', () => {
    assertArbitraryBytesHandled(() => new ProbedServer(ctx), 300);
  });

  test('random well-formed records (some a valid ClientHello) never throw and end waiting or in a typed error', () => {
    const valid = validHelloRecord();
    assertArbitraryRecordsHandled(fc.constant(undefined), () => ({ conn: new ProbedServer(ctx), valid }), 300);
  });

  test('a mutated ClientHello (one byte changed, or cut short) never throws and ends waiting or in a typed error', () => {
    const hello = validHelloRecord();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: hello.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 1, max: hello.length }),
        (at, xor, keep) => {
          const mutated = hello.slice(0, keep);
          if (at < keep) mutated[at]! ^= xor;
          const server = new ProbedServer(ctx);
          const { events, output } = feed(server, [mutated]);
          checkOutcome(server, events, output);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a record header announcing more than 2^14+2048 bytes is refused at once, never buffered', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_CIPHERTEXT + 1, max: 0xffff }), (length) => {
        const server = new ProbedServer(ctx);
        const { events, output } = feed(server, [
          encodeRecordHeader(ContentType.handshake, TLS12, length),
          new Uint8Array(1000),
        ]);
        checkOutcome(server, events, output);
        assert.equal(server.error?.kind, 'RecordOverflow');
      }),
      { numRuns: 30 },
    );
  });
});

// --- the server state machine, by property -----------------------------------------------------

describe('the server state machine under random sequences of legitimate operations', () => {
  type Op = 'client-renegotiate' | 'server-request' | 'server-request-cert' | 'client-data' | 'server-data';
  const op = fc.constantFrom<Op>(
    'client-renegotiate',
    'server-request',
    'server-request-cert',
    'client-data',
    'server-data',
  );

  test('every step either completes, is refused as policy says, or fails with a typed error — and the two sides agree', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(SERVER_PRESETS) as ServerPresetName[])),
        fc.constantFrom<ClientKind>('rfc5746', 'scsv', 'legacy'),
        fc.array(op, { minLength: 1, maxLength: 8 }),
        (name, kind, ops) => {
          const pair = connectPair(presetContext(name), newClient({ ...CLIENT_KINDS[kind], ...clientCredentials }));
          if (pair.server.error) {
            assert.equal(initialOutcome(DEFINITIONS[name], kind).kind, 'fatal');
            return;
          }
          for (const o of ops) {
            if (pair.server.error || pair.client.error) break;
            try {
              if (o === 'client-renegotiate') pair.client.renegotiate();
              else if (o === 'server-request') pair.server.requestRenegotiation();
              else if (o === 'server-request-cert') pair.server.requestRenegotiation({ requestCert: true });
              else if (o === 'client-data') pair.client.write(text('c'));
              else pair.server.write(text('s'));
            } catch (e) {
              assert.ok(e instanceof TlsError, `a local refusal is a TlsError: ${String(e)}`);
              assert.notEqual(e.kind, 'InternalError', e.message);
            }
            step(pair);
            for (const side of [pair.client, pair.server]) {
              if (side.error) assert.notEqual(side.error.kind, 'InternalError', side.error.message);
            }
            if (!pair.server.error && !pair.client.error) {
              // Quiescent: no handshake left half-way, and both count the same handshakes.
              assert.equal(pair.server.isHandshaking, false, `server stuck in ${pair.server.stateName}`);
              assert.equal(pair.client.isHandshaking, false, `client stuck in ${pair.client.stateName}`);
              assert.equal(pair.client.security.handshakes, pair.server.security.handshakes);
            }
          }
          if (!pair.server.error && !pair.client.error) assertDataFlows(pair, 'end');
        },
      ),
      { numRuns: 60 },
    );
  });
});
