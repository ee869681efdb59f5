/**
 * The guard's inspector (RenegotiationWatch) and policy, without sockets: scripted TLS byte
 * streams built with the wire encoders are fed in, split every way, and what is forwarded is
 * compared byte for byte with what was sent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { concat } from '../../src/wire/codec.ts';
import { ContentType, TLS_EMPTY_RENEGOTIATION_INFO_SCSV } from '../../src/wire/enums.ts';
import { MAX_CIPHERTEXT } from '../../src/wire/record.ts';
import type { Question } from '../../src/guard/events.ts';
import { initialShape, plaintextRange } from '../../src/guard/record-room.ts';
import { MAX_HELLO_LEN } from '../../src/guard/hello.ts';
import { RenegotiationWatch } from '../../src/guard/watch.ts';
import {
  CBC_SUITE,
  CCS,
  GCM_SUITE,
  FINISHED,
  TLS13,
  appData,
  clientFinishFlight,
  clientHello,
  clientHelloMessage,
  concatSteps,
  encryptedRenegotiation,
  eventTypes,
  fullHandshake,
  judgeOf,
  policy,
  record,
  replay,
  sealed,
  serverFinishFlight,
  serverFlight,
  serverHelloMessage,
  type Step,
} from './support.ts';

const allow = judgeOf(policy('allow'));
const deny = judgeOf(policy('deny'));

function traffic(): Step[] {
  return [
    ['client', appData(200)],
    ['server', appData(3000)],
  ];
}

/** Asserts that each side's forwarded bytes are exactly what it sent. */
function assertByteExact(r: ReturnType<typeof replay>, steps: readonly Step[]): void {
  assert.deepEqual(r.forwarded.client, concatSteps(steps, 'client'));
  assert.deepEqual(r.forwarded.server, concatSteps(steps, 'server'));
}

