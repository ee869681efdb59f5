/**
 * The client handshake of TLS 1.0–1.2 (RFC 5246 §7.3) as one state per awaited
 * message, each consuming one input and returning the next state (rustls'
 * client/tls12.rs). Every RFC 5746 and triple-handshake rule the client applies
 * lives here, next to the message it concerns.
 */
import * as crypto from 'node:crypto';
import { isIP } from 'node:net';
import {
  dheKeyShare,
  ecdheKeyShare,
  encodeDheClientKeyExchange,
  encodeEcdheClientKeyExchange,
  parseServerKeyExchange,
  rsaKeyTransport,
  type ServerKeyExchangeParams,
} from '../crypto/key-exchange.ts';
import { certificatePublicKey } from '../crypto/certificate-key.ts';
import { extendedMasterSecret, masterSecret, HandshakeHash } from '../crypto/prf.ts';
import { chooseScheme, keyTypeOf, sign, verifySignature } from '../crypto/signatures.ts';
import { suiteAllowsVersion, suiteById, suiteName, type CipherSuiteInfo } from '../crypto/suites.ts';
import { systemTrustStore, verifyChain } from '../pki/verify.ts';
import { concat } from '../wire/codec.ts';
import {
  ExtensionType,
  HandshakeType,
  ProtocolVersion,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
  extensionName,
  versionName,
} from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import * as ext from '../wire/extensions.ts';
import {
  decodeHandshake,
  encodeHandshake,
  type CertificateRequest,
  type ClientHello,
  type HandshakeMessage,
  type NewSessionTicket,
  type ServerHello,
} from '../wire/handshake.ts';
import type { RecordProtector } from '../crypto/record-protection.ts';
import type { ClientConfig, ClientSession } from './client-config.ts';
import type { HandshakeContext, HandshakeInput, HandshakeState } from './context.ts';
import {
  checkFinished,
  expectCcs,
  expectMessage,
  randomWithTime,
  sendFinished,
  sendMessage,
  Traffic,
} from './common.ts';
import { constantTimeEqual, deriveProtectors } from './keys.ts';

/** How the next ClientHello's renegotiation_info is built; tools misbehave through the non-default values. */
export type RenegotiationInfoChoice =
  | { kind: 'correct' }
  | { kind: 'omit' }
  | { kind: 'empty' }
  | { kind: 'value'; value: Uint8Array }
  | { kind: 'scsv-only' };

export interface ClientHelloOptions {
  renegotiationInfo?: RenegotiationInfoChoice;
  /** Replace the whole ClientHello with these raw bytes (header included): the lab relays a victim's hello this way. */
  raw?: Uint8Array;
}

/** Per-handshake data carried from state to state. */
interface Handshake {
  readonly transcript: HandshakeHash;
  readonly clientRandom: Uint8Array;
  readonly offeredVersion: number;
  readonly offeredSuites: readonly number[];
  readonly offeredExtensions: ReadonlySet<number>;
  readonly offeredSession: ClientSession | undefined;
  readonly renegotiation: boolean;
  serverRandom: Uint8Array;
  version: number;
  suite: CipherSuiteInfo;
  ems: boolean;
  secureRenegotiation: boolean;
  ticketExpected: boolean;
  sessionId: Uint8Array;
  alpn: string | undefined;
  peerCertificates: readonly Uint8Array[];
  peerKey: crypto.KeyObject | undefined;
  peerVerified: boolean;
  certificateRequest: CertificateRequest | undefined;
  clientCertificateSent: boolean;
  masterSecret: Uint8Array;
  newTicket: { ticket: Uint8Array; lifetimeHint: number } | undefined;
}

type ClientState = HandshakeState;

const TLS12 = ProtocolVersion['TLSv1.2'];

