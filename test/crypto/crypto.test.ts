/**
 * The PRF, key schedule, transcript hash, suite table and record protection.
 *
 * Oracles that do not come from the code under test:
 * - TLS 1.2 PRF: the P_SHA256 / P_SHA384 "test label" vectors posted to the IETF TLS
 *   list (mail-archive/web/tls/current/msg03416.html), recomputed with
 *   `openssl kdf ... TLS1-PRF` (OpenSSL 3.0).
 * - TLS 1.0 PRF: `openssl kdf -kdfopt digest:MD5-SHA1 ... TLS1-PRF`, and a
 *   separately written reference P_hash below.
 * - Record protection: decryption and encryption straight through node:crypto
 *   with the nonce, IV and additional data laid out as the RFCs describe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, createHmac, getCiphers, randomBytes } from 'node:crypto';
import { getCiphers as tlsCiphers } from 'node:tls';
import fc from 'fast-check';
import { TlsError, type TlsErrorKind } from '../../src/wire/errors.ts';
import { HandshakeHash, extendedMasterSecret, keyBlock, masterSecret, prf, verifyData } from '../../src/crypto/prf.ts';
import {
  ALL_SUITES,
  DEFAULT_CLIENT_SUITES,
  suiteAllowsVersion,
  suiteById,
  suiteByName,
  suiteName,
  type CipherSuiteInfo,
} from '../../src/crypto/suites.ts';
import {
  MAX_CIPHERTEXT,
  MAX_PLAINTEXT,
  NULL_PROTECTOR,
  SequenceNumber,
  createOpener,
  createSealer,
  deriveConnectionKeys,
  keyBlockLength,
  type RecordProtector,
} from '../../src/crypto/record-protection.ts';

/** A sealed record's fragment in one buffer (record protection returns it in pieces). */
function sealFragment(p: RecordProtector, type: number, version: number, plaintext: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat(p.seal(type, version, plaintext)));
}

const TLS10 = 0x0301;
const TLS11 = 0x0302;
const TLS12 = 0x0303;
const APPLICATION_DATA = 23;
const HANDSHAKE = 22;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

function throwsKind(fn: () => unknown, kind: TlsErrorKind, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TlsError && e.kind === kind, message);
}

// ---------------------------------------------------------------------------
// A reference PRF, written independently of src/crypto/prf.ts: whole blocks
// concatenated first, cut to length at the end.