describe('RenegotiationWatch: handshakes that must pass untouched', () => {
  test('a full TLS 1.2 handshake and application data pass byte for byte, whatever the chunking', () => {
    const steps = [...fullHandshake(), ...traffic()];
    for (const chunk of [Infinity, 1, 2, 3, 5, 7, 64, 1000]) {
      const r = replay(steps, deny, chunk);
      assert.equal(r.block, undefined, `chunk ${chunk}`);
      assertByteExact(r, steps);
      assert.deepEqual(eventTypes(r.events), ['client-hello', 'server-hello', 'handshake-complete']);
      assert.equal(r.watch.heldBytes('client') + r.watch.heldBytes('server'), 0);
    }
  });

  test('the hellos are read: RFC 5746 signalling, SNI, ALPN, suite', () => {
    const r = replay(
      fullHandshake({ client: { sni: 'example.test', alpn: ['http/1.1'] }, server: { alpn: ['http/1.1'] } }),
      deny,
    );
    assert.equal(r.watch.clientHello?.rfc5746, 'extension');
    assert.equal(r.watch.clientHello?.sni, 'example.test');
    assert.deepEqual(r.watch.clientHello?.alpn, ['http/1.1']);
    assert.equal(r.watch.serverHello?.rfc5746, true);
    assert.equal(r.watch.serverHello?.alpn, 'http/1.1');
    const scsv = replay(fullHandshake({ client: { rfc5746: 'scsv' } }), deny);
    assert.equal(scsv.watch.clientHello?.rfc5746, 'scsv');
  });

  test('an abbreviated handshake (server CCS and Finished first) completes and passes', () => {
    const steps: Step[] = [
      ['client', clientHello()],
      ['server', concat(record(ContentType.handshake, serverHelloMessage()), CCS, FINISHED)],
      ['client', concat(CCS, FINISHED)],
      ...traffic(),
    ];
    const r = replay(steps, deny, 3);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
    assert.ok(r.watch.handshakeDone);
  });

  test('a NewSessionTicket before the server CCS is part of the handshake, not a renegotiation', () => {
    const steps: Step[] = [
      ['client', clientHello()],
      ['server', serverFlight()],
      ['client', clientFinishFlight()],
      ['server', concat(sealed(ContentType.handshake, 180), CCS, FINISHED)],
      ...traffic(),
    ];
    const r = replay(steps, deny);
    assert.equal(r.block, undefined);
    assert.equal(r.watch.renegotiations, 0);
  });

  test('a resumption that also sends a NewSessionTicket passes', () => {
    const steps: Step[] = [
      ['client', clientHello()],
      [
        'server',
        concat(record(ContentType.handshake, serverHelloMessage()), sealed(ContentType.handshake, 180), CCS, FINISHED),
      ],
      ['client', concat(CCS, FINISHED)],
      ...traffic(),
    ];
    assert.equal(replay(steps, deny, 1).block, undefined);
  });

  test('the ServerHello coalesced with the rest of the flight in one record is read', () => {
    const flight = concat(serverHelloMessage(), randomBytes(900));
    const steps: Step[] = [
      ['client', clientHello()],
      ['server', record(ContentType.handshake, flight)],
      ['client', clientFinishFlight()],
      ['server', serverFinishFlight()],
    ];
    const r = replay(steps, deny, 10);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
    assert.equal(r.watch.serverHello?.cipherSuite, 0xc02f);
  });

  test('a ClientHello fragmented over several records is reassembled', () => {
    const message = clientHelloMessage({ sni: 'fragmented.test' });
    const steps: Step[] = [
      [
        'client',
        concat(
          record(ContentType.handshake, message.subarray(0, 3)),
          record(ContentType.handshake, message.subarray(3, 40)),
          record(ContentType.handshake, message.subarray(40)),
        ),
      ],
      ['server', serverFlight()],
    ];
    const r = replay(steps, deny, 4);
    assert.equal(r.block, undefined);
    assert.equal(r.watch.clientHello?.sni, 'fragmented.test');
    assertByteExact(r, steps);
  });

  test('unknown extensions and record types pass through', () => {
    const odd = { type: 0x7a7a, data: randomBytes(9) };
    const steps: Step[] = [
      ...fullHandshake({ client: { extraExtensions: [odd] }, server: { extraExtensions: [odd] } }),
      ['server', sealed(ContentType.heartbeat, 30)],
      ['client', sealed(25, 30)],
    ];
    const r = replay(steps, deny);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
  });

  test('TLS 1.3 (supported_versions 0x0304 in the ServerHello) stops inspection: everything passes', () => {
    const steps: Step[] = [
      ['client', clientHello({ versions: [TLS13, 0x0303] })],
      [
        'server',
        concat(
          record(ContentType.handshake, serverHelloMessage({ versions: [TLS13], rfc5746: 'none' })),
          CCS,
          appData(2000),
        ),
      ],
      ['client', concat(CCS, appData(50))],
      // Anything now, even what would be a renegotiation in TLS 1.2.
      ['server', sealed(ContentType.handshake, 500)],
      ['client', sealed(ContentType.handshake, 500)],
    ];
    const r = replay(steps, judgeOf(policy('require-rfc5746')), 7);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
    assert.ok(eventTypes(r.events).includes('pass-through'));
    assert.equal(r.watch.inspecting, false);
  });
});

