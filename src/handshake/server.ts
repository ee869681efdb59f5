/**
 * The server handshake of TLS 1.0–1.2 (RFC 5246 §7.3), one state per awaited
 * message. Every RFC 5746 rule the server applies to a ClientHello lives in
 * `checkClientRenegotiationInfo`; whether a renegotiation may start at all is
 * the connection's policy (connection/server-connection.ts).
 */
import * as crypto from 'node:crypto';
import {
  dheServerShare,
  ecdheKeyShare,
  encodeDheParams,
  encodeEcdheParams,
  encodeServerKeyExchange,
  parseClientKeyExchange,
  rsaDecryptPremaster,
  type KeyShare,
} from '../crypto/key-exchange.ts';
import { extendedMasterSecret, masterSecret, Transcript } from '../crypto/prf.ts';
import type { RecordProtector } from '../crypto/record-protection.ts';
import { chooseScheme, sign, verifySignature } from '../crypto/signatures.ts';
import { suiteAllowsVersion, suiteById, type CipherSuiteInfo } from '../crypto/suites.ts';
import { verifyChain } from '../pki/verify.ts';
import { concat } from '../wire/codec.ts';
import {
  ClientCertificateType,
  ExtensionType,
  HandshakeType,
  NamedGroup,
  ProtocolVersion,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
  TLS_FALLBACK_SCSV,
} from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import * as ext from '../wire/extensions.ts';
import type { ClientHello, HandshakeMessage } from '../wire/handshake.ts';
import type { HandshakeContext, HandshakeInput, HandshakeMachine } from './context.ts';
import { expectCcs, expectMessage, randomWithTime, sendFinished, sendMessage } from './common.ts';
import { VerifiedFinished } from './proofs.ts';
import { constantTimeEqual, deriveProtectors } from './keys.ts';
import type { ServerCertificate, ServerConfig } from './server-config.ts';
import type { ServerSession, SessionStore } from './server-sessions.ts';

const TLS12 = ProtocolVersion['TLSv1.2'];

interface HandshakeState {
  readonly name: string;
  readonly expects?: readonly number[];
  readonly isTraffic?: boolean;
  handle(cx: HandshakeContext, input: HandshakeInput): HandshakeState;
}

class Traffic implements HandshakeState {
  readonly name = 'Traffic';
  readonly isTraffic = true;
  handle(): HandshakeState {
    throw new TlsError('InternalError', 'a handshake message reached the machine in Traffic');
  }
}

export class ServerHandshake implements HandshakeMachine {
  private state: HandshakeState;
  constructor(
    private readonly config: ServerConfig,
    private readonly sessions: SessionStore | undefined,
  ) {
    this.state = new ExpectClientHello(config, {
      requestClientCertificate: config.clientCertificate === 'initial',
      sessions,
    });
  }
  get stateName(): string {
    return this.state.name;
  }
  get inTraffic(): boolean {
    return this.state.isTraffic ?? false;
  }
  get awaitingFinished(): boolean {
    return this.state.name === 'ExpectFinished';
  }
  get expects(): readonly number[] | undefined {
    return this.state.expects;
  }
  handle(cx: HandshakeContext, input: HandshakeInput): void {
    this.state = this.state.handle(cx, input);
  }
  renegotiate(cx: HandshakeContext, requestClientCertificate: boolean, input: HandshakeInput): void {
    this.state = new ExpectClientHello(this.config, { requestClientCertificate, sessions: this.sessions });
    this.handle(cx, input);
  }
}

export interface ServerHandshakeOptions {
  /** Ask for a client certificate in this handshake. */
  requestClientCertificate: boolean;
  sessions: SessionStore | undefined;
}

interface Handshake {
  readonly transcript: Transcript;
  readonly hello: ClientHello;
  readonly renegotiation: boolean;
  readonly serverRandom: Uint8Array;
  readonly sessions: SessionStore | undefined;
  version: number;
  suite: CipherSuiteInfo;
  cert: ServerCertificate;
  ems: boolean;
  secureRenegotiation: boolean;
  sessionId: Uint8Array;
  issueTicket: boolean;
  alpn: string | undefined;
  serverName: string | undefined;
  share: KeyShare | undefined;
  requestedCertificate: boolean;
  certificateAuthorities: readonly Uint8Array[];
  clientCertificates: readonly Uint8Array[];
  /** The public key of the client's verified leaf, for its CertificateVerify. */
  clientKey: crypto.KeyObject | undefined;
  clientVerified: boolean;
  masterSecret: Uint8Array;
  resumed: boolean;
}