function hmac(alg: string, key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(alg, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function refPHash(alg: string, secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let a: Uint8Array = seed;
  while (blocks.reduce((n, b) => n + b.length, 0) < length) {
    a = hmac(alg, secret, a);
    blocks.push(hmac(alg, secret, a, seed));
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function refPrf(version: number, alg: string, secret: Uint8Array, label: string, seed: Uint8Array, length: number) {
  const labelSeed = Buffer.concat([ascii(label), seed]);
  if (version >= TLS12) return Uint8Array.from(refPHash(alg, secret, labelSeed, length));
  const halfLength = (secret.length + 1) >> 1;
  const md5 = refPHash('md5', secret.subarray(0, halfLength), labelSeed, length);
  const sha1 = refPHash('sha1', secret.subarray(secret.length - halfLength), labelSeed, length);
  return Uint8Array.from(md5, (x, i) => x ^ sha1[i]!);
}

/** The handshake hash of RFC 5246 §7.4.9 over whole messages: MD5 || SHA-1 before TLS 1.2 (RFC 2246 §7.4.9). */
function refTranscriptHash(version: number, hash: 'sha256' | 'sha384', messages: Uint8Array): Buffer {
  if (version >= TLS12) return createHash(hash).update(messages).digest();
  return Buffer.concat([createHash('md5').update(messages).digest(), createHash('sha1').update(messages).digest()]);
}

// ---------------------------------------------------------------------------
// PRF

test('TLS 1.2 PRF with SHA-256 matches the published 100-byte test vector', () => {
  const secret = hex('9bbe436ba940f017b17652849a71db35');
  const out = prf(TLS12, 'sha256', secret, 'test label', hex('a0ba9f936cda311827a6f796ffd5198c'), 100);
  assert.equal(
    toHex(out),
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af' +
      '0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
  );
});

test('TLS 1.2 PRF with SHA-384 matches the published 148-byte test vector', () => {
  const secret = hex('b80b733d6ceefcdc71566ea48e5567df');
  const out = prf(TLS12, 'sha384', secret, 'test label', hex('cd665cf6a8447dd6ff8b27555edb7465'), 148);
  assert.equal(
    toHex(out),
    '7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0' +
      'e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425' +
      '9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f',
  );
});

test('TLS 1.0 PRF matches OpenSSL for an even-length secret', () => {
  const out = prf(TLS10, 'sha256', ascii('secret'), 'label', ascii('seed'), 20);
  assert.equal(toHex(out), 'b5baf4722b91851a8816d22ebd8c1d8cc2e94d55');
});

test('TLS 1.0 PRF matches OpenSSL for an odd-length secret, whose halves share a byte', () => {
  const secret = hex('9bbe436ba940f017b17652849a71db35ab');
  const out = prf(TLS11, 'sha256', secret, 'test label', hex('a0ba9f936cda311827a6f796ffd5198c'), 64);
  assert.equal(
    toHex(out),
    'c55cce910d01afe4fce09b84d3e47936666d769a2426ac9c83d72566c314df98' +
      'f4d8b00455413a99157901aa87dd4c7d2b99f27f150ac732fe58d828ece40e3b',
  );
});

test('the PRF agrees with the reference implementation for random secrets, seeds and lengths', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(TLS10, TLS11, TLS12),
      fc.constantFrom('sha256' as const, 'sha384' as const),
      // Up to 300 bytes: DHE premasters outgrow the 64- and 128-byte HMAC blocks, whose keys are hashed first.
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 80 }),
      fc.integer({ min: 0, max: 200 }),
      (version, hash, secret, seed, length) => {
        const ours = prf(version, hash, secret, 'some label', seed, length);
        assert.deepEqual(ours, refPrf(version, hash, secret, 'some label', seed, length));
      },
    ),
    { numRuns: 200 },
  );
});

test('the PRF refuses SSLv3 and TLS 1.3, which derive keys differently', () => {
  throwsKind(() => prf(0x0300, 'sha256', new Uint8Array(4), 'x', new Uint8Array(0), 4), 'InternalError');
  throwsKind(() => prf(0x0304, 'sha256', new Uint8Array(4), 'x', new Uint8Array(0), 4), 'InternalError');
});

test('the key schedule feeds the RFC labels and seeds to the PRF', () => {
  const pre = randomBytes(48);
  const cr = randomBytes(32);
  const sr = randomBytes(32);
  for (const [version, hash] of [
    [TLS10, 'sha256'],
    [TLS12, 'sha256'],
    [TLS12, 'sha384'],
  ] as const) {
    const ms = masterSecret(version, hash, pre, cr, sr);
    assert.deepEqual(ms, refPrf(version, hash, pre, 'master secret', Buffer.concat([cr, sr]), 48));
    // RFC 5246 §6.3: key expansion puts the server random first.
    const expectedBlock = refPrf(version, hash, ms, 'key expansion', Buffer.concat([sr, cr]), 104);
    assert.deepEqual(keyBlock(version, hash, ms, cr, sr, 104), expectedBlock);
    const sessionHash = randomBytes(version === TLS12 ? 32 : 36);
    assert.deepEqual(
      extendedMasterSecret(version, hash, pre, sessionHash),
      refPrf(version, hash, pre, 'extended master secret', sessionHash, 48),
    );
    const vd = verifyData(version, hash, ms, 'server finished', sessionHash);
    assert.equal(vd.length, 12);
    assert.deepEqual(vd, refPrf(version, hash, ms, 'server finished', sessionHash, 12));
    assert.notDeepEqual(vd, verifyData(version, hash, ms, 'client finished', sessionHash));
  }
});

// ---------------------------------------------------------------------------
// HandshakeHash

