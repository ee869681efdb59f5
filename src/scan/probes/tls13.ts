/**
 * TLS 1.3 detection (after STARTTLS when asked): renegotiation does not exist
 * there (RFC 8446 §4.1.2 leaves no place for it), so a server that speaks only
 * TLS 1.3 is answered "nothing to renegotiate" rather than "could not scan".
 * Needs no other probe.
 *
 * The question is which version the server picks for a TLS 1.3-only
 * ClientHello, and its ServerHello answers it (RFC 8446 §4.1.3:
 * supported_versions carries the version chosen, in a HelloRetryRequest as
 * well), so the hello goes out as raw bytes and nothing after the ServerHello is
 * read, and a close_notify follows the hello at once. The hello is the one
 * node:tls (OpenSSL 3) sends with minVersion and maxVersion TLSv1.3, the
 * same suites, groups, signature schemes and key share, so a server chooses as
 * it would for that client; a full handshake through
 * node:tls cost about four times the CPU for the same answer.
 */
import * as crypto from 'node:crypto';
import { ecdheKeyShare } from '../../crypto/key-exchange.ts';
import { Writer } from '../../wire/codec.ts';
import {
  ContentType,
  ExtensionType,
  HandshakeType,
  NamedGroup,
  ProtocolVersion,
  SignatureScheme,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
  alertLevelName,
  alertName,
} from '../../wire/enums.ts';
import { TlsError } from '../../wire/errors.ts';
import * as ext from '../../wire/extensions.ts';
import { decodeHandshake, encodeHandshake, isUnknown, type ClientHello } from '../../wire/handshake.ts';
import { Deframer, HandshakeJoiner, encodeRecord } from '../../wire/record.ts';
import { closeNotify } from '../probe-session.ts';
import { openTransport } from '../transport.ts';
import type { Tri } from '../types.ts';
import type { ProbeContext } from './context.ts';
import type { Probe } from './probe.ts';

export interface Tls13Probe {
  value: Tri;
  note: string;
}

declare module './probe.ts' {
  interface ProbeOutputs {
    tls13: Tls13Probe;
  }
}

const TLS13 = ProtocolVersion['TLSv1.3'];

/** RFC 8446 §B.4, in OpenSSL's order (servers that follow the client's preference pick the first they share). */
const TLS13_SUITES: readonly { id: number; name: string }[] = [
  { id: 0x1302, name: 'TLS_AES_256_GCM_SHA384' },
  { id: 0x1303, name: 'TLS_CHACHA20_POLY1305_SHA256' },
  { id: 0x1301, name: 'TLS_AES_128_GCM_SHA256' },
];

/** OpenSSL 3's default groups (RFC 8446 §4.2.7), x25519 first and the only key share. */
const GROUPS = [
  NamedGroup.x25519,
  NamedGroup.secp256r1,
  NamedGroup.x448,
  NamedGroup.secp521r1,
  NamedGroup.secp384r1,
  NamedGroup.ffdhe2048,
  NamedGroup.ffdhe3072,
  0x0102, // ffdhe4096
  0x0103, // ffdhe6144
  0x0104, // ffdhe8192
];

/** OpenSSL 3's default signature_algorithms (RFC 8446 §4.2.3). */
const SCHEMES = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
  SignatureScheme.ecdsa_secp521r1_sha512,
  SignatureScheme.ed25519,
  0x0808, // ed448
  SignatureScheme.rsa_pss_pss_sha256,
  SignatureScheme.rsa_pss_pss_sha384,
  SignatureScheme.rsa_pss_pss_sha512,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
];

/** RFC 8446 §4.1.3: the random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
const HELLO_RETRY_REQUEST_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c',
  'hex',
);

/** A ServerHello, or a HelloRetryRequest, is one message of a few hundred bytes. */
const MAX_SERVER_HELLO = 1 << 14;

function extension(type: number, body: (w: Writer) => void): ext.Extension {
  const w = new Writer(64);
  body(w);
  return { type, data: w.finish() };
}

/** A TLS 1.3-only ClientHello (RFC 8446 §4.1.2), as node:tls builds it, in one plaintext record. */
export function tls13Hello(serverName: string | undefined): Uint8Array {
  const share = ecdheKeyShare(NamedGroup.x25519).publicKey;
  const extensions: ext.Extension[] = [];
  const sni = ext.serverNameFor(serverName);
  if (sni) extensions.push(sni);
  extensions.push(
    ext.ecPointFormats([0, 1, 2]),
    ext.supportedGroups(GROUPS),
    ext.sessionTicket(),
    { type: ExtensionType.encrypt_then_mac, data: new Uint8Array(0) },
    ext.extendedMasterSecret(),
    ext.signatureAlgorithms(SCHEMES),
    // RFC 8446 §4.2.1: ProtocolVersion versions<2..254>
    extension(ExtensionType.supported_versions, (w) => w.prefixed(1, (l) => l.u16(TLS13))),
    // RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>, psk_dhe_ke (1)
    extension(ExtensionType.psk_key_exchange_modes, (w) => w.vec8(Uint8Array.of(1))),
    // RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>
    extension(ExtensionType.key_share, (w) => w.prefixed(2, (l) => l.u16(NamedGroup.x25519).vec16(share))),
  );
  const hello: ClientHello = {
    type: HandshakeType.client_hello,
    version: ProtocolVersion['TLSv1.2'],
    random: new Uint8Array(crypto.randomBytes(32)),
    // RFC 8446 §D.4: a non-empty legacy_session_id, as OpenSSL sends for middlebox compatibility.
    sessionId: new Uint8Array(crypto.randomBytes(32)),
    cipherSuites: [...TLS13_SUITES.map((x) => x.id), TLS_EMPTY_RENEGOTIATION_INFO_SCSV],
    compressionMethods: Uint8Array.of(0),
    extensions,
  };
  return encodeRecord({
    type: ContentType.handshake,
    version: ProtocolVersion.TLSv1,
    fragment: encodeHandshake(hello),
  });
}