/** The first state of a server handshake: the ClientHello arrives (or has just arrived, for a renegotiation). */
class ExpectClientHello implements HandshakeState {
  readonly name = 'ExpectClientHello';
  readonly expects = [HandshakeType.client_hello] as const;
  constructor(
    private readonly config: ServerConfig,
    private readonly opts: ServerHandshakeOptions,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): HandshakeState {
    const { msg, raw } = expectMessage(input, HandshakeType.client_hello, this.name);
    return processClientHello(cx, this.config, this.opts, msg, raw);
  }
}

function processClientHello(
  cx: HandshakeContext,
  config: ServerConfig,
  opts: ServerHandshakeOptions,
  hello: ClientHello,
  raw: Uint8Array,
): HandshakeState {
  const renegotiation = cx.security.handshakes > 0;
  const transcript = new Transcript();
  transcript.append(raw);
  ext.rejectDuplicates(hello.extensions);
  if (!hello.compressionMethods.includes(0)) {
    throw new TlsError('IllegalParameter', 'client does not offer the null compression method');
  }
  const version = chooseVersion(cx, config, hello);
  cx.setVersion(version);
  const secureRenegotiation = checkClientRenegotiationInfo(cx, config, hello);
  const serverName = sniOf(hello);
  const cert = chooseCertificate(config, serverName);
  const offersEms = ext.hasExtendedMasterSecret(hello.extensions);
  const hs: Handshake = {
    transcript,
    hello,
    renegotiation,
    serverRandom: randomWithTime(),
    sessions: opts.sessions,
    version,
    suite: undefined as unknown as CipherSuiteInfo,
    cert,
    ems: config.extendedMasterSecret && offersEms,
    secureRenegotiation,
    sessionId: new Uint8Array(0),
    issueTicket: false,
    alpn: chooseAlpn(config, hello),
    serverName,
    share: undefined,
    requestedCertificate: false,
    certificateAuthorities: [],
    clientCertificates: [],
    clientKey: undefined,
    clientVerified: false,
    masterSecret: new Uint8Array(0),
    resumed: false,
  };
  // RFC 7627 §5.3 (and OpenSSL): a renegotiation must not drop EMS once it was used.
  if (renegotiation && cx.security.extendedMasterSecret && !hs.ems) {
    throw new TlsError('ExtendedMasterSecretDropped', 'renegotiation ClientHello dropped extended_master_secret');
  }
  const offeredTicket = ext.findExtension(hello.extensions, ExtensionType.session_ticket);
  const session = opts.sessions
    ? renegotiation
      ? findRenegotiationSession(cx, config, opts, hello)
      : findSession(config, opts.sessions, hello, offeredTicket?.data)
    : undefined;
  // RFC 7627 §5.3: "If the original session used the extension but the new ClientHello does not
  // contain it, the server MUST abort the abbreviated handshake" — a client that drops EMS while
  // offering an EMS session is either broken or someone replaying it against a weaker handshake.
  if (session?.extendedMasterSecret && !offersEms) {
    throw new TlsError('ExtendedMasterSecretDropped', 'resumption of an EMS session without extended_master_secret');
  }
  // RFC 5246 §7.4.1.2: a resuming ClientHello "MUST include at least the cipher_suite from that
  // session". One that does not breaks the protocol: abort with illegal_parameter, as OpenSSL does
  // (REQUIRED_CIPHER_MISSING) and tlsfuzzer's test-resumption-with-wrong-ciphers expects.
  if (session && !hello.cipherSuites.includes(session.cipherSuite)) {
    throw new TlsError('IllegalParameter', "a resuming ClientHello without the session's cipher suite");
  }
  if (session && sessionFits(config, hs, session)) return resume(cx, config, hs, session, offeredTicket !== undefined);

  hs.suite = chooseSuite(config, hs, hello);
  // Renegotiations issue a ticket too, as OpenSSL does: GnuTLS clients keep expecting one once the
  // first handshake had one (RFC 5077 §3.2 lets the server issue one in any full handshake).
  hs.issueTicket = config.sessionTickets && offeredTicket !== undefined && hs.sessions !== undefined;
  hs.sessionId =
    config.sessionCache && hs.sessions && !renegotiation ? new Uint8Array(crypto.randomBytes(32)) : new Uint8Array(0);
  sendMsg(cx, hs, serverHello(cx, hs));
  sendMsg(cx, hs, { type: HandshakeType.certificate, certificates: cert.chain });
  if (hs.suite.kx !== 'RSA') sendMsg(cx, hs, serverKeyExchange(config, hs));
  if (opts.requestClientCertificate) {
    hs.requestedCertificate = true;
    // RFC 5246 §7.4.4: the DER-encoded DistinguishedNames of acceptable CAs.
    hs.certificateAuthorities = (config.clientTrust?.roots ?? []).map((c) =>
      subjectFromCertificateDer(new Uint8Array(c.raw)),
    );
    sendMsg(cx, hs, {
      type: HandshakeType.certificate_request,
      certificateTypes: [ClientCertificateType.rsa_sign, ClientCertificateType.ecdsa_sign],
      signatureAlgorithms: version >= TLS12 ? config.signatureSchemes : null,
      certificateAuthorities: hs.certificateAuthorities,
    });
  }
  sendMsg(cx, hs, { type: HandshakeType.server_hello_done });
  return hs.requestedCertificate ? new ExpectCertificate(config, hs) : new ExpectClientKeyExchange(config, hs);
}