test('the transcript hash is MD5||SHA-1 before TLS 1.2 and the PRF hash from 1.2 on', () => {
  const msgs = randomBytes(300);
  const t = new HandshakeHash();
  t.append(msgs);
  const md5sha1 = Buffer.concat([createHash('md5').update(msgs).digest(), createHash('sha1').update(msgs).digest()]);
  assert.deepEqual(t.hash(TLS10, 'sha256'), Uint8Array.from(md5sha1));
  assert.equal(t.hash(TLS11, 'sha384').length, 36);
  assert.equal(toHex(t.hash(TLS12, 'sha256')), createHash('sha256').update(msgs).digest('hex'));
  assert.equal(toHex(t.hash(TLS12, 'sha384')), createHash('sha384').update(msgs).digest('hex'));
});

test('a running transcript can be hashed at any point, repeatedly, without disturbing it', () => {
  const parts = [randomBytes(10), randomBytes(1000), randomBytes(0), randomBytes(77)];
  const t = new HandshakeHash();
  const seen: Uint8Array[] = [];
  for (const part of parts) {
    // append() takes the buffer as its own (each received message is copied once, by the joiner): no copy here.
    t.append(Uint8Array.from(part));
    seen.push(part);
    const all = Buffer.concat(seen);
    for (const [version, hash] of [
      [TLS10, 'sha256'],
      [TLS12, 'sha256'],
      [TLS12, 'sha384'],
    ] as const) {
      const expected = toHex(refTranscriptHash(version, hash, all));
      assert.equal(toHex(t.hash(version, hash)), expected);
      assert.equal(toHex(t.hash(version, hash)), expected);
    }
    assert.deepEqual(t.messages(), Uint8Array.from(all));
  }
});

// ---------------------------------------------------------------------------
// Suites

test('every suite is found by id, IANA name and OpenSSL name, and ids are unique', () => {
  assert.equal(new Set(ALL_SUITES.map((s) => s.id)).size, ALL_SUITES.length);
  for (const s of ALL_SUITES) {
    assert.equal(suiteById(s.id), s);
    assert.equal(suiteByName(s.name), s);
    assert.equal(suiteByName(s.opensslName), s);
    assert.equal(suiteName(s.id), s.name);
  }
  assert.equal(suiteById(0x1301), undefined);
  assert.equal(suiteByName('TLS_AES_128_GCM_SHA256'), undefined);
});

test('unknown suite ids print as unknown(0x....)', () => {
  assert.equal(suiteName(0x1301), 'unknown(0x1301)');
  assert.equal(suiteName(0x0005), 'unknown(0x0005)');
});

test('OpenSSL knows each non-3DES suite by the OpenSSL name we give it', () => {
  const known = new Set(tlsCiphers());
  for (const s of ALL_SUITES.filter((s) => s.bulk.nodeName !== 'des-ede3-cbc')) {
    assert.ok(known.has(s.opensslName.toLowerCase()), s.opensslName);
  }
});

