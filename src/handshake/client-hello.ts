/**
 * The client's hello phase (RFC 5246 §7.4.1): the ClientHello we send, then the
 * ServerHello's checks, read top to bottom. Every RFC 5746 rule on the
 * ServerHello is in `checkRenegotiationInfo`; the ServerHello either starts a
 * full handshake (on to client-key-exchange.ts) or resumes a session (on to
 * client-finish.ts).
 */
import * as crypto from 'node:crypto';
import { HandshakeHash } from '../crypto/prf.ts';
import { suiteAllowsVersion, suiteById, suiteName, type CipherSuiteInfo } from '../crypto/suites.ts';
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
import { decodeHandshake, encodeHandshake, type ClientHello, type ServerHello } from '../wire/handshake.ts';
import type { ClientConfig, ClientSession } from './client-config.ts';
import type {
  ClientOffer,
  ClientTraffic,
  ExpectCertificate,
  ExpectServerHello,
  ExpectTicketOrCcs,
  ServerChoice,
} from './client-states.ts';
import { expectMessage, randomWithTime } from './common.ts';
import type { HandshakeContext, HandshakeInput } from './context.ts';
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

const TLS12 = ProtocolVersion['TLSv1.2'];

// --- ClientHello -----------------------------------------------------------------

/**
 * Builds, sends and transcribes the ClientHello. `previous` is the traffic
 * state a renegotiation leaves, undefined for the first handshake.
 */