/** RFC 5246 Appendix E.1: the highest version both support; a renegotiation keeps the one in force. */
function chooseVersion(cx: HandshakeContext, config: ServerConfig, hello: ClientHello): number {
  if (cx.security.version !== undefined) {
    if (hello.version < cx.security.version)
      throw new TlsError('ProtocolVersion', 'renegotiation offers a lower version');
    return cx.security.version;
  }
  const v = Math.min(hello.version, config.maxVersion);
  if (v < config.minVersion || hello.version < ProtocolVersion.TLSv1) {
    throw new TlsError('ProtocolVersion', `client offers at most 0x${hello.version.toString(16)}`);
  }
  // RFC 7507 §3: a client that signals a fallback while we support a higher version than it offers
  // was pushed down by someone in the path; refuse rather than serve the downgrade.
  if (hello.cipherSuites.includes(TLS_FALLBACK_SCSV) && hello.version < config.maxVersion) {
    throw new TlsError(
      'InappropriateFallback',
      `TLS_FALLBACK_SCSV with 0x${hello.version.toString(16)} below our highest`,
    );
  }
  return v;
}

/**
 * RFC 5746 §3.6 (initial ClientHello) and §3.7 (renegotiation), server side.
 * Refusing a renegotiation ClientHello that does not carry our previous
 * client_verify_data is what stops CVE-2009-3555's splice.
 */
function checkClientRenegotiationInfo(cx: HandshakeContext, config: ServerConfig, hello: ClientHello): boolean {
  const policy = config.renegotiation;
  const riExt = ext.findExtension(hello.extensions, ExtensionType.renegotiation_info);
  const ri = riExt ? ext.parseRenegotiationInfo(riExt.data) : undefined;
  const scsv = hello.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV);
  if (!policy.rfc5746) return false; // DANGER: a 2009 server ignores both signals.
  if (cx.security.handshakes === 0) {
    if (ri !== undefined && ri.length !== 0) {
      throw new TlsError('RenegotiationInfoMismatch', 'initial ClientHello carries a non-empty renegotiation_info');
    }
    const secure = ri !== undefined || scsv;
    if (!secure && policy.requireSecureClients) {
      throw new TlsError('UnsafeLegacyClientRefused', 'client does not support RFC 5746 secure renegotiation');
    }
    return secure;
  }
  if (!cx.security.secureRenegotiation) {
    // §4.4: a legacy connection renegotiates only when unsafe renegotiation is allowed, and stays legacy.
    if (ri !== undefined || scsv) {
      throw new TlsError('RenegotiationInfoMismatch', 'legacy client started signalling RFC 5746 mid-connection');
    }
    return false;
  }
  if (scsv)
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiation ClientHello carries the SCSV (RFC 5746 §3.7)');
  if (ri === undefined)
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiation ClientHello lacks renegotiation_info');
  if (!constantTimeEqual(ri, cx.security.clientVerifyData)) {
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiated_connection does not match client_verify_data');
  }
  return true;
}

