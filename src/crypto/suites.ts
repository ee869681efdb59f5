/**
 * The cipher suites this engine implements (IANA TLS Cipher Suites registry),
 * listed in client preference order. Unknown ids stay plain numbers and print
 * as `unknown(0x....)` (STYLE.md §3).
 */
import { getCiphers } from 'node:crypto';
import { ProtocolVersion } from '../wire/enums.ts';
import type { PrfHash } from './prf.ts';

export type BulkCipherName =
  'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';

/** RFC 5246 §6.1 SecurityParameters, bulk part; lengths in bytes. */
export interface BulkCipher {
  kind: 'aead' | 'cbc';
  /** The node:crypto cipher name. */
  nodeName: BulkCipherName;
  keyLen: number;
  /**
   * AEAD: the implicit IV from the key block (4-byte GCM salt, RFC 5288 §3;
   * 12-byte ChaCha20 IV, RFC 7905 §2). CBC: the block size, the key block IV
   * that only TLS 1.0 uses (RFC 2246 §6.3).
   */
  fixedIvLen: number;
  /**
   * Bytes sent in front of each record: GCM's explicit nonce (8), none for
   * ChaCha20, and for CBC the explicit IV of TLS 1.1+ (RFC 4346 §6.2.3.2).
   */
  recordIvLen: number;
  tagLen: number;
  blockLen: number;
}

export type MacHash = 'sha1' | 'sha256' | 'sha384';

export interface CipherSuiteInfo {
  id: number;
  /** IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
  name: string;
  /** OpenSSL name, e.g. ECDHE-RSA-AES128-GCM-SHA256 */
  opensslName: string;
  kx: 'ECDHE' | 'DHE' | 'RSA';
  auth: 'RSA' | 'ECDSA';
  bulk: BulkCipher;
  /** HMAC hash for CBC suites; null for AEAD. */
  mac: MacHash | null;
  /** The TLS 1.2 PRF hash (RFC 5246 §5); TLS 1.0/1.1 always use MD5+SHA-1. */
  prfHash: PrfHash;
  minVersion: number;
  maxVersion: number;
}

const AES_128_GCM: BulkCipher = {
  kind: 'aead',
  nodeName: 'aes-128-gcm',
  keyLen: 16,
  fixedIvLen: 4,
  recordIvLen: 8,
  tagLen: 16,
  blockLen: 16,
};
const AES_256_GCM: BulkCipher = { ...AES_128_GCM, nodeName: 'aes-256-gcm', keyLen: 32 };
const CHACHA20: BulkCipher = {
  kind: 'aead',
  nodeName: 'chacha20-poly1305',
  keyLen: 32,
  fixedIvLen: 12,
  recordIvLen: 0,
  tagLen: 16,
  blockLen: 1,
};
const AES_128_CBC: BulkCipher = {
  kind: 'cbc',
  nodeName: 'aes-128-cbc',
  keyLen: 16,
  fixedIvLen: 16,
  recordIvLen: 16,
  tagLen: 0,
  blockLen: 16,
};
const AES_256_CBC: BulkCipher = { ...AES_128_CBC, nodeName: 'aes-256-cbc', keyLen: 32 };
const DES_EDE3_CBC: BulkCipher = {
  kind: 'cbc',
  nodeName: 'des-ede3-cbc',
  keyLen: 24,
  fixedIvLen: 8,
  recordIvLen: 8,
  tagLen: 0,
  blockLen: 8,
};

const TLS10 = ProtocolVersion.TLSv1;
const TLS12 = ProtocolVersion['TLSv1.2'];

type Row = [id: number, name: string, opensslName: string, bulk: BulkCipher, mac: MacHash | null, prfHash: PrfHash];