describe('RenegotiationWatch: renegotiations', () => {
  test('a client-initiated renegotiation is seen, tracked to both Finished, and passes under allow', () => {
    const steps = [...fullHandshake(), ...traffic(), ...encryptedRenegotiation('client'), ...traffic()];
    const r = replay(steps, allow, 5);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
    const renegs = r.events.filter((e) => e.type.startsWith('renegotiation'));
    assert.deepEqual(renegs, [
      { type: 'renegotiation', initiator: 'client', index: 1, evidence: 'record' },
      { type: 'renegotiation-complete', initiator: 'client', index: 1 },
    ]);
  });

  test('a server-initiated renegotiation: the client answer to the HelloRequest is not client-initiated', () => {
    const steps = [...fullHandshake(), ...traffic(), ...encryptedRenegotiation('server'), ...traffic()];
    const r = replay(steps, judgeOf(policy('deny-client-initiated')));
    assert.equal(r.block, undefined);
    assert.deepEqual(
      r.events.filter((e) => e.type.startsWith('renegotiation')),
      [
        { type: 'renegotiation', initiator: 'server', index: 1, evidence: 'record' },
        { type: 'renegotiation-answered', index: 1 },
        { type: 'renegotiation-complete', initiator: 'server', index: 1 },
      ],
    );
  });

  test('three renegotiations in a row are counted one by one', () => {
    const steps = [
      ...fullHandshake(),
      ...encryptedRenegotiation('client'),
      ...encryptedRenegotiation('server'),
      ...encryptedRenegotiation('client'),
      ...traffic(),
    ];
    const r = replay(steps, allow, 11);
    assert.equal(r.watch.renegotiations, 3);
    assert.equal(r.events.filter((e) => e.type === 'renegotiation-complete').length, 3);
  });

  for (const mode of ['deny', 'deny-client-initiated'] as const) {
    test(`${mode}: a client-initiated renegotiation is held back whole, everything before it passes`, () => {
      const before = [...fullHandshake(), ...traffic()];
      const reneg = sealed(ContentType.handshake, 250);
      const lastData = appData(77);
      for (const chunk of [Infinity, 1, 4, 6]) {
        // Application data and the renegotiation ClientHello in one segment.
        const r = replay([...before, ['client', concat(lastData, reneg)]], judgeOf(policy(mode)), chunk);
        assert.deepEqual(r.block, {
          reason: 'client-initiated-renegotiation-denied',
          side: 'client',
          initiator: 'client',
          evidence: 'record',
        });
        assert.deepEqual(r.forwarded.client, concat(concatSteps(before, 'client'), lastData), `chunk ${chunk}`);
      }
    });
  }

  test('deny-server-initiated: a HelloRequest is held back; deny-client-initiated lets it through', () => {
    const before = [...fullHandshake(), ...traffic()];
    const steps = [...before, ...encryptedRenegotiation('server')];
    const blocked = replay(steps, judgeOf(policy('deny-server-initiated')), 2);
    assert.deepEqual(blocked.block, {
      reason: 'server-initiated-renegotiation-denied',
      side: 'server',
      initiator: 'server',
      evidence: 'record',
    });
    assert.deepEqual(blocked.forwarded.server, concatSteps(before, 'server'));
    assert.deepEqual(
      blocked.forwarded.client,
      concatSteps(before, 'client'),
      'nothing from the client after the block',
    );
    assert.equal(replay(steps, judgeOf(policy('deny-client-initiated'))).block, undefined);
  });

  test('deny-server-initiated lets a client-initiated renegotiation through, server flight included', () => {
    const steps = [...fullHandshake(), ...encryptedRenegotiation('client'), ...traffic()];
    assert.equal(replay(steps, judgeOf(policy('deny-server-initiated'))).block, undefined);
  });

  test('a client refusing a HelloRequest with an alert ends it; its later ClientHello is client-initiated', () => {
    const steps: Step[] = [
      ...fullHandshake(),
      ['server', sealed(ContentType.handshake, 40)],
      ['client', sealed(ContentType.alert, 26)],
      ...traffic(),
      ['client', sealed(ContentType.handshake, 250)],
    ];
    const r = replay(steps, judgeOf(policy('deny-client-initiated')));
    assert.ok(r.events.some((e) => e.type === 'renegotiation-refused' && e.by === 'client'));
    assert.equal(r.block?.reason, 'client-initiated-renegotiation-denied');
  });

  test('a server refusing a client renegotiation with an alert ends it; the next ClientHello counts again', () => {
    const steps: Step[] = [
      ...fullHandshake(),
      ['client', sealed(ContentType.handshake, 250)],
      ['server', sealed(ContentType.alert, 26)],
      ...traffic(),
      ['client', sealed(ContentType.handshake, 250)],
    ];
    const r = replay(steps, judgeOf(policy('allow', { maxRenegotiationsPerConnection: 1 })));
    assert.ok(r.events.some((e) => e.type === 'renegotiation-refused' && e.by === 'server'));
    assert.equal(r.block?.reason, 'connection-renegotiation-limit');
  });

  test('an AEAD Finished is exact: 45 bytes more (a whole ClientHello) is a coalesced renegotiation, 44 is not', () => {
    const flight = (finishedRecord: number): Step[] => [
      ['client', clientHello()],
      ['server', serverFlight()],
      ['client', concat(sealed(ContentType.handshake, 70), CCS, sealed(ContentType.handshake, finishedRecord))],
    ];
    // A GCM Finished is 40 bytes; the smallest ClientHello is 45 (RFC 5246 §7.4.1.2).
    const r = replay(flight(40 + 45), deny);
    assert.deepEqual(r.block, {
      reason: 'client-initiated-renegotiation-denied',
      side: 'client',
      initiator: 'client',
      evidence: 'coalesced',
    });
    assert.equal(replay(flight(40 + 44), deny).block, undefined);
    const allowed = replay(flight(40 + 45), allow);
    assert.ok(allowed.events.some((e) => e.type === 'renegotiation' && e.evidence === 'coalesced'));
  });
});