function sniOf(hello: ClientHello): string | undefined {
  const e = ext.findExtension(hello.extensions, ExtensionType.server_name);
  if (!e) return undefined;
  const name = ext.parseServerName(e.data);
  return name === '' ? undefined : name.toLowerCase();
}

function chooseCertificate(config: ServerConfig, serverName: string | undefined): ServerCertificate {
  if (serverName) {
    const hit = config.certificates.find((c) => c.names.some((n) => nameMatches(n, serverName)));
    if (hit) return hit;
  }
  return config.certificates[0]!;
}

function nameMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('*.')) return name.endsWith(p.slice(1)) && !name.slice(0, -p.length + 1).includes('.');
  return p === name;
}

function chooseAlpn(config: ServerConfig, hello: ClientHello): string | undefined {
  const e = ext.findExtension(hello.extensions, ExtensionType.application_layer_protocol_negotiation);
  if (!e || !config.alpn) return undefined;
  const offered = ext.parseAlpn(e.data);
  const chosen = config.alpn.find((p) => offered.includes(p));
  // RFC 7301 §3.2: no protocol in common is a fatal no_application_protocol.
  if (!chosen) throw new TlsError('NoApplicationProtocol', 'no ALPN protocol in common');
  return chosen;
}

function clientGroups(hello: ClientHello): readonly number[] {
  const e = ext.findExtension(hello.extensions, ExtensionType.supported_groups);
  // RFC 8422 §4: without the extension, any curve we support; P-256 is what every client has.
  return e ? ext.parseU16List(e.data, 'supported_groups') : [NamedGroup.secp256r1];
}

function clientSchemes(hello: ClientHello): readonly number[] | null {
  const e = ext.findExtension(hello.extensions, ExtensionType.signature_algorithms);
  return e ? ext.parseU16List(e.data, 'signature_algorithms') : null;
}

/** Server preference order; the suite must fit the version, our key and a group the client has. */
function chooseSuite(config: ServerConfig, hs: Handshake, hello: ClientHello): CipherSuiteInfo {
  const groups = clientGroups(hello);
  const haveGroup = config.groups.some((g) => groups.includes(g));
  for (const suite of config.cipherSuites) {
    if (!hello.cipherSuites.includes(suite.id) || !suiteAllowsVersion(suite, hs.version)) continue;
    if ((suite.auth === 'RSA') !== (hs.cert.keyType === 'rsa')) continue;
    if (suite.kx === 'ECDHE' && !haveGroup) continue;
    return suite;
  }
  throw new TlsError('HandshakeFailure', 'no cipher suite in common');
}

function serverHello(cx: HandshakeContext, hs: Handshake): HandshakeMessage {
  const extensions: ext.Extension[] = [];
  const hello = hs.hello;
  // RFC 5746 §3.6/§3.7: empty at first, then client_verify_data || server_verify_data.
  if (hs.secureRenegotiation) {
    const sec = cx.security;
    extensions.push(
      ext.renegotiationInfo(hs.renegotiation ? concat(sec.clientVerifyData, sec.serverVerifyData) : new Uint8Array(0)),
    );
  }
  if (hs.ems) extensions.push(ext.extendedMasterSecret());
  if (hs.serverName && !hs.renegotiation && !hs.resumed)
    extensions.push({ type: ExtensionType.server_name, data: new Uint8Array(0) });
  if (hs.suite.kx === 'ECDHE' && ext.findExtension(hello.extensions, ExtensionType.ec_point_formats))
    extensions.push(ext.ecPointFormats());
  if (hs.issueTicket) extensions.push(ext.sessionTicket());
  if (hs.alpn) extensions.push(ext.alpn([hs.alpn]));
  return {
    type: HandshakeType.server_hello,
    version: hs.version,
    random: hs.serverRandom,
    sessionId: hs.sessionId,
    cipherSuite: hs.suite.id,
    compressionMethod: 0,
    // A legacy (extension-less) client gets a ServerHello without an extensions block, except
    // that RFC 5746 §3.6 makes the server answer the SCSV with an empty renegotiation_info even
    // when the ClientHello had no extensions at all (SChannel's UseScsvForTls, tlsfuzzer's hellos).
    extensions: hello.extensions === null && extensions.length === 0 ? null : extensions,
  };
}