/** Builds, sends and transcribes the ClientHello; returns the state awaiting ServerHello. */
export function startClientHandshake(
  cx: HandshakeContext,
  config: ClientConfig,
  opts: ClientHelloOptions = {},
): ClientState {
  const renegotiation = cx.security.handshakes > 0;
  const transcript = new HandshakeHash();
  let hello: ClientHello;
  let raw: Uint8Array;
  let offeredSession: ClientSession | undefined;
  if (opts.raw) {
    raw = opts.raw;
    hello = decodeOwnHello(raw);
  } else {
    offeredSession = renegotiation ? undefined : usableSession(config);
    hello = buildClientHello(cx, config, offeredSession, opts.renegotiationInfo ?? { kind: 'correct' });
    raw = encodeHandshake(hello);
  }
  transcript.append(raw);
  cx.send(raw);
  cx.emit({ type: 'handshake-message', direction: 'out', message: hello, raw });
  const hs: Handshake = {
    transcript,
    clientRandom: hello.random,
    offeredVersion: hello.version,
    offeredSuites: hello.cipherSuites,
    offeredExtensions: new Set((hello.extensions ?? []).map((e) => e.type)),
    offeredSession,
    renegotiation,
    serverRandom: new Uint8Array(0),
    version: 0,
    suite: undefined as unknown as CipherSuiteInfo,
    ems: false,
    secureRenegotiation: false,
    ticketExpected: false,
    sessionId: hello.sessionId,
    alpn: undefined,
    peerCertificates: [],
    peerKey: undefined,
    peerVerified: false,
    certificateRequest: undefined,
    clientCertificateSent: false,
    masterSecret: new Uint8Array(0),
    newTicket: undefined,
  };
  // RFC 5746 §3.5: the SCSV alone in the initial hello stands for the extension.
  if (hello.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)) {
    (hs.offeredExtensions as Set<number>).add(ExtensionType.renegotiation_info);
  }
  return new ExpectServerHello(config, hs);
}

function decodeOwnHello(raw: Uint8Array): ClientHello {
  const m = decodeHandshake(raw, undefined);
  if (m.type !== HandshakeType.client_hello) throw new TlsError('InternalError', 'raw hello is not a ClientHello');
  return m as ClientHello;
}

function usableSession(config: ClientConfig): ClientSession | undefined {
  const s = config.session;
  if (!s) return undefined;
  if (s.version < config.minVersion || s.version > config.maxVersion) return undefined;
  if (!config.cipherSuites.some((c) => c.id === s.cipherSuite)) return undefined;
  if (s.serverName !== config.serverName) return undefined;
  return s;
}

function buildClientHello(
  cx: HandshakeContext,
  config: ClientConfig,
  session: ClientSession | undefined,
  ri: RenegotiationInfoChoice,
): ClientHello {
  const renegotiation = cx.security.handshakes > 0;
  const policy = config.renegotiation;
  // A renegotiation keeps the version in force; TLS 1.3 is never offered (RFC 8446 §4.1.2).
  const version = renegotiation ? cx.security.version! : config.maxVersion;
  const suites = config.cipherSuites.filter((s) => s.minVersion <= version).map((s) => s.id);
  const extensions: ext.Extension[] = [];
  let scsv = false;

  const choice: RenegotiationInfoChoice =
    ri.kind !== 'correct'
      ? ri
      : policy.signal === 'none'
        ? { kind: 'omit' }
        : !renegotiation && policy.signal === 'scsv'
          ? { kind: 'scsv-only' }
          : { kind: 'correct' };
  switch (choice.kind) {
    case 'correct':
      // RFC 5746 §3.4/§3.5: empty at first, then the client_verify_data of the handshake before.
      extensions.push(ext.renegotiationInfo(renegotiation ? cx.security.clientVerifyData : new Uint8Array(0)));
      break;
    case 'empty':
      extensions.push(ext.renegotiationInfo(new Uint8Array(0)));
      break;
    case 'value':
      extensions.push(ext.renegotiationInfo(choice.value));
      break;
    case 'scsv-only':
      scsv = true;
      break;
    case 'omit':
      break;
  }
  if (config.serverName && !isIpLiteral(config.serverName)) extensions.push(ext.serverName(config.serverName));
  const ecdhe = config.cipherSuites.some((s) => s.kx === 'ECDHE');
  if (ecdhe) {
    extensions.push(ext.supportedGroups(config.groups));
    extensions.push(ext.ecPointFormats());
  }
  if (version >= TLS12) extensions.push(ext.signatureAlgorithms(config.signatureSchemes));
  if (config.extendedMasterSecret) extensions.push(ext.extendedMasterSecret());
  if (config.sessionTickets) extensions.push(ext.sessionTicket(session?.ticket ?? new Uint8Array(0)));
  if (config.alpn?.length) extensions.push(ext.alpn(config.alpn));
  if (config.extraExtensions) extensions.push(...config.extraExtensions);

  // RFC 5077 §3.4: a client offering a ticket makes up a session ID to recognise resumption by.
  let sessionId = session?.sessionId ?? new Uint8Array(0);
  if (session?.ticket && sessionId.length === 0) sessionId = crypto.randomBytes(32);

  return {
    type: HandshakeType.client_hello,
    version,
    random: randomWithTime(),
    sessionId,
    cipherSuites: scsv ? [...suites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV] : suites,
    compressionMethods: Uint8Array.of(0),
    extensions,
  };
}