test('the suite table records the RFC version limits, hashes and sizes', () => {
  const byName = (n: string): CipherSuiteInfo => suiteByName(n) ?? assert.fail(n);
  const gcm = byName('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
  assert.deepEqual(
    [gcm.id, gcm.kx, gcm.auth, gcm.mac, gcm.prfHash, gcm.minVersion],
    [0xc030, 'ECDHE', 'RSA', null, 'sha384', TLS12],
  );
  assert.deepEqual([gcm.bulk.fixedIvLen, gcm.bulk.recordIvLen, gcm.bulk.tagLen], [4, 8, 16]);
  const chacha = byName('ECDHE-ECDSA-CHACHA20-POLY1305');
  assert.deepEqual([chacha.id, chacha.auth, chacha.bulk.fixedIvLen, chacha.bulk.recordIvLen], [0xcca9, 'ECDSA', 12, 0]);
  assert.equal(byName('DHE-RSA-CHACHA20-POLY1305').id, 0xccaa);
  assert.equal(byName('TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256').id, 0xcca8);
  const cbc = byName('TLS_RSA_WITH_AES_128_CBC_SHA');
  assert.deepEqual([cbc.id, cbc.kx, cbc.mac, cbc.prfHash, cbc.minVersion], [0x002f, 'RSA', 'sha1', 'sha256', TLS10]);
  const sha384 = byName('ECDHE-RSA-AES256-SHA384');
  assert.deepEqual([sha384.mac, sha384.prfHash, sha384.minVersion], ['sha384', 'sha384', TLS12]);
  assert.equal(byName('DHE-RSA-AES256-SHA256').prfHash, 'sha256');
  for (const s of ALL_SUITES) {
    const tls12Only = s.bulk.kind === 'aead' || s.mac !== 'sha1';
    assert.equal(s.minVersion, tls12Only ? TLS12 : TLS10, s.name);
    assert.equal(s.maxVersion, TLS12);
    assert.equal(s.prfHash, s.name.endsWith('SHA384') ? 'sha384' : 'sha256', s.name);
  }
});

test('3DES is runnable exactly when this Node build has it, and never offered by default', () => {
  const has3des = getCiphers().includes('des-ede3-cbc');
  for (const id of [0x000a, 0xc012, 0x0016]) {
    assert.equal(suiteById(id) !== undefined, has3des);
    assert.match(suiteName(id), /3DES_EDE_CBC_SHA$/);
  }
  assert.ok(DEFAULT_CLIENT_SUITES.every((s) => s.bulk.nodeName !== 'des-ede3-cbc'));
});

test('the default client list prefers ECDHE AEAD, then ECDHE CBC, then DHE, then RSA key transport', () => {
  const rank = (s: CipherSuiteInfo): number =>
    s.kx === 'ECDHE' ? (s.bulk.kind === 'aead' ? 0 : 1) : s.kx === 'DHE' ? 2 : 3;
  const ranks = DEFAULT_CLIENT_SUITES.map(rank);
  assert.deepEqual(
    ranks,
    [...ranks].sort((a, b) => a - b),
  );
  assert.equal(DEFAULT_CLIENT_SUITES[0]!.bulk.kind, 'aead');
  assert.equal(DEFAULT_CLIENT_SUITES.length, ALL_SUITES.filter((s) => s.bulk.nodeName !== 'des-ede3-cbc').length);
});

// ---------------------------------------------------------------------------
// Record protection

interface Case {
  suite: CipherSuiteInfo;
  version: number;
  label: string;
}

const CASES: Case[] = ALL_SUITES.flatMap((suite) =>
  [TLS10, TLS11, TLS12]
    .filter((v) => suiteAllowsVersion(suite, v))
    .map((version) => ({ suite, version, label: `${suite.opensslName}@${version.toString(16)}` })),
);

function connection(c: Case) {
  const keys = deriveConnectionKeys(c.suite, c.version, randomBytes(keyBlockLength(c.suite, c.version)));
  // RFC 5246 §6.1: a client seals with the client keys and opens with the server's, a server the reverse.
  return {
    keys,
    client: {
      sealer: createSealer(c.suite, c.version, keys.client),
      opener: createOpener(c.suite, c.version, keys.server),
    },
    server: {
      sealer: createSealer(c.suite, c.version, keys.server),
      opener: createOpener(c.suite, c.version, keys.client),
    },
  };
}

/** seq_num + type + version + length (RFC 5246 §6.2.3.1, §6.2.3.3) */
function header(seq: number, type: number, version: number, length: number): Buffer {
  const h = Buffer.alloc(13);
  h.writeBigUInt64BE(BigInt(seq), 0);
  h.writeUInt8(type, 8);
  h.writeUInt16BE(version, 9);
  h.writeUInt16BE(length, 11);
  return h;
}

const SIZES = [0, 1, 15, 16, 17, 31, 100, 1000, 4096, MAX_PLAINTEXT];

test('key block lengths follow RFC 2246, 4346 and 5246 §6.3', () => {
  const s = (n: string): CipherSuiteInfo => suiteByName(n) ?? assert.fail(n);
  // RFC 5246 §6.3 note: AES_256_CBC_SHA256 takes 2x32 key + 2x32 MAC key = 128 bytes.
  assert.equal(keyBlockLength(s('AES256-SHA256'), TLS12), 128);
  // RFC 4346 §6.3 note: AES_256_CBC_SHA takes 104 bytes; TLS 1.1 has no IVs in the key block.
  assert.equal(keyBlockLength(s('AES256-SHA'), TLS11), 104);
  assert.equal(keyBlockLength(s('AES256-SHA'), TLS10), 104 + 2 * 16);
  assert.equal(keyBlockLength(s('AES128-GCM-SHA256'), TLS12), 2 * (16 + 4));
  assert.equal(keyBlockLength(s('ECDHE-RSA-CHACHA20-POLY1305'), TLS12), 2 * (32 + 12));
});

test('connection keys are cut from the key block in RFC 5246 §6.3 order', () => {
  const suite = suiteByName('AES128-SHA') ?? assert.fail();
  const block = Uint8Array.from({ length: keyBlockLength(suite, TLS10) }, (_, i) => i);
  const { client, server } = deriveConnectionKeys(suite, TLS10, block);
  assert.deepEqual(client.macKey, block.slice(0, 20));
  assert.deepEqual(server.macKey, block.slice(20, 40));
  assert.deepEqual(client.key, block.slice(40, 56));
  assert.deepEqual(server.key, block.slice(56, 72));
  assert.deepEqual(client.iv, block.slice(72, 88));
  assert.deepEqual(server.iv, block.slice(88, 104));
  throwsKind(() => deriveConnectionKeys(suite, TLS10, block.subarray(1)), 'InternalError');
});

test('every suite at every version round-trips a run of records in both directions', () => {
  for (const c of CASES) {
    const { client, server } = connection(c);
    for (const [from, to] of [
      [client.sealer, server.opener],
      [server.sealer, client.opener],
    ] as const) {
      for (const size of SIZES) {
        const plaintext = randomBytes(size);
        const fragment = sealFragment(from, APPLICATION_DATA, c.version, plaintext);
        assert.ok(fragment.length <= size + from.overhead, `${c.label} overhead`);
        assert.ok(fragment.length <= MAX_CIPHERTEXT);
        assert.deepEqual(Buffer.from(to.open(APPLICATION_DATA, c.version, fragment)), plaintext, c.label);
      }
    }
  }
});

test('a suite cannot be used at a version it does not allow', () => {
  const gcm = suiteByName('AES128-GCM-SHA256') ?? assert.fail();
  const keys = { macKey: new Uint8Array(0), key: new Uint8Array(16), iv: new Uint8Array(4) };
  throwsKind(() => createSealer(gcm, TLS11, keys), 'InternalError');
  throwsKind(() => createOpener(gcm, TLS10, keys), 'InternalError');
});

test('records opened out of order fail, because the sequence number is authenticated', () => {
  for (const c of CASES) {
    const { client, server } = connection(c);
    const first = sealFragment(client.sealer, APPLICATION_DATA, c.version, ascii('first'));
    const second = sealFragment(client.sealer, APPLICATION_DATA, c.version, ascii('second'));
    throwsKind(() => server.opener.open(APPLICATION_DATA, c.version, second), 'BadRecordMac', c.label);
    assert.deepEqual(server.opener.open(APPLICATION_DATA, c.version, first), ascii('first'));
    throwsKind(() => server.opener.open(APPLICATION_DATA, c.version, first), 'BadRecordMac', `${c.label} replay`);
    assert.deepEqual(server.opener.open(APPLICATION_DATA, c.version, second), ascii('second'));
  }
});

test('any single bit flip, a wrong type or version, or truncation makes open fail with BadRecordMac', () => {
  // Every failure is BadRecordMac, structurally impossible lengths included (RFC 5246 §6.2.3.2, §7.2.2);
  // DecodeError is never used, so there is one failure signal.
  for (const c of CASES) {
    const { client, server } = connection(c);
    const plaintext = ascii('attack at dawn, bring snacks');
    const fragment = sealFragment(client.sealer, APPLICATION_DATA, c.version, plaintext);
    const rejects = (f: Uint8Array, why: string, type = APPLICATION_DATA, version = c.version): void =>
      throwsKind(() => server.opener.open(type, version, f), 'BadRecordMac', `${c.label} ${why}`);
    for (let bit = 0; bit < fragment.length * 8; bit++) {
      const tampered = Uint8Array.from(fragment);
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      rejects(tampered, `bit ${bit}`);
    }
    rejects(fragment, 'type', HANDSHAKE);
    rejects(fragment, 'version', APPLICATION_DATA, c.version === TLS12 ? TLS11 : TLS12);
    for (let n = 0; n < fragment.length; n++) rejects(fragment.subarray(0, n), `cut to ${n}`);
    rejects(Buffer.concat([fragment, new Uint8Array(c.suite.bulk.blockLen)]), 'extended');
    // Every rejection above left the opener's state as it was.
    assert.deepEqual(server.opener.open(APPLICATION_DATA, c.version, fragment), plaintext, c.label);
  }
});

test('random bytes given to open only ever raise TlsError', () => {
  const openers = CASES.map((c) => ({ c, opener: connection(c).server.opener }));
  const check = (i: number, type: number, bytes: Uint8Array): boolean => {
    const { c, opener } = openers[i]!;
    try {
      opener.open(type, c.version, bytes);
    } catch (e) {
      return e instanceof TlsError && (e.kind === 'BadRecordMac' || e.kind === 'RecordOverflow');
    }
    return true;
  };
  const index = fc.integer({ min: 0, max: openers.length - 1 });
  fc.assert(fc.property(index, fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 400 }), check), {
    numRuns: 3000,
  });
  fc.assert(
    fc.property(index, fc.uint8Array({ minLength: MAX_PLAINTEXT, maxLength: MAX_CIPHERTEXT + 64 }), (i, b) =>
      check(i, APPLICATION_DATA, b),
    ),
    { numRuns: 60 },
  );
});