function serverKeyExchange(config: ServerConfig, hs: Handshake): HandshakeMessage {
  let params: Uint8Array;
  if (hs.suite.kx === 'ECDHE') {
    const groups = clientGroups(hs.hello);
    const group = config.groups.find((g) => groups.includes(g))!;
    const share = ecdheKeyShare(group);
    hs.share = share;
    params = encodeEcdheParams(group, share.publicKey);
  } else {
    const share = dheServerShare();
    hs.share = share;
    params = encodeDheParams(share.p, share.g, share.publicKey);
  }
  const scheme = chooseScheme(hs.version, hs.cert.key, clientSchemes(hs.hello));
  const signature = sign(hs.version, hs.cert.key, scheme, concat(hs.hello.random, hs.serverRandom, params));
  return { type: HandshakeType.server_key_exchange, body: encodeServerKeyExchange(params, scheme, signature) };
}

/** The DER of tbsCertificate.subject (RFC 5280 §4.1): node exposes no DER for names, so a minimal DER walk. */
function subjectFromCertificateDer(der: Uint8Array): Uint8Array {
  const tlv = (buf: Uint8Array, at: number): { start: number; end: number; body: number } => {
    let len = buf[at + 1]!;
    let body = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
      body = at + 2 + n;
    }
    return { start: at, end: body + len, body };
  };
  const certificate = tlv(der, 0);
  const tbs = tlv(der, certificate.body);
  let at = tbs.body;
  if (der[at] === 0xa0) at = tlv(der, at).end; // [0] version
  for (let field = 0; field < 4; field++) at = tlv(der, at).end; // serial, signature, issuer, validity
  const subject = tlv(der, at);
  return der.slice(subject.start, subject.end);
}

function sendMsg(cx: HandshakeContext, hs: Handshake, m: HandshakeMessage): void {
  sendMessage(cx, hs.transcript, m);
}

// --- resumption (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1) ---------------------------

function findSession(
  config: ServerConfig,
  sessions: SessionStore,
  hello: ClientHello,
  ticket: Uint8Array | undefined,
): ServerSession | undefined {
  if (config.sessionTickets && ticket && ticket.length > 0) return sessions.open(ticket);
  if (config.sessionCache && hello.sessionId.length > 0) return sessions.get(hello.sessionId);
  return undefined;
}

/**
 * RFC 5246 §7.4.1.2 lets a renegotiation ClientHello resume a session, and OpenSSL does
 * (unless SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION). We resume only the session this
 * connection already runs, on a connection secured by RFC 5746, and not when this handshake
 * asks for a client certificate the session lacks: a renegotiation never changes who the peer
 * is that way (the triple handshake, RFC 7627 §1, rests on such a change), and an IIS-style
 * request for a certificate is not answered by resuming a session without one.
 */
function findRenegotiationSession(
  cx: HandshakeContext,
  config: ServerConfig,
  opts: ServerHandshakeOptions,
  hello: ClientHello,
): ServerSession | undefined {
  const current = cx.security.sessionId;
  if (!cx.security.secureRenegotiation || !config.sessionCache || current.length === 0) return undefined;
  if (!constantTimeEqual(hello.sessionId, current)) return undefined;
  const s = opts.sessions!.get(current);
  if (s && opts.requestClientCertificate && s.clientCertificates.length === 0) return undefined;
  return s;
}

