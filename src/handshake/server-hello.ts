/**
 * The server's hello phase (RFC 5246 §7.4.1): the ClientHello's checks and our
 * choices (version, certificate, ALPN, suite), then either a resumed session
 * (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1) or a full handshake (on to
 * server-key-exchange.ts). Every RFC 5746 rule the server applies to a
 * ClientHello is in `checkClientRenegotiationInfo`; whether a renegotiation
 * may start at all is the connection's policy (connection/server-connection.ts).
 */
import * as crypto from 'node:crypto';
import { HandshakeHash } from '../crypto/prf.ts';
import { suiteAllowsVersion, suiteById, type CipherSuiteInfo } from '../crypto/suites.ts';
import { concat } from '../wire/codec.ts';
import {
  ExtensionType,
  HandshakeType,
  ProtocolVersion,
  TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
  TLS_FALLBACK_SCSV,
} from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import * as ext from '../wire/extensions.ts';
import type { ClientHello, HandshakeMessage } from '../wire/handshake.ts';
import { expectMessage, randomWithTime, sendFinished, sendMessage } from './common.ts';
import type { HandshakeContext, HandshakeInput } from './context.ts';
import { constantTimeEqual, deriveProtectors } from './keys.ts';
import type { ServerCertificate } from '../pki/credentials.ts';
import type { ServerConfig } from './server-config.ts';
import { sendTicket } from './server-finish.ts';
import { clientGroups, sendServerFlight } from './server-key-exchange.ts';
import type { ServerSession, SessionStore } from './server-sessions.ts';
import type {
  ExpectCcs,
  ExpectCertificate,
  ExpectClientHello,
  ExpectClientKeyExchange,
  ServerEnvironment,
  ServerNegotiated,
} from './server-states.ts';

/** What the ClientHello settles before a suite is chosen: the rest of ServerNegotiated. */
type HelloChoices = Omit<ServerNegotiated, 'suite' | 'sessionId' | 'issueTicket'>;