function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

function received(hs: Handshake, input: HandshakeInput): void {
  if (input.kind !== 'message') return;
  hs.transcript.append(input.raw);
}

// --- ServerHello ---------------------------------------------------------------

class ExpectServerHello implements ClientState {
  readonly name = 'ExpectServerHello';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): ClientState {
    const { msg: sh } = expectMessage(input, HandshakeType.server_hello, this.name);
    received(this.hs, input);
    const hs = this.hs;
    const config = this.config;
    checkServerHelloVersion(cx, config, hs, sh);
    hs.version = sh.version;
    hs.serverRandom = sh.random;
    cx.setVersion(sh.version);

    if (!hs.offeredSuites.includes(sh.cipherSuite) || sh.cipherSuite === TLS_EMPTY_RENEGOTIATION_INFO_SCSV) {
      throw new TlsError('IllegalParameter', `server chose ${suiteName(sh.cipherSuite)}, which we did not offer`);
    }
    const suite = suiteById(sh.cipherSuite);
    if (!suite || !suiteAllowsVersion(suite, sh.version)) {
      throw new TlsError('IllegalParameter', `${suiteName(sh.cipherSuite)} is not valid in ${versionName(sh.version)}`);
    }
    hs.suite = suite;
    if (sh.compressionMethod !== 0) throw new TlsError('IllegalParameter', 'server chose compression');

    ext.rejectDuplicates(sh.extensions);
    for (const e of sh.extensions ?? []) {
      // RFC 5246 §7.4.1.4: a server MUST NOT send an extension the client did not offer.
      if (!hs.offeredExtensions.has(e.type)) {
        throw new TlsError('UnsupportedExtension', `server sent ${extensionName(e.type)}, which we did not offer`);
      }
    }
    checkRenegotiationInfo(cx, config, hs, sh);
    hs.ems = ext.hasExtendedMasterSecret(sh.extensions);
    hs.ticketExpected = ext.findExtension(sh.extensions, ExtensionType.session_ticket) !== undefined;
    const alpnExt = ext.findExtension(sh.extensions, ExtensionType.application_layer_protocol_negotiation);
    if (alpnExt) {
      const chosen = ext.parseAlpn(alpnExt.data);
      // RFC 7301 §3.1: exactly one protocol, one the client offered.
      if (chosen.length !== 1 || !config.alpn?.includes(chosen[0]!)) {
        throw new TlsError('IllegalParameter', 'server chose an ALPN protocol we did not offer');
      }
      hs.alpn = chosen[0];
    }
    // RFC 7627 §5.3: once used, EMS must not be dropped by a renegotiation either (OpenSSL's rule).
    if (hs.renegotiation && cx.security.extendedMasterSecret && !hs.ems) {
      throw new TlsError('ExtendedMasterSecretDropped', 'renegotiation ServerHello dropped extended_master_secret');
    }

    const session = hs.offeredSession;
    if (session && sh.sessionId.length > 0 && constantTimeEqual(sh.sessionId, hs.sessionId)) {
      return this.resume(cx, session, sh);
    }
    hs.sessionId = sh.sessionId;
    return new ExpectCertificate(config, hs);
  }

  /** Abbreviated handshake (RFC 5246 §7.3 Figure 2). */
  private resume(cx: HandshakeContext, session: ClientSession, sh: ServerHello): ClientState {
    const hs = this.hs;
    if (sh.cipherSuite !== session.cipherSuite || sh.version !== session.version) {
      throw new TlsError('IllegalParameter', 'resumed session with another suite or version');
    }
    // RFC 7627 §5.3: the EMS status of a resumed session must not change.
    if (session.extendedMasterSecret !== hs.ems) {
      throw new TlsError('HandshakeFailure', 'resumption changed the extended master secret status');
    }
    hs.masterSecret = session.masterSecret;
    hs.peerCertificates = session.peerCertificates;
    hs.peerVerified = true;
    const keys = deriveProtectors(hs.suite, hs.version, hs.masterSecret, hs.clientRandom, hs.serverRandom);
    cx.setPendingReader(keys.serverWrite);
    return new ExpectTicketOrCcs(this.config, hs, keys.clientWrite, true);
  }
}