function sessionFits(config: ServerConfig, hs: Handshake, s: ServerSession): boolean {
  const suite = suiteById(s.cipherSuite);
  if (!suite || s.version !== hs.version) return false;
  if (!config.cipherSuites.some((c) => c.id === s.cipherSuite)) return false;
  // RFC 7627 §5.3: a session without EMS is not resumed by an EMS hello (full handshake instead);
  // the reverse was refused above, and an EMS session we no longer negotiate EMS for is not resumed.
  if (s.extendedMasterSecret !== hs.ems) return false;
  if (config.clientCertificate === 'initial' && config.clientCertificateRequired && s.clientCertificates.length === 0)
    return false;
  hs.suite = suite;
  return true;
}

function resume(
  cx: HandshakeContext,
  config: ServerConfig,
  hs: Handshake,
  s: ServerSession,
  viaTicket: boolean,
): HandshakeState {
  hs.resumed = true;
  hs.masterSecret = s.masterSecret;
  hs.clientCertificates = s.clientCertificates;
  hs.clientVerified = s.clientCertificates.length > 0;
  // RFC 5077 §3.4: echo the client's session ID to signal ticket resumption.
  hs.sessionId = hs.hello.sessionId;
  hs.issueTicket = viaTicket && config.sessionTickets;
  sendMsg(cx, hs, serverHello(cx, hs));
  if (hs.issueTicket) sendTicket(cx, config, hs);
  const keys = deriveProtectors(hs.suite, hs.version, hs.masterSecret, hs.hello.random, hs.serverRandom, 'server');
  cx.setPendingReader(keys.clientWrite);
  cx.security.serverVerifyData = sendFinished(cx, hs, keys.serverWrite, 'server finished');
  return new ExpectCcs(config, hs, undefined);
}

// --- the client's flight ---------------------------------------------------------

class ExpectCertificate implements HandshakeState {
  readonly name = 'ExpectCertificate';
  readonly expects = [HandshakeType.certificate] as const;
  constructor(
    private readonly config: ServerConfig,
    private readonly hs: Handshake,
  ) {}

  handle(_cx: HandshakeContext, input: HandshakeInput): HandshakeState {
    const { msg, raw } = expectMessage(input, HandshakeType.certificate, this.name);
    this.hs.transcript.append(raw);
    const chain = msg.certificates;
    if (chain.length === 0) {
      // RFC 5246 §7.4.6: an empty list; we decide whether that is acceptable.
      if (this.config.clientCertificateRequired) throw new TlsError('HandshakeFailure', 'client sent no certificate');
    } else {
      if (!this.config.clientTrust)
        throw new TlsError('InternalError', 'client certificates requested without a CA to verify them');
      this.hs.clientKey = verifyChain(chain, this.config.clientTrust, undefined)[0]!.publicKey;
      this.hs.clientCertificates = chain;
    }
    return new ExpectClientKeyExchange(this.config, this.hs);
  }
}

class ExpectClientKeyExchange implements HandshakeState {
  readonly name = 'ExpectClientKeyExchange';
  readonly expects = [HandshakeType.client_key_exchange] as const;
  constructor(
    private readonly config: ServerConfig,
    private readonly hs: Handshake,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): HandshakeState {
    const { msg, raw } = expectMessage(input, HandshakeType.client_key_exchange, this.name);
    const hs = this.hs;
    hs.transcript.append(raw);
    const body = msg.body;
    let premaster: Uint8Array;
    if (hs.suite.kx === 'RSA') {
      premaster = rsaDecryptPremaster(hs.cert.key, body, hs.hello.version);
    } else {
      premaster = hs.share!.agree(parseClientKeyExchange(body, hs.suite.kx));
    }
    const prfHash = hs.suite.prfHash;
    hs.masterSecret = hs.ems
      ? extendedMasterSecret(hs.version, prfHash, premaster, hs.transcript.hash(hs.version, prfHash))
      : masterSecret(hs.version, prfHash, premaster, hs.hello.random, hs.serverRandom);
    premaster.fill(0);
    const keys = deriveProtectors(hs.suite, hs.version, hs.masterSecret, hs.hello.random, hs.serverRandom, 'server');
    cx.setPendingReader(keys.clientWrite);
    if (hs.clientCertificates.length > 0) return new ExpectCertificateVerify(this.config, hs, keys.serverWrite);
    return new ExpectCcs(this.config, hs, keys.serverWrite);
  }
}