test('fragments over 2^14+2048 bytes are RecordOverflow; oversize plaintext is refused', () => {
  for (const c of CASES) {
    const { client, server } = connection(c);
    const tooLong = new Uint8Array(MAX_CIPHERTEXT + 1);
    throwsKind(() => server.opener.open(APPLICATION_DATA, c.version, tooLong), 'RecordOverflow');
    const tooMuch = new Uint8Array(MAX_PLAINTEXT + 1);
    throwsKind(() => sealFragment(client.sealer, APPLICATION_DATA, c.version, tooMuch), 'InternalError');
  }
  throwsKind(() => NULL_PROTECTOR.open(HANDSHAKE, TLS12, new Uint8Array(MAX_PLAINTEXT + 1)), 'RecordOverflow');
});

test('an authentic record that decrypts to more than 2^14 bytes is RecordOverflow', () => {
  const suite = suiteByName('ECDHE-RSA-AES128-GCM-SHA256') ?? assert.fail();
  const keys = deriveConnectionKeys(suite, TLS12, randomBytes(keyBlockLength(suite, TLS12)));
  const plaintext = randomBytes(MAX_PLAINTEXT + 1);
  const explicit = Buffer.alloc(8);
  const cipher = createCipheriv('aes-128-gcm', keys.client.key, Buffer.concat([keys.client.iv, explicit]));
  cipher.setAAD(header(0, APPLICATION_DATA, TLS12, plaintext.length));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const fragment = Buffer.concat([explicit, body, cipher.getAuthTag()]);
  throwsKind(() => createOpener(suite, TLS12, keys.client).open(APPLICATION_DATA, TLS12, fragment), 'RecordOverflow');
});