describe('RenegotiationWatch: messages hidden behind a Finished (fail closed)', () => {
  /** The initial handshake with `suite`, the client's Finished record `clientFinished` bytes long. */
  function initial(clientFinished: number, suite = GCM_SUITE, serverFinished = 40): Step[] {
    return [
      ['client', clientHello()],
      ['server', serverFlight({ suite })],
      ['client', concat(sealed(ContentType.handshake, 70), CCS, sealed(ContentType.handshake, clientFinished))],
      ['server', concat(CCS, sealed(ContentType.handshake, serverFinished))],
    ];
  }

  test('CBC: a ClientHello coalesced into the initial Finished is blocked and blamed on the client', () => {
    // AES-128-CBC-SHA in TLS 1.2: 16-byte IV, 20-byte MAC, 1-256 bytes of padding. The issue's
    // attack record: 160 bytes, 100 of them a ClientHello.
    for (const mode of ['deny', 'deny-client-initiated'] as const) {
      const steps = initial(160, CBC_SUITE, 64);
      const r = replay(steps, judgeOf(policy(mode)));
      assert.deepEqual(r.block, {
        reason: 'client-initiated-renegotiation-denied',
        side: 'client',
        initiator: 'client',
        evidence: 'finished-room',
      });
      // Nothing of the record reached the server.
      const sent = concatSteps(steps, 'client');
      assert.deepEqual(r.forwarded.client, sent.subarray(0, sent.length - (5 + 160)));
    }
    // Minimal padding (64), and every padding that leaves less than a ClientHello of room, passes.
    for (const len of [64, 80, 96]) assert.equal(replay(initial(len, CBC_SUITE, 64), deny).block, undefined, `${len}`);
    assert.equal(replay(initial(112, CBC_SUITE, 64), deny).block?.evidence, 'finished-room');
  });

  test('AEAD: a ClientHello hidden in a renegotiation Finished (suite unknown) is blocked under deny-client-initiated', () => {
    // A legitimate server-initiated renegotiation, then the client's renegotiation Finished record
    // of 136 bytes with a 96-byte ClientHello inside (the bypass).
    const hiding: Step[] = [
      ...initial(40),
      ['server', sealed(ContentType.handshake, 28)],
      ['client', sealed(ContentType.handshake, 250)],
      [
        'server',
        concat(
          sealed(ContentType.handshake, 120),
          sealed(ContentType.handshake, 900),
          sealed(ContentType.handshake, 40),
        ),
      ],
      [
        'client',
        concat(
          sealed(ContentType.handshake, 90),
          sealed(ContentType.change_cipher_spec, 25),
          sealed(ContentType.handshake, 136),
        ),
      ],
    ];
    const r = replay(hiding, judgeOf(policy('deny-client-initiated')));
    assert.deepEqual(r.block, {
      reason: 'client-initiated-renegotiation-denied',
      side: 'client',
      initiator: 'client',
      evidence: 'finished-room',
    });
    assert.equal(r.watch.renegotiations, 1);
    // The same renegotiation with a 40-byte Finished completes.
    const honest = replay(
      [
        ...hiding.slice(0, -1),
        ['client', concat(sealed(ContentType.handshake, 90), sealed(ContentType.change_cipher_spec, 25), FINISHED)],
        ['server', concat(sealed(ContentType.change_cipher_spec, 25), FINISHED)],
      ],
      judgeOf(policy('deny-client-initiated')),
    );
    assert.equal(honest.block, undefined);
    assert.equal(honest.events.filter((e) => e.type === 'renegotiation-complete').length, 1);
  });

  test('a server Finished with a HelloRequest behind it: exact for AEAD, the answer judged for CBC', () => {
    const denyServer = judgeOf(policy('deny-server-initiated'));
    // GCM: 44 bytes is a Finished and a HelloRequest, certainly.
    const gcm = replay(initial(40, GCM_SUITE, 44), denyServer);
    assert.deepEqual(gcm.block, {
      reason: 'server-initiated-renegotiation-denied',
      side: 'server',
      initiator: 'server',
      evidence: 'coalesced',
    });
    // CBC: a HelloRequest fits in the padding of a minimal 64-byte Finished; the client's answer
    // is held back, since it may be one.
    const cbc = [...initial(64, CBC_SUITE, 64), ...traffic(), ['client', sealed(ContentType.handshake, 250)] as Step];
    const r = replay(cbc, denyServer);
    assert.deepEqual(r.block, {
      reason: 'ambiguous-renegotiation-denied',
      side: 'client',
      initiator: 'client',
      evidence: 'after-finished-room',
    });
    // Without the ambiguity (an AEAD suite) the same client-initiated renegotiation is allowed.
    const aead = [...initial(40), ...traffic(), ['client', sealed(ContentType.handshake, 250)] as Step];
    assert.equal(replay(aead, denyServer).block, undefined);
    // Under allow it passes, counted once, as the client's.
    const allowed = replay(cbc, allow);
    assert.equal(allowed.block, undefined);
    assert.deepEqual(
      allowed.events.filter((e) => e.type === 'renegotiation'),
      [{ type: 'renegotiation', initiator: 'client', index: 1, evidence: 'after-finished-room' }],
    );
  });

  test('a server flight after a client Finished with room is the answer to a hidden ClientHello', () => {
    // allow lets the possible ClientHello through; the server's next record is ambiguous, and a
    // record certainly longer than a HelloRequest is counted as the client's renegotiation, once.
    const steps: Step[] = [...initial(160, CBC_SUITE, 64), ['server', sealed(ContentType.handshake, 900)]];
    const r = replay(steps, allow);
    assert.deepEqual(
      r.events.filter((e) => e.type === 'renegotiation'),
      [{ type: 'renegotiation', initiator: 'client', index: 1, evidence: 'after-finished-room' }],
    );
    // deny-server-initiated allows the client's renegotiation but not a HelloRequest: fail closed.
    const strict = replay(steps, judgeOf(policy('deny-server-initiated')));
    assert.equal(strict.block?.reason, 'ambiguous-renegotiation-denied');
    assert.equal(strict.block?.side, 'server');
  });

  test('a Finished split over 1-byte records passes; a ClientHello after it is still seen', () => {
    // GCM: 25 bytes per record carries one byte of plaintext.
    const split = Array.from({ length: 16 }, () => sealed(ContentType.handshake, 25));
    const steps: Step[] = [
      ['client', clientHello()],
      ['server', serverFlight()],
      ['client', concat(sealed(ContentType.handshake, 70), CCS, ...split)],
      ['server', serverFinishFlight()],
      ...traffic(),
    ];
    const r = replay(steps, deny, 7);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
    const last = replay(
      [
        ...steps.slice(0, 2),
        ['client', concat(sealed(ContentType.handshake, 70), CCS, ...split, sealed(ContentType.handshake, 25 + 44))],
      ],
      deny,
    );
    assert.equal(last.block?.reason, 'client-initiated-renegotiation-denied');
  });

  test('compression: a Finished can hide anything, so a policy that forbids renegotiation closes at it', () => {
    const steps: Step[] = [
      ['client', clientHello()],
      ['server', serverFlight({ compression: 1 })],
      ['client', clientFinishFlight()],
    ];
    assert.equal(replay(steps, deny).block?.evidence, 'finished-room');
    assert.equal(replay(steps, allow).block, undefined);
  });

  test('record room per suite family', () => {
    const facts = (cipherSuite: number, version = 0x0303, compressionMethod = 0) => ({
      version,
      tls13: false,
      cipherSuite,
      compressionMethod,
      rfc5746: true,
      ems: false,
      alpn: undefined,
    });
    const range = (suite: number, len: number, version?: number) =>
      plaintextRange(initialShape(facts(suite, version)), len);
    assert.deepEqual(range(0xc02f, 40), { min: 16, max: 16 }); // AES-128-GCM
    assert.deepEqual(range(0xcca8, 32), { min: 16, max: 16 }); // ChaCha20-Poly1305
    assert.deepEqual(range(0xc0ae, 32), { min: 16, max: 16 }); // AES-128-CCM-8
    assert.deepEqual(range(0x0005, 36), { min: 16, max: 16 }); // RC4-SHA
    assert.deepEqual(range(0x002f, 64), { min: 0, max: 27 }); // AES-128-CBC-SHA, TLS 1.2
    assert.deepEqual(range(0x002f, 48, 0x0301), { min: 0, max: 27 }); // the same in TLS 1.0: no explicit IV
    assert.deepEqual(range(0xc028, 96), { min: 0, max: 31 }); // AES-256-CBC-SHA384
    assert.deepEqual(plaintextRange(initialShape(undefined), 40), { min: 0, max: 24 });
    assert.equal(plaintextRange(initialShape(facts(0xc02f, 0x0303, 1)), 40).max, Infinity);
  });
});