export function sendClientHello(
  cx: HandshakeContext,
  config: ClientConfig,
  opts: ClientHelloOptions,
  previous: ClientTraffic | undefined,
): ExpectServerHello {
  const renegotiation = cx.security.handshakes > 0;
  const transcript = new HandshakeHash();
  let hello: ClientHello;
  let raw: Uint8Array;
  let session: ClientSession | undefined;
  if (opts.raw) {
    raw = opts.raw;
    hello = decodeOwnHello(raw);
  } else {
    session = renegotiation ? undefined : usableSession(config);
    hello = buildClientHello(cx, config, session, opts.renegotiationInfo ?? { kind: 'correct' });
    raw = encodeHandshake(hello);
  }
  transcript.append(raw);
  cx.send(raw);
  cx.emit({ type: 'handshake-message', direction: 'out', message: hello, raw });
  const extensions = new Set((hello.extensions ?? []).map((e) => e.type));
  // RFC 5746 §3.5: the SCSV alone in the initial hello stands for the extension.
  if (hello.cipherSuites.includes(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)) extensions.add(ExtensionType.renegotiation_info);
  const offer: ClientOffer = {
    transcript,
    random: hello.random,
    version: hello.version,
    suites: hello.cipherSuites,
    extensions,
    session,
    sessionId: hello.sessionId,
    renegotiation,
  };
  return { name: 'ExpectServerHello', offer, previous };
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
  const sni = ext.serverNameFor(config.serverName);
  if (sni) extensions.push(sni);
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

// --- ServerHello -----------------------------------------------------------------

export function onServerHello(
  cx: HandshakeContext,
  config: ClientConfig,
  state: ExpectServerHello,
  input: HandshakeInput,
): ExpectCertificate | ExpectTicketOrCcs {
  const { msg: sh, raw } = expectMessage(input, HandshakeType.server_hello, state.name);
  const offer = state.offer;
  offer.transcript.append(raw);
  checkServerHelloVersion(cx, config, offer, sh);
  cx.setVersion(sh.version);
  const suite = checkSuite(offer, sh);
  if (sh.compressionMethod !== 0) throw new TlsError('IllegalParameter', 'server chose compression');

  ext.rejectDuplicates(sh.extensions);
  for (const e of sh.extensions ?? []) {
    // RFC 5246 §7.4.1.4: a server MUST NOT send an extension the client did not offer.
    if (!offer.extensions.has(e.type)) {
      throw new TlsError('UnsupportedExtension', `server sent ${extensionName(e.type)}, which we did not offer`);
    }
  }
  const secureRenegotiation = checkRenegotiationInfo(cx, config, offer, sh);
  const ems = ext.hasExtendedMasterSecret(sh.extensions);
  const ticketExpected = ext.findExtension(sh.extensions, ExtensionType.session_ticket) !== undefined;
  const alpn = chosenAlpn(config, sh);
  // RFC 7627 §5.3: once used, EMS must not be dropped by a renegotiation either (OpenSSL's rule).
  if (offer.renegotiation && cx.security.extendedMasterSecret && !ems) {
    throw new TlsError('ExtendedMasterSecretDropped', 'renegotiation ServerHello dropped extended_master_secret');
  }
  const choice: ServerChoice = {
    version: sh.version,
    suite,
    random: sh.random,
    sessionId: sh.sessionId,
    ems,
    secureRenegotiation,
    ticketExpected,
    alpn,
  };
  const session = offer.session;
  if (session && sh.sessionId.length > 0 && constantTimeEqual(sh.sessionId, offer.sessionId)) {
    return resume(cx, offer, choice, session);
  }
  return { name: 'ExpectCertificate', offer, choice };
}

function checkServerHelloVersion(
  cx: HandshakeContext,
  config: ClientConfig,
  offer: ClientOffer,
  sh: ServerHello,
): void {
  const sv = ext.findExtension(sh.extensions, ExtensionType.supported_versions);
  if (sv || sh.version > offer.version || sh.version < config.minVersion) {
    // RFC 8446 §4.1.3: a renegotiating client that sees TLS 1.3 aborts with protocol_version.
    throw new TlsError(
      'ProtocolVersion',
      `server chose ${versionName(sv ? ext.parseSelectedVersion(sv.data) : sh.version)}`,
    );
  }
  if (offer.renegotiation && sh.version !== cx.security.version) {
    throw new TlsError('ProtocolVersion', 'renegotiation changed the protocol version');
  }
}

function checkSuite(offer: ClientOffer, sh: ServerHello): CipherSuiteInfo {
  if (!offer.suites.includes(sh.cipherSuite) || sh.cipherSuite === TLS_EMPTY_RENEGOTIATION_INFO_SCSV) {
    throw new TlsError('IllegalParameter', `server chose ${suiteName(sh.cipherSuite)}, which we did not offer`);
  }
  const suite = suiteById(sh.cipherSuite);
  if (!suite || !suiteAllowsVersion(suite, sh.version)) {
    throw new TlsError('IllegalParameter', `${suiteName(sh.cipherSuite)} is not valid in ${versionName(sh.version)}`);
  }
  return suite;
}

/**
 * RFC 5746 §3.4 (initial handshake) and §3.5 (renegotiation), client side; returns
 * whether this handshake is secured by it. This check is what stops a
 * man-in-the-middle from splicing our handshake into his own session
 * (CVE-2009-3555): the server proves it saw our previous Finished.
 */
function checkRenegotiationInfo(
  cx: HandshakeContext,
  config: ClientConfig,
  offer: ClientOffer,
  sh: ServerHello,
): boolean {
  const policy = config.renegotiation;
  const riExt = ext.findExtension(sh.extensions, ExtensionType.renegotiation_info);
  const ri = riExt ? ext.parseRenegotiationInfo(riExt.data) : undefined;
  if (!offer.renegotiation) {
    if (ri === undefined) {
      if (!policy.allowLegacyServer && policy.signal !== 'none') {
        throw new TlsError('UnsafeLegacyServerRefused', 'server does not support RFC 5746 secure renegotiation');
      }
      return false;
    }
    if (ri.length !== 0) {
      throw new TlsError('RenegotiationInfoMismatch', 'initial ServerHello carries a non-empty renegotiation_info');
    }
    return true;
  }
  if (!cx.security.secureRenegotiation) {
    // §4.2: an RI-less server must not start sending it; we only get here with unsafe legacy renegotiation allowed.
    if (ri !== undefined)
      throw new TlsError('RenegotiationInfoMismatch', 'legacy server started sending renegotiation_info');
    return false;
  }
  if (ri === undefined) {
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiation ServerHello lacks renegotiation_info');
  }
  const expected = concat(cx.security.clientVerifyData, cx.security.serverVerifyData);
  if (!constantTimeEqual(ri, expected)) {
    throw new TlsError('RenegotiationInfoMismatch', 'renegotiated_connection does not match our verify_data');
  }
  return true;
}

/** RFC 7301 §3.1: exactly one protocol, one the client offered. */
function chosenAlpn(config: ClientConfig, sh: ServerHello): string | undefined {
  const alpnExt = ext.findExtension(sh.extensions, ExtensionType.application_layer_protocol_negotiation);
  if (!alpnExt) return undefined;
  const chosen = ext.parseAlpn(alpnExt.data);
  if (chosen.length !== 1 || !config.alpn?.includes(chosen[0]!)) {
    throw new TlsError('IllegalParameter', 'server chose an ALPN protocol we did not offer');
  }
  return chosen[0];
}

/** Abbreviated handshake (RFC 5246 §7.3 Figure 2): the server's ChangeCipherSpec and Finished come next. */
function resume(
  cx: HandshakeContext,
  offer: ClientOffer,
  choice: ServerChoice,
  session: ClientSession,
): ExpectTicketOrCcs {
  if (choice.suite.id !== session.cipherSuite || choice.version !== session.version) {
    throw new TlsError('IllegalParameter', 'resumed session with another suite or version');
  }
  // RFC 7627 §5.3: the EMS status of a resumed session must not change.
  if (session.extendedMasterSecret !== choice.ems) {
    throw new TlsError('HandshakeFailure', 'resumption changed the extended master secret status');
  }
  const keys = deriveProtectors(choice.suite, choice.version, session.masterSecret, offer.random, choice.random);
  cx.setPendingReader(keys.serverWrite);
  return {
    name: 'ExpectNewSessionTicketOrChangeCipherSpec',
    keyed: {
      offer,
      choice,
      server: { kind: 'resumed', certificates: session.peerCertificates },
      masterSecret: session.masterSecret,
      clientAuth: { request: undefined, certificateSent: false },
      finish: { kind: 'resumed', writer: keys.clientWrite },
    },
  };
}