test('AES-GCM records match an independent RFC 5288 computation in both directions', () => {
  for (const name of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384']) {
    const suite = suiteByName(name) ?? assert.fail(name);
    const alg = suite.bulk.nodeName as 'aes-128-gcm' | 'aes-256-gcm';
    const keys = deriveConnectionKeys(suite, TLS12, randomBytes(keyBlockLength(suite, TLS12)));
    const sealer = createSealer(suite, TLS12, keys.client);
    for (let seq = 0; seq < 3; seq++) {
      const plaintext = randomBytes(100 + seq);
      const fragment = Buffer.from(sealFragment(sealer, APPLICATION_DATA, TLS12, plaintext));
      const explicit = fragment.subarray(0, 8);
      assert.equal(explicit.readBigUInt64BE(0), BigInt(seq), 'explicit nonce is the sequence number');
      const decipher = createDecipheriv(alg, keys.client.key, Buffer.concat([keys.client.iv, explicit]));
      decipher.setAAD(header(seq, APPLICATION_DATA, TLS12, plaintext.length));
      decipher.setAuthTag(fragment.subarray(fragment.length - 16));
      const opened = Buffer.concat([decipher.update(fragment.subarray(8, fragment.length - 16)), decipher.final()]);
      assert.deepEqual(opened, plaintext);
    }
    // The other way: a peer choosing random explicit nonces.
    const opener = createOpener(suite, TLS12, keys.server);
    for (let seq = 0; seq < 3; seq++) {
      const plaintext = randomBytes(50);
      const explicit = randomBytes(8);
      const cipher = createCipheriv(alg, keys.server.key, Buffer.concat([keys.server.iv, explicit]));
      cipher.setAAD(header(seq, HANDSHAKE, TLS12, plaintext.length));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const fragment = Buffer.concat([explicit, body, cipher.getAuthTag()]);
      assert.deepEqual(Buffer.from(opener.open(HANDSHAKE, TLS12, fragment)), plaintext);
    }
  }
});