class ExpectCertificateVerify implements HandshakeState {
  readonly name = 'ExpectCertificateVerify';
  readonly expects = [HandshakeType.certificate_verify] as const;
  constructor(
    private readonly config: ServerConfig,
    private readonly hs: Handshake,
    private readonly writer: RecordProtector,
  ) {}

  handle(_cx: HandshakeContext, input: HandshakeInput): HandshakeState {
    const { msg, raw } = expectMessage(input, HandshakeType.certificate_verify, this.name);
    const hs = this.hs;
    // RFC 5246 §7.4.8: the signature covers every handshake message before this one.
    verifySignature(
      hs.version,
      hs.clientKey!,
      msg.scheme,
      hs.transcript.messages(),
      msg.signature,
      this.config.signatureSchemes,
    );
    hs.clientVerified = true;
    hs.transcript.append(raw);
    return new ExpectCcs(this.config, hs, this.writer);
  }
}

class ExpectCcs implements HandshakeState {
  readonly name = 'ExpectChangeCipherSpec';
  readonly expects = [] as const;
  constructor(
    private readonly config: ServerConfig,
    private readonly hs: Handshake,
    /** Set in a full handshake: we answer the client's Finished with ours. */
    private readonly writer: RecordProtector | undefined,
  ) {}

  handle(_cx: HandshakeContext, input: HandshakeInput): HandshakeState {
    expectCcs(input, this.name);
    return new ExpectFinished(this.config, this.hs, this.writer);
  }
}

class ExpectFinished implements HandshakeState {
  readonly name = 'ExpectFinished';
  readonly expects = [HandshakeType.finished] as const;
  constructor(
    private readonly config: ServerConfig,
    private readonly hs: Handshake,
    private readonly writer: RecordProtector | undefined,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): HandshakeState {
    const { msg, raw } = expectMessage(input, HandshakeType.finished, this.name);
    const hs = this.hs;
    cx.security.clientVerifyData = VerifiedFinished.check(hs, 'client finished', msg.verifyData, raw).verifyData;
    if (this.writer) {
      if (hs.issueTicket) sendTicket(cx, this.config, hs);
      cx.security.serverVerifyData = sendFinished(cx, hs, this.writer, 'server finished');
    }
    return completeHandshake(cx, hs);
  }
}

function sendTicket(cx: HandshakeContext, config: ServerConfig, hs: Handshake): void {
  const ticket = hs.sessions!.seal(sessionOf(hs));
  sendMsg(cx, hs, {
    type: HandshakeType.new_session_ticket,
    lifetimeHint: Math.floor(config.sessionLifetimeMs / 1000),
    ticket,
  });
}

function sessionOf(hs: Handshake): ServerSession {
  return {
    version: hs.version,
    cipherSuite: hs.suite.id,
    masterSecret: hs.masterSecret,
    extendedMasterSecret: hs.ems,
    clientCertificates: hs.clientCertificates,
    createdAt: Date.now(),
  };
}

function completeHandshake(cx: HandshakeContext, hs: Handshake): HandshakeState {
  const sec = cx.security;
  const renegotiation = sec.handshakes;
  if (!hs.renegotiation) sec.secureRenegotiation = hs.secureRenegotiation;
  sec.version = hs.version;
  sec.suite = hs.suite;
  sec.extendedMasterSecret = hs.ems;
  sec.peerCertificates = hs.clientCertificates;
  sec.alpn = hs.alpn;
  sec.handshakes++;
  if (hs.sessions && hs.sessionId.length > 0 && !hs.resumed) hs.sessions.put(hs.sessionId, sessionOf(hs));
  sec.sessionId = hs.sessionId;
  cx.emit({
    type: 'handshake-complete',
    summary: {
      version: hs.version,
      cipherSuite: hs.suite.id,
      secureRenegotiation: hs.secureRenegotiation,
      extendedMasterSecret: hs.ems,
      resumed: hs.resumed,
      alpn: hs.alpn,
      peerCertificates: hs.clientCertificates,
      peerVerified: hs.clientVerified,
      renegotiation,
      certificateRequested: hs.requestedCertificate ? { certificateAuthorities: hs.certificateAuthorities } : undefined,
      clientCertificateSent: hs.clientCertificates.length > 0,
      serverName: hs.serverName,
    },
  });
  return new Traffic();
}
