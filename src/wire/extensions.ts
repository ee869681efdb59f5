/**
 * Hello extensions (RFC 5246 §7.4.1.4), kept as an ordered list of raw entries so
 * unknown and duplicate extensions survive decoding (tlslite-ng style) and tools
 * can build deliberately malformed hellos. Typed builders and parsers sit on top.
 *
 * "Absent", "empty" and "value" are three states: `find` returns undefined when
 * an extension is absent, and RFC 5746 gives an empty renegotiation_info its own
 * meaning (initial handshake) distinct from absence (legacy peer).
 */
import { Reader, Writer } from './codec.ts';
import { ECPointFormat, ExtensionType, extensionName } from './enums.ts';
import { TlsError } from './errors.ts';

export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Extension extensions<0..2^16-1>; the caller decides what duplicates mean. */
export function decodeExtensions(r: Reader): Extension[] {
  const list = r.sub16('extensions');
  const out: Extension[] = [];
  while (list.remaining > 0) {
    const type = list.u16('extension_type');
    const data = list.vec16(extensionName(type));
    out.push({ type, data });
  }
  return out;
}

export function encodeExtensions(w: Writer, exts: readonly Extension[]): void {
  w.prefixed(
    2,
    (inner) => {
      for (const e of exts) inner.u16(e.type).vec16(e.data, extensionName(e.type));
    },
    'extensions',
  );
}

export function findExtension(exts: readonly Extension[] | null, type: number): Extension | undefined {
  return exts?.find((e) => e.type === type);
}

/** RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same type." */
export function rejectDuplicates(exts: readonly Extension[] | null): void {
  if (!exts) return;
  const seen = new Set<number>();
  for (const e of exts) {
    if (seen.has(e.type)) throw new TlsError('IllegalParameter', `duplicate extension ${extensionName(e.type)}`);
    seen.add(e.type);
  }
}

function build(type: number, body: (w: Writer) => void): Extension {
  const w = new Writer(64);
  body(w);
  return { type, data: w.finish() };
}

function parseWhole<T>(data: Uint8Array, what: string, body: (r: Reader) => T): T {
  const r = new Reader(data);
  const v = body(r);
  r.expectEnd(what);
  return v;
}

// --- server_name (RFC 6066 §3) ---------------------------------------------

/** struct { NameType name_type; HostName host_name; } ServerName; ServerName server_name_list<1..2^16-1> */
export function serverName(host: string): Extension {
  return build(ExtensionType.server_name, (w) =>
    w.prefixed(2, (l) => l.u8(0).vec16(new TextEncoder().encode(host), 'host_name')),
  );
}

/**
 * The server_name a client sends for `host`: none for an IP address, since "Literal IPv4 and IPv6
 * addresses are not permitted in HostName" (RFC 6066 §3). Only an IPv6 literal has a colon, and
 * four numeric labels are a dotted quad (no top-level domain is all digits, RFC 3696 §2). Not
 * node:net's isIP: its IPv6 expression takes about 4 ms to compile on first use, which lay in
 * the path of a scan's first ClientHello.
 */
export function serverNameFor(host: string | undefined): Extension | undefined {
  if (!host || host.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(host)) return undefined;
  return serverName(host);
}

/** Returns the host_name, or '' for the empty extension a server echoes (RFC 6066 §3). */
export function parseServerName(data: Uint8Array): string {
  if (data.length === 0) return '';
  return parseWhole(data, 'server_name', (r) => {
    const list = r.sub16();
    let host = '';
    while (list.remaining > 0) {
      const type = list.u8();
      const name = list.vec16(undefined, 1);
      if (type === 0 && host === '') host = new TextDecoder().decode(name);
    }
    return host;
  });
}

// --- supported_groups (RFC 8422 §5.1.1) and ec_point_formats (§5.1.2) ----

export function supportedGroups(groups: readonly number[]): Extension {
  return build(ExtensionType.supported_groups, (w) => w.prefixed(2, (l) => groups.forEach((g) => l.u16(g))));
}

export function parseU16List(data: Uint8Array, what: string): number[] {
  return parseWhole(data, what, (r) => {
    const list = r.sub16();
    if (list.remaining % 2 !== 0) throw new TlsError('DecodeError', `odd length ${what}`);
    const out: number[] = [];
    while (list.remaining > 0) out.push(list.u16());
    return out;
  });
}

export function ecPointFormats(formats: readonly number[] = [ECPointFormat.uncompressed]): Extension {
  return build(ExtensionType.ec_point_formats, (w) => w.vec8(Uint8Array.from(formats)));
}

// --- signature_algorithms (RFC 5246 §7.4.1.4.1) ------------------------------

export function signatureAlgorithms(schemes: readonly number[]): Extension {
  return build(ExtensionType.signature_algorithms, (w) => w.prefixed(2, (l) => schemes.forEach((s) => l.u16(s))));
}

// --- renegotiation_info (RFC 5746 §3.2) -------------------------------------

/** struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo; */
export function renegotiationInfo(renegotiatedConnection: Uint8Array): Extension {
  return build(ExtensionType.renegotiation_info, (w) => w.vec8(renegotiatedConnection, 'renegotiated_connection'));
}

export function parseRenegotiationInfo(data: Uint8Array): Uint8Array {
  return parseWhole(data, 'renegotiation_info', (r) => r.vec8('renegotiated_connection'));
}

// --- extended_master_secret (RFC 7627 §5.1) and session_ticket (RFC 5077 §3.2)

/** The extension_data field of this extension SHALL be empty. */
export function extendedMasterSecret(): Extension {
  return { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) };
}

/**
 * Whether a hello carries extended_master_secret. RFC 7627 §5.1: "The extension_data
 * field of this extension SHALL be empty", so a body is a malformed extension:
 * decode_error, as OpenSSL and tlsfuzzer's test-extended-master-secret-extension expect.
 */
export function hasExtendedMasterSecret(extensions: readonly Extension[] | null): boolean {
  const e = findExtension(extensions, ExtensionType.extended_master_secret);
  if (e && e.data.length !== 0) throw new TlsError('DecodeError', 'extended_master_secret with a non-empty body');
  return e !== undefined;
}

export function sessionTicket(ticket: Uint8Array = new Uint8Array(0)): Extension {
  return { type: ExtensionType.session_ticket, data: ticket };
}

// --- ALPN (RFC 7301 §3.1) ----------------------------------------------------

/** opaque ProtocolName<1..2^8-1>; ProtocolName protocol_name_list<2..2^16-1> */
export function alpn(protocols: readonly string[]): Extension {
  return build(ExtensionType.application_layer_protocol_negotiation, (w) =>
    w.prefixed(2, (l) => protocols.forEach((p) => l.vec8(new TextEncoder().encode(p)))),
  );
}

export function parseAlpn(data: Uint8Array): string[] {
  return parseWhole(data, 'ALPN', (r) => {
    const list = r.sub16();
    if (list.remaining < 2) throw new TlsError('DecodeError', 'empty ALPN protocol list');
    const out: string[] = [];
    while (list.remaining > 0) out.push(new TextDecoder().decode(list.vec8(undefined, 1)));
    return out;
  });
}

// --- supported_versions (RFC 8446 §4.2.1), read only to recognise TLS 1.3 ---

/** In a ServerHello: ProtocolVersion selected_version. */
export function parseSelectedVersion(data: Uint8Array): number {
  return parseWhole(data, 'supported_versions', (r) => r.u16());
}