describe('policy', () => {
  const base = [...fullHandshake(), ...traffic()];

  test('secure-only: renegotiation passes only when both hellos signalled RFC 5746', () => {
    const secureOnly = judgeOf(policy('secure-only'));
    assert.equal(replay([...base, ...encryptedRenegotiation('client')], secureOnly).block, undefined);
    const legacyServer = [...fullHandshake({ server: { rfc5746: 'none' } }), ...encryptedRenegotiation('server')];
    assert.equal(replay(legacyServer, secureOnly).block?.reason, 'insecure-renegotiation-denied');
    const legacyClient = [...fullHandshake({ client: { rfc5746: 'none' } }), ...encryptedRenegotiation('client')];
    assert.equal(replay(legacyClient, secureOnly).block?.reason, 'insecure-renegotiation-denied');
    const scsvClient = [...fullHandshake({ client: { rfc5746: 'scsv' } }), ...encryptedRenegotiation('client')];
    assert.equal(replay(scsvClient, secureOnly).block, undefined);
  });

  test('require-rfc5746: a legacy ClientHello is held back whole and nothing reaches the server', () => {
    const r = replay(fullHandshake({ client: { rfc5746: 'none' } }), judgeOf(policy('require-rfc5746')), 9);
    assert.deepEqual(r.block, { reason: 'legacy-peer-rfc5746-required', side: 'client' });
    assert.equal(r.forwarded.client.length, 0);
  });

  test('require-rfc5746: a legacy ServerHello is held back; a TLS 1.3-only ClientHello needs no signal', () => {
    const r = replay(fullHandshake({ server: { rfc5746: 'none' } }), judgeOf(policy('require-rfc5746')));
    assert.deepEqual(r.block, { reason: 'legacy-peer-rfc5746-required', side: 'server' });
    assert.equal(r.forwarded.server.length, 0);
    const only13 = replay(
      [['client', clientHello({ rfc5746: 'none', versions: [TLS13] })]],
      judgeOf(policy('require-rfc5746')),
    );
    assert.equal(only13.block, undefined);
  });

  test('require-rfc5746 lets renegotiation through once both hellos signalled', () => {
    assert.equal(
      replay([...base, ...encryptedRenegotiation('client')], judgeOf(policy('require-rfc5746'))).block,
      undefined,
    );
  });

  test('ALPN h2: renegotiation is blocked whatever the policy (RFC 7540 §9.2.1)', () => {
    const h2 = fullHandshake({ client: { alpn: ['h2', 'http/1.1'] }, server: { alpn: ['h2'] } });
    for (const mode of ['allow', 'deny-server-initiated', 'secure-only', 'require-rfc5746'] as const) {
      const r = replay([...h2, ...encryptedRenegotiation('client')], judgeOf(policy(mode)));
      assert.equal(r.block?.reason, 'h2-renegotiation', mode);
    }
    const http11 = fullHandshake({ client: { alpn: ['h2', 'http/1.1'] }, server: { alpn: ['http/1.1'] } });
    assert.equal(replay([...http11, ...encryptedRenegotiation('client')], allow).block, undefined);
  });

  test('per-connection limit: the renegotiation after the limit is blocked', () => {
    const steps = [
      ...base,
      ...encryptedRenegotiation('client'),
      ...encryptedRenegotiation('server'),
      ...encryptedRenegotiation('client'),
    ];
    const r = replay(steps, judgeOf(policy('allow', { maxRenegotiationsPerConnection: 2 })));
    assert.equal(r.watch.renegotiations, 2);
    assert.deepEqual(r.block, {
      reason: 'connection-renegotiation-limit',
      side: 'client',
      initiator: 'client',
      evidence: 'after-finished-room',
    });
  });

  test('every question has an answer for every mode', () => {
    const q: Question = {
      kind: 'renegotiation',
      initiator: 'client',
      evidence: 'record',
      previous: 0,
      client: undefined,
      server: undefined,
    };
    for (const mode of [
      'allow',
      'deny',
      'deny-client-initiated',
      'deny-server-initiated',
      'secure-only',
      'require-rfc5746',
    ] as const) {
      assert.equal(typeof judgeOf(policy(mode))(q).allow, 'boolean');
    }
  });
});