test('ChaCha20-Poly1305 records match an independent RFC 7905 computation', () => {
  const suite = suiteByName('ECDHE-RSA-CHACHA20-POLY1305') ?? assert.fail();
  const keys = deriveConnectionKeys(suite, TLS12, randomBytes(keyBlockLength(suite, TLS12)));
  const sealer = createSealer(suite, TLS12, keys.client);
  for (let seq = 0; seq < 3; seq++) {
    const plaintext = randomBytes(64);
    const fragment = sealFragment(sealer, APPLICATION_DATA, TLS12, plaintext);
    assert.equal(fragment.length, plaintext.length + 16, 'no explicit nonce');
    const nonce = Buffer.from(keys.client.iv);
    nonce[11]! ^= seq;
    const decipher = createDecipheriv('chacha20-poly1305', keys.client.key, nonce, { authTagLength: 16 });
    decipher.setAAD(header(seq, APPLICATION_DATA, TLS12, plaintext.length), { plaintextLength: plaintext.length });
    decipher.setAuthTag(fragment.subarray(fragment.length - 16));
    const opened = Buffer.concat([decipher.update(fragment.subarray(0, fragment.length - 16)), decipher.final()]);
    assert.deepEqual(opened, plaintext);
  }
});

/** Decrypts a CBC body and checks MAC and padding the way RFC 5246 §6.2.3.2 lays them out. */
function checkCbcRecord(
  suite: CipherSuiteInfo,
  key: Uint8Array,
  macKey: Uint8Array,
  iv: Uint8Array,
  body: Uint8Array,
  seq: number,
  version: number,
  plaintext: Uint8Array,
): void {
  const decipher = createDecipheriv(suite.bulk.nodeName, key, iv);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(body), decipher.final()]);
  const macLength = { sha1: 20, sha256: 32, sha384: 48 }[suite.mac!];
  const padding = plain[plain.length - 1]!;
  assert.ok(padding < suite.bulk.blockLen, 'minimal padding');
  const paddingBytes = plain.subarray(plain.length - padding - 1);
  assert.ok(
    paddingBytes.every((b) => b === padding),
    'padding bytes hold padding_length',
  );
  assert.deepEqual(plain.subarray(0, plaintext.length), Buffer.from(plaintext));
  const mac = hmac(suite.mac!, macKey, header(seq, APPLICATION_DATA, version, plaintext.length), plaintext);
  assert.deepEqual(plain.subarray(plaintext.length, plaintext.length + macLength), mac);
  assert.equal(plain.length, plaintext.length + macLength + padding + 1);
}

test('TLS 1.0 CBC chains the IV: each record continues from the last ciphertext block of the one before', () => {
  for (const c of CASES.filter((c) => c.suite.bulk.kind === 'cbc' && c.version === TLS10)) {
    const { keys, client } = connection(c);
    let iv: Uint8Array = keys.client.iv;
    for (let seq = 0; seq < 4; seq++) {
      const plaintext = randomBytes(10 + 7 * seq);
      const fragment = sealFragment(client.sealer, APPLICATION_DATA, TLS10, plaintext);
      checkCbcRecord(c.suite, keys.client.key, keys.client.macKey, iv, fragment, seq, TLS10, plaintext);
      iv = fragment.subarray(fragment.length - c.suite.bulk.blockLen);
    }
  }
});