type Answer = { value: boolean; note: string } | undefined;

/**
 * Reads the server's first answer: a ServerHello (or HelloRetryRequest) that
 * selects TLS 1.3 is a yes, any other ServerHello or an alert a no; undefined
 * while more bytes are needed. Throws TlsError when the bytes are not TLS.
 */
export class ServerHelloReader {
  private readonly records = new Deframer();
  private readonly joiner = new HandshakeJoiner(MAX_SERVER_HELLO);

  push(bytes: Uint8Array): Answer {
    this.records.push(bytes);
    for (let r = this.records.next(); r; r = this.records.next()) {
      if (r.type === ContentType.alert && r.fragment.length >= 2) {
        const [level, description] = [r.fragment[0]!, r.fragment[1]!];
        return { value: false, note: `TLS 1.3 refused: ${alertLevelName(level)} ${alertName(description)}` };
      }
      if (r.type !== ContentType.handshake)
        throw new TlsError('UnexpectedMessage', `record of content type ${r.type} before the ServerHello`);
      this.joiner.push(r.fragment);
      const raw = this.joiner.next();
      if (raw) return this.answer(raw);
    }
    return undefined;
  }

  private answer(raw: Uint8Array): Answer {
    const m = decodeHandshake(raw, undefined);
    if (isUnknown(m) || m.type !== HandshakeType.server_hello)
      throw new TlsError('UnexpectedMessage', `handshake message ${raw[0]} instead of a ServerHello`);
    const selected = ext.findExtension(m.extensions, ExtensionType.supported_versions);
    const version = selected ? ext.parseSelectedVersion(selected.data) : m.version;
    if (version !== TLS13)
      return { value: false, note: `TLS 1.3 refused: the server chose version 0x${version.toString(16)}` };
    const suite =
      TLS13_SUITES.find((x) => x.id === m.cipherSuite)?.name ?? `unknown suite 0x${m.cipherSuite.toString(16)}`;
    const what = HELLO_RETRY_REQUEST_RANDOM.equals(m.random) ? 'HelloRetryRequest' : 'ServerHello';
    return { value: true, note: `TLS 1.3 chosen in the ${what} (${suite})` };
  }
}

/** TLS 1.3 alone: true, false, or null when the connection itself failed. */
export async function detectTls13(cx: ProbeContext): Promise<Tls13Probe> {
  const release = await cx.gate.acquire();
  try {
    const r = await askForTls13(cx, true);
    // Ended without a word: a server that reads all it was sent before it writes may have seen the
    // close_notify first (context.ts openFlight); the hello alone, once more, is its answer.
    return r.endedSilently ? await askForTls13(cx, false) : r;
  } finally {
    release();
  }
}

async function askForTls13(cx: ProbeContext, closeBehind: boolean): Promise<Tls13Probe & { endedSilently?: true }> {
  let socket;
  try {
    socket = await openTransport(cx.target, cx.address, cx.opts);
  } catch (e) {
    return { value: null, note: `TLS 1.3: ${(e as Error).message}` };
  }
  const s = socket;
  return new Promise((resolve) => {
    const reader = new ServerHelloReader();
    let settled = false;
    let heard = false;
    const done = (value: Tri, note: string, ended = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.removeAllListeners('data');
      s.destroy();
      resolve({ value, note, ...(ended && !heard && closeBehind ? { endedSilently: true as const } : {}) });
    };
    const timer = setTimeout(() => done(null, `TLS 1.3: no answer within ${cx.opts.timeoutMs} ms`), cx.opts.timeoutMs);
    s.on('data', (d: Buffer) => {
      heard = true;
      let answer: Answer;
      try {
        answer = reader.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      } catch (e) {
        // Not a TLS answer to a TLS 1.3-only hello (a plaintext reply, garbage): a "no".
        done(false, `TLS 1.3 refused: ${(e as Error).message}`);
        return;
      }
      if (answer) done(answer.value, answer.note);
    });
    // A close or a reset in answer to a TLS 1.3-only hello is a "no", as before anything was read.
    s.once('error', (e: NodeJS.ErrnoException) =>
      done(false, `TLS 1.3 refused: ${e.code ?? ''} ${e.message}`.trim(), true),
    );
    s.once('close', () => done(false, 'TLS 1.3 refused: the server closed the connection', true));
    // A close_notify behind the hello (RFC 8446 §6.1, legacy_record_version 0x0303 as §5.1 says):
    // nothing after the ServerHello is read, and a server that waits inside its handshake for the
    // client's next flight (gnutls-serv, one handshake at a time) is free as soon as it has answered.
    const hello = tls13Hello(cx.target.serverName);
    s.write(closeBehind ? Buffer.concat([hello, closeNotify(ProtocolVersion['TLSv1.2'])]) : hello);
  });
}

export const tls13Probe: Probe<'tls13'> = {
  id: 'tls13',
  needs: [],
  informs: ['no-renegotiation'],
  run: (r) => detectTls13(r.cx),
  contribute(e, out) {
    e.versions['TLSv1.3'] = out.value;
    e.baseline?.evidence.push(out.note);
  },
  // TCP, then a ClientHello answered by a ServerHello or an alert.
  roundTrips: (out) => (out.value === null ? 1 : 2),
};