function checkServerHelloVersion(cx: HandshakeContext, config: ClientConfig, hs: Handshake, sh: ServerHello): void {
  const sv = ext.findExtension(sh.extensions, ExtensionType.supported_versions);
  if (sv || sh.version > hs.offeredVersion || sh.version < config.minVersion) {
    // RFC 8446 §4.1.3: a renegotiating client that sees TLS 1.3 aborts with protocol_version.
    throw new TlsError(
      'ProtocolVersion',
      `server chose ${versionName(sv ? ext.parseSelectedVersion(sv.data) : sh.version)}`,
    );
  }
  if (hs.renegotiation && sh.version !== cx.security.version) {
    throw new TlsError('ProtocolVersion', 'renegotiation changed the protocol version');
  }
}

/**
 * RFC 5746 §3.4 (initial handshake) and §3.5 (renegotiation), client side.
 * This check is what stops a man-in-the-middle from splicing our handshake into
 * his own session (CVE-2009-3555): the server proves it saw our previous Finished.
 */
function checkRenegotiationInfo(cx: HandshakeContext, config: ClientConfig, hs: Handshake, sh: ServerHello): void {
  const policy = config.renegotiation;
  const riExt = ext.findExtension(sh.extensions, ExtensionType.renegotiation_info);
  const ri = riExt ? ext.parseRenegotiationInfo(riExt.data) : undefined;
  if (!hs.renegotiation) {
    if (ri === undefined) {
      if (!policy.allowLegacyServer && policy.signal !== 'none') {
        throw new TlsError('UnsafeLegacyServerRefused', 'server does not support RFC 5746 secure renegotiation');
      }
      hs.secureRenegotiation = false;
      return;
    }
    if (ri.length !== 0) {
      throw new TlsError('RenegotiationInfoMismatch', 'initial ServerHello carries a non-empty renegotiation_info');
    }
    hs.secureRenegotiation = true;
    return;
  }
  if (!cx.security.secureRenegotiation) {
    // §4.2: an RI-less server must not start sending it; we only get here with unsafe legacy renegotiation allowed.
    if (ri !== undefined)
      throw new TlsError('RenegotiationInfoMismatch', 'legacy server started sending renegotiation_info');
    hs.secureRenegotiation = false;
    return;
  }
  if (ri === undefined) {
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiation ServerHello lacks renegotiation_info');
  }
  const expected = concat(cx.security.clientVerifyData, cx.security.serverVerifyData);
  if (!constantTimeEqual(ri, expected)) {
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiated_connection does not match our verify_data');
  }
  hs.secureRenegotiation = true;
}

// --- Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone ------

class ExpectCertificate implements ClientState {
  readonly name = 'ExpectCertificate';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): ClientState {
    const { msg } = expectMessage(input, HandshakeType.certificate, this.name);
    received(this.hs, input);
    const hs = this.hs;
    if (msg.certificates.length === 0) throw new TlsError('BadCertificate', 'server sent no certificate');
    let peerKey: crypto.KeyObject;
    if (this.config.insecure) {
      peerKey = certificatePublicKey(msg.certificates[0]!);
    } else {
      peerKey = verifyChain(msg.certificates, this.config.trust ?? systemTrustStore(), this.config.serverName)[0]!
        .publicKey;
      hs.peerVerified = true;
    }
    checkIdentityChange(cx, this.config, hs, msg.certificates);
    hs.peerCertificates = msg.certificates;
    hs.peerKey = peerKey;
    const keyType = keyTypeOf(peerKey);
    if ((hs.suite.auth === 'RSA' && keyType !== 'rsa') || (hs.suite.auth === 'ECDSA' && keyType !== 'ec')) {
      throw new TlsError('BadCertificate', `a ${keyType} certificate for a ${hs.suite.auth} suite`);
    }
    if (hs.suite.kx === 'RSA') return new ExpectCertificateRequestOrDone(this.config, hs, undefined);
    return new ExpectServerKeyExchange(this.config, hs);
  }
}

/**
 * Triple-handshake defence (RFC 7627 §1; CVE-2014-1771 was SChannel failing to
 * do this): a renegotiation must not switch to another server certificate
 * unless both handshakes bound their master secrets to the transcript.
 */
function checkIdentityChange(
  cx: HandshakeContext,
  config: ClientConfig,
  hs: Handshake,
  chain: readonly Uint8Array[],
): void {
  if (!hs.renegotiation) return;
  const before = cx.security.peerCertificates[0];
  if (!before || constantTimeEqual(before, chain[0]!)) return;
  const rule = config.renegotiation.serverCertificateChange;
  if (rule === 'allow') return;
  if (rule === 'allow-with-ems' && cx.security.extendedMasterSecret && hs.ems) return;
  throw new TlsError('ServerIdentityChangedOnRenegotiation', 'server certificate changed across renegotiation');
}