test('TLS 1.1+ CBC sends a fresh explicit IV in front of every record', () => {
  for (const c of CASES.filter((c) => c.suite.bulk.kind === 'cbc' && c.version >= TLS11)) {
    const { keys, client } = connection(c);
    const block = c.suite.bulk.blockLen;
    const ivs = new Set<string>();
    for (let seq = 0; seq < 4; seq++) {
      const plaintext = ascii('same plaintext every time');
      const fragment = sealFragment(client.sealer, APPLICATION_DATA, c.version, plaintext);
      ivs.add(toHex(fragment.subarray(0, block)));
      const [iv, body] = [fragment.subarray(0, block), fragment.subarray(block)];
      checkCbcRecord(c.suite, keys.client.key, keys.client.macKey, iv, body, seq, c.version, plaintext);
    }
    assert.equal(ivs.size, 4, c.label);
  }
});

test('CBC open rejects a correctly MACed record whose padding bytes are wrong', () => {
  // Independently built records with valid MACs but malformed padding (POODLE-TLS shape).
  const suite = suiteByName('AES128-SHA') ?? assert.fail();
  for (const version of [TLS10, TLS12]) {
    const keys = deriveConnectionKeys(suite, version, randomBytes(keyBlockLength(suite, version)));
    const plaintext = randomBytes(11);
    const mac = hmac('sha1', keys.client.macKey, header(0, APPLICATION_DATA, version, plaintext.length), plaintext);
    const build = (pad: Uint8Array): Buffer => {
      const iv = version === TLS10 ? Buffer.from(keys.client.iv) : randomBytes(16);
      const cipher = createCipheriv('aes-128-cbc', keys.client.key, iv);
      cipher.setAutoPadding(false);
      const body = Buffer.concat([cipher.update(Buffer.concat([plaintext, mac, pad])), cipher.final()]);
      return version === TLS10 ? body : Buffer.concat([iv, body]);
    };
    const open = (fragment: Uint8Array): Uint8Array =>
      createOpener(suite, version, keys.client).open(APPLICATION_DATA, version, fragment);
    // 11 + 20 = 31: one byte of padding_length = 0 aligns, or 17 bytes of 16.
    assert.deepEqual(Buffer.from(open(build(Uint8Array.of(0)))), plaintext);
    assert.deepEqual(Buffer.from(open(build(new Uint8Array(17).fill(16)))), plaintext, 'longer padding is valid');
    const wrongByte = new Uint8Array(17).fill(16);
    wrongByte[3] = 0;
    throwsKind(() => open(build(wrongByte)), 'BadRecordMac');
    throwsKind(() => open(build(Uint8Array.of(0xff))), 'BadRecordMac', 'padding longer than the record');
  }
});

test('the sequence number refuses to wrap past 2^64-1', () => {
  const seq = new SequenceNumber((1n << 64n) - 2n);
  assert.equal(seq.value, (1n << 64n) - 2n);
  seq.advance();
  assert.equal(seq.value, (1n << 64n) - 1n);
  const b = new Uint8Array(8);
  seq.writeTo(b, 0);
  assert.deepEqual([...b], [255, 255, 255, 255, 255, 255, 255, 255]);
  seq.advance();
  throwsKind(() => seq.value, 'InternalError');
  throwsKind(() => seq.writeTo(b, 0), 'InternalError');
});

test('the sequence number carries from the low 32 bits into the high ones', () => {
  const seq = new SequenceNumber(0xffffffffn);
  seq.advance();
  assert.equal(seq.value, 0x100000000n);
  const b = new Uint8Array(8);
  seq.writeTo(b, 0);
  assert.deepEqual([...b], [0, 0, 0, 1, 0, 0, 0, 0]);
});

test('a protector works in the one direction it was built for', () => {
  const c = CASES[0]!;
  const { client } = connection(c);
  throwsKind(() => client.sealer.open(APPLICATION_DATA, c.version, new Uint8Array(40)), 'InternalError');
  throwsKind(() => sealFragment(client.opener, APPLICATION_DATA, c.version, new Uint8Array(4)), 'InternalError');
});

test('the null protector passes fragments through unchanged', () => {
  const data = randomBytes(100);
  const p: RecordProtector = NULL_PROTECTOR;
  assert.equal(p.overhead, 0);
  assert.deepEqual(Buffer.from(p.open(HANDSHAKE, TLS10, sealFragment(p, HANDSHAKE, TLS10, data))), data);
});