describe('RenegotiationWatch: what is not TLS ≤ 1.2', () => {
  test('non-TLS first bytes are closed at once without forwarding a byte', () => {
    const r = replay([['client', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]], deny);
    assert.deepEqual(r.block, { reason: 'non-tls', side: 'client' });
    assert.equal(r.forwarded.client.length, 0);
  });

  test('non-TLS traffic passes byte for byte when the listener allows it', () => {
    const steps: Step[] = [
      ['client', new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')],
      ['server', new TextEncoder().encode('HTTP/1.1 200 OK\r\n\r\n')],
      ['client', sealed(ContentType.handshake, 10)],
    ];
    const r = replay(steps, judgeOf(policy('deny', { allowNonTls: true })), 3);
    assert.equal(r.block, undefined);
    assertByteExact(r, steps);
  });

  test('a server speaking first in clear (an SMTP banner) is non-TLS', () => {
    const r = replay([['server', new TextEncoder().encode('220 mail.test ESMTP\r\n')]], deny);
    assert.deepEqual(r.block, { reason: 'non-tls', side: 'server' });
  });

  test('a record with a non-TLS version after the handshake is malformed', () => {
    const steps: Step[] = [...fullHandshake(), ['client', Uint8Array.of(23, 0x7f, 0x03, 0, 4, 1, 2, 3, 4)]];
    assert.equal(replay(steps, allow).block?.reason, 'malformed-record');
    const long: Step[] = [
      ...fullHandshake(),
      ['server', Uint8Array.of(23, 3, 3, (MAX_CIPHERTEXT + 1) >> 8, (MAX_CIPHERTEXT + 1) & 0xff)],
    ];
    assert.equal(replay(long, allow).block?.reason, 'malformed-record');
  });

  test('an SSLv2-compatible ClientHello with the SCSV is read as RFC 5746 signalling', () => {
    const specs = [0x00c02f, 0x00002f, TLS_EMPTY_RENEGOTIATION_INFO_SCSV].flatMap((s) => [
      s >> 16,
      (s >> 8) & 0xff,
      s & 0xff,
    ]);
    const challenge = randomBytes(16);
    const body = Uint8Array.from([1, 0x03, 0x01, 0, specs.length, 0, 0, 0, 16, ...specs, ...challenge]);
    const v2 = Uint8Array.from([0x80 | (body.length >> 8), body.length & 0xff, ...body]);
    const steps: Step[] = [
      ['client', v2],
      ['server', serverFlight()],
      ['client', clientFinishFlight()],
      ['server', serverFinishFlight()],
    ];
    const r = replay(steps, judgeOf(policy('require-rfc5746')), 2);
    assert.equal(r.block, undefined);
    assert.equal(r.watch.clientHello?.format, 'sslv2-compatible');
    assert.equal(r.watch.clientHello?.rfc5746, 'scsv');
    assertByteExact(r, steps);
    // Without the SCSV the same hello is a legacy client.
    const plain = Uint8Array.from([
      0x80,
      body.length - 3,
      1,
      0x03,
      0x01,
      0,
      6,
      0,
      0,
      0,
      16,
      ...specs.slice(0, 6),
      ...challenge,
    ]);
    assert.equal(
      replay([['client', plain]], judgeOf(policy('require-rfc5746'))).block?.reason,
      'legacy-peer-rfc5746-required',
    );
  });

  test('an SSL 2.0 hello (version 0x0002) is non-TLS', () => {
    const body = Uint8Array.from([1, 0x00, 0x02, 0, 3, 0, 0, 0, 16, 0x07, 0x00, 0xc0, ...randomBytes(16)]);
    const r = replay([['client', Uint8Array.from([0x80, body.length, ...body])]], deny);
    assert.equal(r.block?.reason, 'non-tls');
  });

  test('a hello that does not decode is malformed; one longer than the guard reads is refused early', () => {
    const bad = record(ContentType.handshake, Uint8Array.of(1, 0, 0, 3, 3, 3, 0));
    assert.equal(replay([['client', bad]], allow).block?.reason, 'malformed-hello');
    const huge = record(ContentType.handshake, Uint8Array.of(1, 0x01, 0x00, 0x01));
    assert.equal(replay([['client', huge]], allow).block?.reason, 'hello-too-large');
    assert.ok(MAX_HELLO_LEN < 0x010001);
    const notHello = concat(record(ContentType.handshake, Uint8Array.of(2, 0, 0, 0)));
    assert.equal(replay([['client', notHello]], allow).block?.reason, 'malformed-hello');
  });

  test('a hello interrupted by another record type is malformed', () => {
    const message = clientHelloMessage();
    const steps: Step[] = [['client', concat(record(ContentType.handshake, message.subarray(0, 20)), appData(10))]];
    assert.equal(replay(steps, allow).block?.reason, 'malformed-hello');
  });
});

describe('RenegotiationWatch: hostile input', () => {
  test('random bytes never throw, and what is held stays within one header plus one hello', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 30 }), (chunks) => {
        const watch = new RenegotiationWatch(judgeOf(policy('allow', { allowNonTls: false })));
        for (const [fromClient, bytes] of chunks) {
          watch.feed(fromClient ? 'client' : 'server', bytes);
          assert.ok(watch.heldBytes('client') <= MAX_HELLO_LEN + 4 + 5 + 300);
          assert.ok(watch.heldBytes('server') <= MAX_HELLO_LEN + 4 + 5 + 300);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a valid handshake followed by random records never throws and never forwards after a block', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom(20, 21, 22, 23, 24, 99), fc.integer({ min: 0, max: 600 })), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 50 }),
        (records, chunk) => {
          const steps: Step[] = [
            ...fullHandshake(),
            ...records.map(([c, type, len]): Step => [c ? 'client' : 'server', sealed(type, len)]),
          ];
          const r = replay(steps, deny, chunk);
          if (r.block === undefined) {
            assertByteExact(r, steps);
          } else {
            const sent = concatSteps(steps, r.block.side);
            assert.ok(r.forwarded[r.block.side].length < sent.length);
            assert.deepEqual(r.forwarded[r.block.side], sent.subarray(0, r.forwarded[r.block.side].length));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a truncated record at the end of a stream is neither forwarded in part nor fatal', () => {
    const steps: Step[] = [...fullHandshake(), ['client', sealed(ContentType.application_data, 100).subarray(0, 3)]];
    const r = replay(steps, deny);
    assert.equal(r.block, undefined);
    assert.equal(r.watch.heldBytes('client'), 3);
  });
});