class ExpectServerKeyExchange implements ClientState {
  readonly name = 'ExpectServerKeyExchange';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
  ) {}

  handle(_cx: HandshakeContext, input: HandshakeInput): ClientState {
    const { msg } = expectMessage(input, HandshakeType.server_key_exchange, this.name);
    received(this.hs, input);
    const hs = this.hs;
    const kind = hs.suite.kx === 'ECDHE' ? 'ECDHE' : 'DHE';
    const params = parseServerKeyExchange(msg.body, kind, hs.version);
    if (kind === 'ECDHE' && !this.config.groups.includes(params.group!)) {
      throw new TlsError('IllegalParameter', 'server chose a group we did not offer');
    }
    // RFC 5246 §7.4.3: signed over client_random + server_random + params.
    const signed = concat(hs.clientRandom, hs.serverRandom, params.params);
    verifySignature(hs.version, hs.peerKey!, params.scheme, signed, params.signature, this.config.signatureSchemes);
    return new ExpectCertificateRequestOrDone(this.config, hs, params);
  }
}

class ExpectCertificateRequestOrDone implements ClientState {
  readonly name = 'ExpectCertificateRequestOrServerHelloDone';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
    private readonly kx: ServerKeyExchangeParams | undefined,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): ClientState {
    if (input.kind === 'message' && input.msg.type === HandshakeType.certificate_request) {
      received(this.hs, input);
      this.hs.certificateRequest = input.msg as CertificateRequest;
      return new ExpectServerHelloDone(this.config, this.hs, this.kx);
    }
    return new ExpectServerHelloDone(this.config, this.hs, this.kx).handle(cx, input);
  }
}

class ExpectServerHelloDone implements ClientState {
  readonly name = 'ExpectServerHelloDone';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
    private readonly kx: ServerKeyExchangeParams | undefined,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): ClientState {
    expectMessage(input, HandshakeType.server_hello_done, this.name);
    received(this.hs, input);
    return sendClientFlight(cx, this.config, this.hs, this.kx);
  }
}

/** Certificate?, ClientKeyExchange, CertificateVerify?, ChangeCipherSpec, Finished (RFC 5246 §7.3). */
function sendClientFlight(
  cx: HandshakeContext,
  config: ClientConfig,
  hs: Handshake,
  kx: ServerKeyExchangeParams | undefined,
): ClientState {
  const sendMsg = (m: HandshakeMessage): void => sendMessage(cx, hs.transcript, m);

  const req = hs.certificateRequest;
  const haveCert = req !== undefined && config.clientCertificates !== undefined && config.clientKey !== undefined;
  if (req) {
    // RFC 5246 §7.4.6: answer a request with our chain, or an empty list (TLS 1.0+).
    sendMsg({ type: HandshakeType.certificate, certificates: haveCert ? config.clientCertificates! : [] });
    hs.clientCertificateSent = haveCert;
  }

  let premaster: Uint8Array;
  let body: Uint8Array;
  if (hs.suite.kx === 'RSA') {
    ({ premaster, body } = rsaKeyTransport(hs.peerKey!, hs.offeredVersion));
  } else if (kx!.kind === 'ECDHE') {
    const share = ecdheKeyShare(kx!.group!);
    premaster = share.agree(kx!.publicKey);
    body = encodeEcdheClientKeyExchange(share.publicKey);
  } else {
    const share = dheKeyShare(kx!.dhP!, kx!.dhG!, config.minDhBits);
    premaster = share.agree(kx!.publicKey);
    body = encodeDheClientKeyExchange(share.publicKey);
  }
  sendMsg({ type: HandshakeType.client_key_exchange, body });

  // RFC 7627 §4: the session hash runs through ClientKeyExchange.
  hs.masterSecret = hs.ems
    ? extendedMasterSecret(hs.version, hs.suite.prfHash, premaster, hs.transcript.hash(hs.version, hs.suite.prfHash))
    : masterSecret(hs.version, hs.suite.prfHash, premaster, hs.clientRandom, hs.serverRandom);
  premaster.fill(0);

  if (haveCert) {
    const key = config.clientKey!;
    const scheme = chooseScheme(hs.version, key, req!.signatureAlgorithms);
    const signature = sign(hs.version, key, scheme, hs.transcript.messages());
    sendMsg({ type: HandshakeType.certificate_verify, scheme, signature });
  }

  const keys = deriveProtectors(hs.suite, hs.version, hs.masterSecret, hs.clientRandom, hs.serverRandom);
  cx.setPendingReader(keys.serverWrite);
  cx.security.clientVerifyData = sendFinished(cx, hs, keys.clientWrite, 'client finished');
  return new ExpectTicketOrCcs(config, hs, undefined, false);
}

