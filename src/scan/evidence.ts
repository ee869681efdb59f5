/**
 * Evidence text: one line per handshake message with the fields the scanner's
 * verdicts rest on (renegotiation_info bytes, the SCSV, EMS, CertificateRequest
 * CA names), and a small reader for the DistinguishedNames of a CertificateRequest.
 */
import { suiteName } from '../crypto/suites.ts';
import {
  ExtensionType,
  HandshakeType,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
  handshakeTypeName,
  versionName,
} from '../wire/enums.ts';
import { findExtension, type Extension } from '../wire/extensions.ts';
import { isUnknown, type HandshakeMessage, type UnknownHandshake } from '../wire/handshake.ts';

export function hex(bytes: Uint8Array, max = 48): string {
  const shown = [...bytes.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} … (${bytes.length} bytes)` : shown;
}

/** renegotiation_info as sent on the wire (type, length, body) with a note on what it says. */
export function riEvidence(exts: readonly Extension[] | null, scsv: boolean): string {
  const e = findExtension(exts, ExtensionType.renegotiation_info);
  const parts: string[] = [];
  if (e) {
    const body = e.data;
    const inner = body.length > 0 ? body[0]! : 0;
    const what = inner === 0 ? 'renegotiated_connection empty' : `renegotiated_connection ${inner} bytes`;
    const wire = Uint8Array.of(0xff, 0x01, body.length >> 8, body.length & 0xff, ...body);
    parts.push(`renegotiation_info [${hex(wire, 40)}] (${what})`);
  }
  if (scsv) parts.push('TLS_EMPTY_RENEGOTIATION_INFO_SCSV [00 ff]');
  return parts.length > 0 ? parts.join(' + ') : 'no renegotiation_info, no SCSV';
}

export function describeHandshake(m: HandshakeMessage | UnknownHandshake): string {
  if (isUnknown(m)) return `${handshakeTypeName(m.type)} (${m.body.length} bytes)`;
  switch (m.type) {
    case HandshakeType.client_hello:
      return `ClientHello ${versionName(m.version)}, ${m.cipherSuites.length} suites, ${riEvidence(m.extensions, m.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV))}`;
    case HandshakeType.server_hello: {
      const ems = findExtension(m.extensions, ExtensionType.extended_master_secret) ? ', extended_master_secret' : '';
      return `ServerHello ${versionName(m.version)} ${suiteName(m.cipherSuite)}, ${riEvidence(m.extensions, false)}${ems}`;
    }
    case HandshakeType.certificate:
      return `Certificate (${m.certificates.length} certificates, ${m.certificates.reduce((n, c) => n + c.length, 0)} bytes)`;
    case HandshakeType.certificate_request:
      return `CertificateRequest, CA names: ${m.certificateAuthorities.length === 0 ? 'none' : m.certificateAuthorities.map(distinguishedName).join('; ')}`;
    case HandshakeType.hello_request:
      return 'HelloRequest';
    default:
      return handshakeTypeName(m.type);
  }
}

const OID_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.25': 'DC',
};

interface Tlv {
  tag: number;
  body: Uint8Array;
  next: number;
}

function readTlv(b: Uint8Array, at: number): Tlv | undefined {
  if (at + 2 > b.length) return undefined;
  const tag = b[at]!;
  let len = b[at + 1]!;
  let off = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || off + n > b.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off + i]!;
    off += n;
  }
  if (off + len > b.length) return undefined;
  return { tag, body: b.subarray(off, off + len), next: off + len };
}

function oidText(b: Uint8Array): string {
  if (b.length === 0) return '';
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const byte of b.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** RFC 4514-style text of a DER Name (RDNSequence), most significant first as in a certificate; hex if it does not parse. */
export function distinguishedName(der: Uint8Array): string {
  const seq = readTlv(der, 0);
  if (!seq || seq.tag !== 0x30) return `unparsed ${hex(der, 16)}`;
  const out: string[] = [];
  for (let at = 0; at < seq.body.length;) {
    const set = readTlv(seq.body, at);
    if (!set) return `unparsed ${hex(der, 16)}`;
    at = set.next;
    const atv = readTlv(set.body, 0);
    const oid = atv ? readTlv(atv.body, 0) : undefined;
    const value = atv && oid ? readTlv(atv.body, oid.next) : undefined;
    if (!oid || !value) continue;
    const key = OID_NAMES[oidText(oid.body)] ?? oidText(oid.body);
    out.push(`${key}=${new TextDecoder().decode(value.body)}`);
  }
  return out.join(', ');
}