/** Preference order: ECDHE AEAD, ECDHE CBC, DHE, RSA key transport; 3DES last. */
const ROWS: readonly Row[] = [
  [0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256', AES_128_GCM, null, 'sha256'],
  [0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', AES_128_GCM, null, 'sha256'],
  [0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384', AES_256_GCM, null, 'sha384'],
  [0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', AES_256_GCM, null, 'sha384'],
  [0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', CHACHA20, null, 'sha256'],
  [0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305', CHACHA20, null, 'sha256'],
  [0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256', AES_128_CBC, 'sha256', 'sha256'],
  [0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256', AES_128_CBC, 'sha256', 'sha256'],
  [0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'ECDHE-ECDSA-AES256-SHA384', AES_256_CBC, 'sha384', 'sha384'],
  [0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 'ECDHE-RSA-AES256-SHA384', AES_256_CBC, 'sha384', 'sha384'],
  [0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA', AES_128_CBC, 'sha1', 'sha256'],
  [0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA', AES_128_CBC, 'sha1', 'sha256'],
  [0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA', AES_256_CBC, 'sha1', 'sha256'],
  [0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA', AES_256_CBC, 'sha1', 'sha256'],
  [0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'DHE-RSA-AES128-GCM-SHA256', AES_128_GCM, null, 'sha256'],
  [0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', 'DHE-RSA-AES256-GCM-SHA384', AES_256_GCM, null, 'sha384'],
  [0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'DHE-RSA-CHACHA20-POLY1305', CHACHA20, null, 'sha256'],
  [0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256', 'DHE-RSA-AES128-SHA256', AES_128_CBC, 'sha256', 'sha256'],
  [0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256', 'DHE-RSA-AES256-SHA256', AES_256_CBC, 'sha256', 'sha256'],
  [0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA', 'DHE-RSA-AES128-SHA', AES_128_CBC, 'sha1', 'sha256'],
  [0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA', 'DHE-RSA-AES256-SHA', AES_256_CBC, 'sha1', 'sha256'],
  [0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256', 'AES128-GCM-SHA256', AES_128_GCM, null, 'sha256'],
  [0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384', 'AES256-GCM-SHA384', AES_256_GCM, null, 'sha384'],
  [0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256', 'AES128-SHA256', AES_128_CBC, 'sha256', 'sha256'],
  [0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256', 'AES256-SHA256', AES_256_CBC, 'sha256', 'sha256'],
  [0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA', AES_128_CBC, 'sha1', 'sha256'],
  [0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA', 'AES256-SHA', AES_256_CBC, 'sha1', 'sha256'],
  [0xc012, 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA', 'ECDHE-RSA-DES-CBC3-SHA', DES_EDE3_CBC, 'sha1', 'sha256'],
  [0x0016, 'TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA', 'DHE-RSA-DES-CBC3-SHA', DES_EDE3_CBC, 'sha1', 'sha256'],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'DES-CBC3-SHA', DES_EDE3_CBC, 'sha1', 'sha256'],
];

function toInfo([id, name, opensslName, bulk, mac, prfHash]: Row): CipherSuiteInfo {
  const kx = name.startsWith('TLS_ECDHE_') ? 'ECDHE' : name.startsWith('TLS_DHE_') ? 'DHE' : 'RSA';
  const auth = name.includes('_ECDSA_') ? 'ECDSA' : 'RSA';
  // RFC 5246 §1.2 (and RFC 5288, 5289, 7905): AEAD and SHA-256/384 MAC suites are TLS 1.2 only.
  const tls12Only = bulk.kind === 'aead' || mac !== 'sha1';
  const minVersion = tls12Only ? TLS12 : TLS10;
  return { id, name, opensslName, kx, auth, bulk, mac, prfHash, minVersion, maxVersion: TLS12 };
}

const KNOWN: readonly CipherSuiteInfo[] = ROWS.map(toInfo);

/** Node builds on OpenSSL 3 may leave 3DES out (or to the legacy provider). */
const available = new Set(getCiphers());

/** Every suite the engine can run in this process, in preference order. */
export const ALL_SUITES: readonly CipherSuiteInfo[] = KNOWN.filter((s) => available.has(s.bulk.nodeName));

/**
 * What a client offers unless told otherwise. 3DES stays out: 64-bit blocks make
 * long connections collide (Sweet32, CVE-2016-2183); it runs only when asked for.
 */
export const DEFAULT_CLIENT_SUITES: readonly CipherSuiteInfo[] = ALL_SUITES.filter(
  (s) => s.bulk.nodeName !== 'des-ede3-cbc',
);

const byId = new Map(ALL_SUITES.map((s) => [s.id, s]));
const byName = new Map(ALL_SUITES.flatMap((s) => [[s.name, s] as const, [s.opensslName, s] as const]));
const knownNames = new Map(KNOWN.map((s) => [s.id, s.name]));

/** A suite we can run, or undefined (unknown, or its cipher is missing from this Node build). */
export function suiteById(id: number): CipherSuiteInfo | undefined {
  return byId.get(id);
}

/** Accepts the IANA name or the OpenSSL name, case-sensitively as both registries spell them. */
export function suiteByName(name: string): CipherSuiteInfo | undefined {
  return byName.get(name);
}

/** The IANA name of any suite in the table, runnable here or not; `unknown(0x....)` otherwise. */
export function suiteName(id: number): string {
  return knownNames.get(id) ?? `unknown(0x${id.toString(16).padStart(4, '0')})`;
}

/** Whether a suite may be negotiated at a protocol version. */
export function suiteAllowsVersion(suite: CipherSuiteInfo, version: number): boolean {
  return version >= suite.minVersion && version <= suite.maxVersion;
}