// --- NewSessionTicket, ChangeCipherSpec, Finished --------------------------------

class ExpectTicketOrCcs implements ClientState {
  readonly name = 'ExpectNewSessionTicketOrChangeCipherSpec';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
    /** Set on resumption: we send our Finished after the server's. */
    private readonly ourWriter: RecordProtector | undefined,
    private readonly resumed: boolean,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): ClientState {
    if (input.kind === 'message' && input.msg.type === HandshakeType.new_session_ticket && this.hs.ticketExpected) {
      received(this.hs, input);
      const m = input.msg as NewSessionTicket;
      this.hs.newTicket = { ticket: m.ticket, lifetimeHint: m.lifetimeHint };
      return new ExpectCcs(this.config, this.hs, this.ourWriter, this.resumed);
    }
    return new ExpectCcs(this.config, this.hs, this.ourWriter, this.resumed).handle(cx, input);
  }
}

class ExpectCcs implements ClientState {
  readonly name = 'ExpectChangeCipherSpec';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
    private readonly ourWriter: RecordProtector | undefined,
    private readonly resumed: boolean,
  ) {}

  handle(_cx: HandshakeContext, input: HandshakeInput): ClientState {
    expectCcs(input, this.name);
    return new ExpectFinished(this.config, this.hs, this.ourWriter, this.resumed);
  }
}

class ExpectFinished implements ClientState {
  readonly name = 'ExpectFinished';
  constructor(
    private readonly config: ClientConfig,
    private readonly hs: Handshake,
    private readonly ourWriter: RecordProtector | undefined,
    private readonly resumed: boolean,
  ) {}

  handle(cx: HandshakeContext, input: HandshakeInput): ClientState {
    const { msg, raw } = expectMessage(input, HandshakeType.finished, this.name);
    const hs = this.hs;
    cx.security.serverVerifyData = checkFinished(hs, 'server finished', msg.verifyData, raw);
    if (this.resumed) cx.security.clientVerifyData = sendFinished(cx, hs, this.ourWriter!, 'client finished');
    return completeHandshake(cx, this.config, hs, this.resumed);
  }
}

function completeHandshake(cx: HandshakeContext, config: ClientConfig, hs: Handshake, resumed: boolean): ClientState {
  const sec = cx.security;
  const renegotiation = sec.handshakes;
  // RFC 5746 §3.4: the flag is set by the first handshake and never changes afterwards.
  if (!hs.renegotiation) sec.secureRenegotiation = hs.secureRenegotiation;
  sec.version = hs.version;
  sec.suite = hs.suite;
  sec.extendedMasterSecret = hs.ems;
  sec.peerCertificates = hs.peerCertificates;
  sec.alpn = hs.alpn;
  sec.handshakes++;
  const session: ClientSession = {
    version: hs.version,
    cipherSuite: hs.suite.id,
    sessionId: hs.sessionId,
    ticket: hs.newTicket?.ticket ?? (resumed ? hs.offeredSession?.ticket : undefined),
    masterSecret: hs.masterSecret,
    extendedMasterSecret: hs.ems,
    peerCertificates: hs.peerCertificates,
    serverName: config.serverName,
    createdAt: Date.now(),
  };
  if (session.sessionId.length > 0 || session.ticket) cx.emit({ type: 'session', session });
  cx.emit({
    type: 'handshake-complete',
    summary: {
      version: hs.version,
      cipherSuite: hs.suite.id,
      secureRenegotiation: hs.secureRenegotiation,
      extendedMasterSecret: hs.ems,
      resumed,
      alpn: hs.alpn,
      peerCertificates: hs.peerCertificates,
      peerVerified: hs.peerVerified,
      renegotiation,
      certificateRequested: hs.certificateRequest
        ? { certificateAuthorities: hs.certificateRequest.certificateAuthorities }
        : undefined,
      clientCertificateSent: hs.clientCertificateSent,
    },
  });
  return new Traffic();
}