export function onClientHello(
  cx: HandshakeContext,
  env: ServerEnvironment,
  state: ExpectClientHello,
  input: HandshakeInput,
): ExpectCertificate | ExpectClientKeyExchange | ExpectCcs {
  const { msg: hello, raw } = expectMessage(input, HandshakeType.client_hello, state.name);
  const { config, sessions } = env;
  const renegotiation = cx.security.handshakes > 0;
  const transcript = new HandshakeHash();
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
  const choices: HelloChoices = {
    transcript,
    hello,
    renegotiation,
    serverRandom: randomWithTime(),
    version,
    cert,
    ems: config.extendedMasterSecret && offersEms,
    secureRenegotiation,
    alpn: chooseAlpn(config, hello),
    serverName,
  };
  // RFC 7627 §5.3 (and OpenSSL): a renegotiation must not drop EMS once it was used.
  if (renegotiation && cx.security.extendedMasterSecret && !choices.ems) {
    throw new TlsError('ExtendedMasterSecretDropped', 'renegotiation ClientHello dropped extended_master_secret');
  }
  const offeredTicket = ext.findExtension(hello.extensions, ExtensionType.session_ticket);
  const session = sessions
    ? renegotiation
      ? findRenegotiationSession(cx, config, sessions, state.requestClientCertificate, hello)
      : findSession(config, sessions, hello, offeredTicket?.data)
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
  const resumedSuite = session ? sessionSuite(config, choices, session) : undefined;
  if (session && resumedSuite) {
    return resume(cx, env, { ...choices, suite: resumedSuite }, session, offeredTicket !== undefined);
  }

  const hs: ServerNegotiated = {
    ...choices,
    suite: chooseSuite(config, choices, hello),
    // Renegotiations issue a ticket too, as OpenSSL does: GnuTLS clients keep expecting one once the
    // first handshake had one (RFC 5077 §3.2 lets the server issue one in any full handshake).
    issueTicket: config.sessionTickets && offeredTicket !== undefined && sessions !== undefined,
    sessionId:
      config.sessionCache && sessions && !renegotiation ? new Uint8Array(crypto.randomBytes(32)) : new Uint8Array(0),
  };
  sendMessage(cx, transcript, serverHello(cx, hs, false));
  return sendServerFlight(cx, config, hs, state.requestClientCertificate);
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

/** Server preference order; the suite must fit the version, our key and a group the client has. */
function chooseSuite(config: ServerConfig, choices: HelloChoices, hello: ClientHello): CipherSuiteInfo {
  const groups = clientGroups(hello);
  const haveGroup = config.groups.some((g) => groups.includes(g));
  for (const suite of config.cipherSuites) {
    if (!hello.cipherSuites.includes(suite.id) || !suiteAllowsVersion(suite, choices.version)) continue;
    if ((suite.auth === 'RSA') !== (choices.cert.keyType === 'rsa')) continue;
    if (suite.kx === 'ECDHE' && !haveGroup) continue;
    return suite;
  }
  throw new TlsError('HandshakeFailure', 'no cipher suite in common');
}

function serverHello(cx: HandshakeContext, hs: ServerNegotiated, resumed: boolean): HandshakeMessage {
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
  if (hs.serverName && !hs.renegotiation && !resumed)
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
  sessions: SessionStore,
  requestClientCertificate: boolean,
  hello: ClientHello,
): ServerSession | undefined {
  const current = cx.security.sessionId;
  if (!cx.security.secureRenegotiation || !config.sessionCache || current.length === 0) return undefined;
  if (!constantTimeEqual(hello.sessionId, current)) return undefined;
  const s = sessions.get(current);
  if (s && requestClientCertificate && s.clientCertificates.length === 0) return undefined;
  return s;
}

/** The suite to resume the session with, or undefined when it does not fit this handshake (a full one instead). */
function sessionSuite(config: ServerConfig, choices: HelloChoices, s: ServerSession): CipherSuiteInfo | undefined {
  const suite = suiteById(s.cipherSuite);
  if (!suite || s.version !== choices.version) return undefined;
  if (!config.cipherSuites.some((c) => c.id === s.cipherSuite)) return undefined;
  // RFC 7627 §5.3: a session without EMS is not resumed by an EMS hello (full handshake instead);
  // the reverse was refused above, and an EMS session we no longer negotiate EMS for is not resumed.
  if (s.extendedMasterSecret !== choices.ems) return undefined;
  if (config.clientCertificate === 'initial' && config.clientCertificateRequired && s.clientCertificates.length === 0)
    return undefined;
  return suite;
}

/** ServerHello, NewSessionTicket when resumed by ticket, ChangeCipherSpec and our Finished. */
function resume(
  cx: HandshakeContext,
  env: ServerEnvironment,
  choices: HelloChoices & { suite: CipherSuiteInfo },
  s: ServerSession,
  viaTicket: boolean,
): ExpectCcs {
  const hs: ServerNegotiated = {
    ...choices,
    // RFC 5077 §3.4: echo the client's session ID to signal ticket resumption.
    sessionId: choices.hello.sessionId,
    issueTicket: viaTicket && env.config.sessionTickets,
  };
  const keyed = {
    hs,
    masterSecret: s.masterSecret,
    client: { kind: 'resumed', certificates: s.clientCertificates },
    request: undefined,
    finish: { kind: 'resumed' },
  } as const;
  sendMessage(cx, hs.transcript, serverHello(cx, hs, true));
  if (hs.issueTicket) sendTicket(cx, env, keyed);
  const keys = deriveProtectors(hs.suite, hs.version, s.masterSecret, hs.hello.random, hs.serverRandom, 'server');
  cx.setPendingReader(keys.clientWrite);
  cx.security.serverVerifyData = sendFinished(
    cx,
    { version: hs.version, suite: hs.suite, masterSecret: s.masterSecret, transcript: hs.transcript },
    keys.serverWrite,
    'server finished',
  );
  return { name: 'ExpectChangeCipherSpec', keyed };
}
