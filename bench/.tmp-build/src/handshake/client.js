/**
 * The client handshake of TLS 1.0–1.2 (RFC 5246 §7.3) as one state per awaited
 * message, each consuming one input and returning the next state (rustls'
 * client/tls12.rs). Every RFC 5746 and triple-handshake rule the client applies
 * lives here, next to the message it concerns.
 */
import * as crypto from 'node:crypto';
import { dheKeyShare, ecdheKeyShare, encodeDheClientKeyExchange, encodeEcdheClientKeyExchange, parseServerKeyExchange, rsaKeyTransport, } from "../crypto/key-exchange.js";
import { extendedMasterSecret, masterSecret, Transcript, verifyData } from "../crypto/prf.js";
import { chooseScheme, keyTypeOf, sign, verifySignature } from "../crypto/signatures.js";
import { suiteAllowsVersion, suiteById, suiteName } from "../crypto/suites.js";
import { systemTrustStore, verifyChain } from "../pki/verify.js";
import { concat } from "../wire/codec.js";
import { ExtensionType, HandshakeType, ProtocolVersion, TLS_EMPTY_RENEGOTIATION_INFO_SCSV, extensionName, handshakeTypeName, versionName, } from "../wire/enums.js";
import { TlsError } from "../wire/errors.js";
import * as ext from "../wire/extensions.js";
import { decodeHandshake, encodeHandshake, isUnknown, } from "../wire/handshake.js";
import { constantTimeEqual, deriveProtectors } from "./keys.js";
const TLS12 = ProtocolVersion['TLSv1.2'];
/** Builds, sends and transcribes the ClientHello; returns the state awaiting ServerHello. */
export function startClientHandshake(cx, config, opts = {}) {
    const renegotiation = cx.security.handshakes > 0;
    const transcript = new Transcript();
    let hello;
    let raw;
    let offeredSession;
    if (opts.raw) {
        raw = opts.raw;
        hello = decodeOwnHello(raw);
    }
    else {
        offeredSession = renegotiation ? undefined : usableSession(config);
        hello = buildClientHello(cx, config, offeredSession, opts.renegotiationInfo ?? { kind: 'correct' });
        raw = encodeHandshake(hello);
    }
    transcript.append(raw);
    cx.send(raw);
    cx.emit({ type: 'handshake-message', direction: 'out', message: hello, raw });
    const hs = {
        transcript,
        clientRandom: hello.random,
        offeredVersion: hello.version,
        offeredSuites: hello.cipherSuites,
        offeredExtensions: new Set((hello.extensions ?? []).map((e) => e.type)),
        offeredSession,
        renegotiation,
        serverRandom: new Uint8Array(0),
        version: 0,
        suite: undefined,
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
        hs.offeredExtensions.add(ExtensionType.renegotiation_info);
    }
    return new ExpectServerHello(config, hs);
}
function decodeOwnHello(raw) {
    const m = decodeHandshake(raw, undefined);
    if (m.type !== HandshakeType.client_hello)
        throw new TlsError('InternalError', 'raw hello is not a ClientHello');
    return m;
}
function usableSession(config) {
    const s = config.session;
    if (!s)
        return undefined;
    if (s.version < config.minVersion || s.version > config.maxVersion)
        return undefined;
    if (!config.cipherSuites.some((c) => c.id === s.cipherSuite))
        return undefined;
    if (s.serverName !== config.serverName)
        return undefined;
    return s;
}
function buildClientHello(cx, config, session, ri) {
    const renegotiation = cx.security.handshakes > 0;
    const policy = config.renegotiation;
    // A renegotiation keeps the version in force; TLS 1.3 is never offered (RFC 8446 §4.1.2).
    const version = renegotiation ? cx.security.version : config.maxVersion;
    const suites = config.cipherSuites.filter((s) => s.minVersion <= version).map((s) => s.id);
    const extensions = [];
    let scsv = false;
    const choice = ri.kind !== 'correct'
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
    if (config.serverName && !isIpLiteral(config.serverName))
        extensions.push(ext.serverName(config.serverName));
    const ecdhe = config.cipherSuites.some((s) => s.kx === 'ECDHE');
    if (ecdhe) {
        extensions.push(ext.supportedGroups(config.groups));
        extensions.push(ext.ecPointFormats());
    }
    if (version >= TLS12)
        extensions.push(ext.signatureAlgorithms(config.signatureSchemes));
    if (config.extendedMasterSecret)
        extensions.push(ext.extendedMasterSecret());
    if (config.sessionTickets)
        extensions.push(ext.sessionTicket(session?.ticket ?? new Uint8Array(0)));
    if (config.alpn?.length)
        extensions.push(ext.alpn(config.alpn));
    if (config.extraExtensions)
        extensions.push(...config.extraExtensions);
    // RFC 5077 §3.4: a client offering a ticket makes up a session ID to recognise resumption by.
    let sessionId = session?.sessionId ?? new Uint8Array(0);
    if (session?.ticket && sessionId.length === 0)
        sessionId = crypto.randomBytes(32);
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
/** RFC 5246 §7.4.1.2: gmt_unix_time then 28 random bytes. */
function randomWithTime() {
    const r = new Uint8Array(crypto.randomBytes(32));
    const t = Math.floor(Date.now() / 1000);
    r[0] = t >>> 24;
    r[1] = t >>> 16;
    r[2] = t >>> 8;
    r[3] = t;
    return r;
}
function isIpLiteral(host) {
    return /^[\d.]+$/.test(host) || host.includes(':');
}
function expectMessage(input, type, state) {
    if (input.kind === 'ccs')
        throw new TlsError('UnexpectedMessage', `ChangeCipherSpec while in ${state}`);
    if (isUnknown(input.msg) || input.msg.type !== type) {
        throw new TlsError('UnexpectedMessage', `${handshakeTypeName(input.msg.type)} while in ${state}`);
    }
    return { msg: input.msg, raw: input.raw };
}
function received(hs, input) {
    if (input.kind !== 'message')
        return;
    hs.transcript.append(input.raw);
}
// --- ServerHello ---------------------------------------------------------------
class ExpectServerHello {
    config;
    hs;
    name = 'ExpectServerHello';
    constructor(config, hs) {
        this.config = config;
        this.hs = hs;
    }
    handle(cx, input) {
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
        if (sh.compressionMethod !== 0)
            throw new TlsError('IllegalParameter', 'server chose compression');
        ext.rejectDuplicates(sh.extensions);
        for (const e of sh.extensions ?? []) {
            // RFC 5246 §7.4.1.4: a server MUST NOT send an extension the client did not offer.
            if (!hs.offeredExtensions.has(e.type)) {
                throw new TlsError('UnsupportedExtension', `server sent ${extensionName(e.type)}, which we did not offer`);
            }
        }
        checkRenegotiationInfo(cx, config, hs, sh);
        hs.ems = ext.findExtension(sh.extensions, ExtensionType.extended_master_secret) !== undefined;
        hs.ticketExpected = ext.findExtension(sh.extensions, ExtensionType.session_ticket) !== undefined;
        const alpnExt = ext.findExtension(sh.extensions, ExtensionType.application_layer_protocol_negotiation);
        if (alpnExt) {
            const chosen = ext.parseAlpn(alpnExt.data);
            // RFC 7301 §3.1: exactly one protocol, one the client offered.
            if (chosen.length !== 1 || !config.alpn?.includes(chosen[0])) {
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
    resume(cx, session, sh) {
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
function checkServerHelloVersion(cx, config, hs, sh) {
    const sv = ext.findExtension(sh.extensions, ExtensionType.supported_versions);
    if (sv || sh.version > hs.offeredVersion || sh.version < config.minVersion) {
        // RFC 8446 §4.1.3: a renegotiating client that sees TLS 1.3 aborts with protocol_version.
        throw new TlsError('ProtocolVersion', `server chose ${versionName(sv ? ext.parseSelectedVersion(sv.data) : sh.version)}`);
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
function checkRenegotiationInfo(cx, config, hs, sh) {
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
class ExpectCertificate {
    config;
    hs;
    name = 'ExpectCertificate';
    constructor(config, hs) {
        this.config = config;
        this.hs = hs;
    }
    handle(cx, input) {
        const { msg } = expectMessage(input, HandshakeType.certificate, this.name);
        received(this.hs, input);
        const hs = this.hs;
        if (msg.certificates.length === 0)
            throw new TlsError('BadCertificate', 'server sent no certificate');
        let leaf;
        try {
            leaf = new crypto.X509Certificate(Buffer.from(msg.certificates[0]));
        }
        catch {
            throw new TlsError('BadCertificate', 'server certificate does not parse');
        }
        if (!this.config.insecure) {
            verifyChain(msg.certificates, this.config.trust ?? systemTrustStore(), this.config.serverName);
            hs.peerVerified = true;
        }
        checkIdentityChange(cx, this.config, hs, msg.certificates);
        hs.peerCertificates = msg.certificates;
        hs.peerKey = leaf.publicKey;
        const keyType = keyTypeOf(leaf.publicKey);
        if ((hs.suite.auth === 'RSA' && keyType !== 'rsa') || (hs.suite.auth === 'ECDSA' && keyType !== 'ec')) {
            throw new TlsError('BadCertificate', `a ${keyType} certificate for a ${hs.suite.auth} suite`);
        }
        if (hs.suite.kx === 'RSA')
            return new ExpectCertificateRequestOrDone(this.config, hs, undefined);
        return new ExpectServerKeyExchange(this.config, hs);
    }
}
/**
 * Triple-handshake defence (RFC 7627 §1; CVE-2014-1771 was SChannel failing to
 * do this): a renegotiation must not switch to another server certificate
 * unless both handshakes bound their master secrets to the transcript.
 */
function checkIdentityChange(cx, config, hs, chain) {
    if (!hs.renegotiation)
        return;
    const before = cx.security.peerCertificates[0];
    if (!before || constantTimeEqual(before, chain[0]))
        return;
    const rule = config.renegotiation.serverCertificateChange;
    if (rule === 'allow')
        return;
    if (rule === 'allow-with-ems' && cx.security.extendedMasterSecret && hs.ems)
        return;
    throw new TlsError('ServerIdentityChangedOnRenegotiation', 'server certificate changed across renegotiation');
}
class ExpectServerKeyExchange {
    config;
    hs;
    name = 'ExpectServerKeyExchange';
    constructor(config, hs) {
        this.config = config;
        this.hs = hs;
    }
    handle(_cx, input) {
        const { msg } = expectMessage(input, HandshakeType.server_key_exchange, this.name);
        received(this.hs, input);
        const hs = this.hs;
        const kind = hs.suite.kx === 'ECDHE' ? 'ECDHE' : 'DHE';
        const params = parseServerKeyExchange(msg.body, kind, hs.version);
        if (kind === 'ECDHE' && !this.config.groups.includes(params.group)) {
            throw new TlsError('IllegalParameter', 'server chose a group we did not offer');
        }
        // RFC 5246 §7.4.3: signed over client_random + server_random + params.
        const signed = concat(hs.clientRandom, hs.serverRandom, params.params);
        verifySignature(hs.version, hs.peerKey, params.scheme, signed, params.signature, this.config.signatureSchemes);
        return new ExpectCertificateRequestOrDone(this.config, hs, params);
    }
}
class ExpectCertificateRequestOrDone {
    config;
    hs;
    kx;
    name = 'ExpectCertificateRequestOrServerHelloDone';
    constructor(config, hs, kx) {
        this.config = config;
        this.hs = hs;
        this.kx = kx;
    }
    handle(cx, input) {
        if (input.kind === 'message' && input.msg.type === HandshakeType.certificate_request) {
            received(this.hs, input);
            this.hs.certificateRequest = input.msg;
            return new ExpectServerHelloDone(this.config, this.hs, this.kx);
        }
        return new ExpectServerHelloDone(this.config, this.hs, this.kx).handle(cx, input);
    }
}
class ExpectServerHelloDone {
    config;
    hs;
    kx;
    name = 'ExpectServerHelloDone';
    constructor(config, hs, kx) {
        this.config = config;
        this.hs = hs;
        this.kx = kx;
    }
    handle(cx, input) {
        expectMessage(input, HandshakeType.server_hello_done, this.name);
        received(this.hs, input);
        return sendClientFlight(cx, this.config, this.hs, this.kx);
    }
}
/** Certificate?, ClientKeyExchange, CertificateVerify?, ChangeCipherSpec, Finished (RFC 5246 §7.3). */
function sendClientFlight(cx, config, hs, kx) {
    const sendMsg = (m) => {
        const raw = encodeHandshake(m);
        hs.transcript.append(raw);
        cx.send(raw);
        cx.emit({ type: 'handshake-message', direction: 'out', message: m, raw });
    };
    const req = hs.certificateRequest;
    const haveCert = req !== undefined && config.clientCertificates !== undefined && config.clientKey !== undefined;
    if (req) {
        // RFC 5246 §7.4.6: answer a request with our chain, or an empty list (TLS 1.0+).
        sendMsg({ type: HandshakeType.certificate, certificates: haveCert ? config.clientCertificates : [] });
        hs.clientCertificateSent = haveCert;
    }
    let premaster;
    let body;
    if (hs.suite.kx === 'RSA') {
        ({ premaster, body } = rsaKeyTransport(hs.peerKey, hs.offeredVersion));
    }
    else if (kx.kind === 'ECDHE') {
        const share = ecdheKeyShare(kx.group);
        premaster = share.agree(kx.publicKey);
        body = encodeEcdheClientKeyExchange(share.publicKey);
    }
    else {
        const share = dheKeyShare(kx.dhP, kx.dhG, config.minDhBits);
        premaster = share.agree(kx.publicKey);
        body = encodeDheClientKeyExchange(share.publicKey);
    }
    sendMsg({ type: HandshakeType.client_key_exchange, body });
    // RFC 7627 §4: the session hash runs through ClientKeyExchange.
    hs.masterSecret = hs.ems
        ? extendedMasterSecret(hs.version, hs.suite.prfHash, premaster, hs.transcript.hash(hs.version, hs.suite.prfHash))
        : masterSecret(hs.version, hs.suite.prfHash, premaster, hs.clientRandom, hs.serverRandom);
    premaster.fill(0);
    if (haveCert) {
        const key = config.clientKey;
        const scheme = chooseScheme(hs.version, key, req.signatureAlgorithms);
        const signature = sign(hs.version, key, scheme, hs.transcript.messages());
        sendMsg({ type: HandshakeType.certificate_verify, scheme, signature });
    }
    const keys = deriveProtectors(hs.suite, hs.version, hs.masterSecret, hs.clientRandom, hs.serverRandom);
    cx.setPendingReader(keys.serverWrite);
    sendFinished(cx, hs, keys.clientWrite, sendMsg);
    return new ExpectTicketOrCcs(config, hs, undefined, false);
}
function sendFinished(cx, hs, writer, sendMsg) {
    cx.changeWriteKeys(writer);
    const vd = verifyData(hs.version, hs.suite.prfHash, hs.masterSecret, 'client finished', hs.transcript.hash(hs.version, hs.suite.prfHash));
    cx.security.clientVerifyData = vd;
    sendMsg({ type: HandshakeType.finished, verifyData: vd });
}
// --- NewSessionTicket, ChangeCipherSpec, Finished --------------------------------
class ExpectTicketOrCcs {
    config;
    hs;
    ourWriter;
    resumed;
    name = 'ExpectNewSessionTicketOrChangeCipherSpec';
    constructor(config, hs, 
    /** Set on resumption: we send our Finished after the server's. */
    ourWriter, resumed) {
        this.config = config;
        this.hs = hs;
        this.ourWriter = ourWriter;
        this.resumed = resumed;
    }
    handle(cx, input) {
        if (input.kind === 'message' && input.msg.type === HandshakeType.new_session_ticket && this.hs.ticketExpected) {
            received(this.hs, input);
            const m = input.msg;
            this.hs.newTicket = { ticket: m.ticket, lifetimeHint: m.lifetimeHint };
            return new ExpectCcs(this.config, this.hs, this.ourWriter, this.resumed);
        }
        return new ExpectCcs(this.config, this.hs, this.ourWriter, this.resumed).handle(cx, input);
    }
}
class ExpectCcs {
    config;
    hs;
    ourWriter;
    resumed;
    name = 'ExpectChangeCipherSpec';
    constructor(config, hs, ourWriter, resumed) {
        this.config = config;
        this.hs = hs;
        this.ourWriter = ourWriter;
        this.resumed = resumed;
    }
    handle(_cx, input) {
        if (input.kind !== 'ccs') {
            throw new TlsError('UnexpectedMessage', `${handshakeTypeName(input.msg.type)} while in ${this.name}`);
        }
        return new ExpectFinished(this.config, this.hs, this.ourWriter, this.resumed);
    }
}
class ExpectFinished {
    config;
    hs;
    ourWriter;
    resumed;
    name = 'ExpectFinished';
    constructor(config, hs, ourWriter, resumed) {
        this.config = config;
        this.hs = hs;
        this.ourWriter = ourWriter;
        this.resumed = resumed;
    }
    handle(cx, input) {
        const { msg, raw } = expectMessage(input, HandshakeType.finished, this.name);
        const hs = this.hs;
        const expected = verifyData(hs.version, hs.suite.prfHash, hs.masterSecret, 'server finished', hs.transcript.hash(hs.version, hs.suite.prfHash));
        if (!constantTimeEqual(msg.verifyData, expected)) {
            throw new TlsError('DecryptError', 'server Finished verify_data does not match');
        }
        hs.transcript.append(raw);
        cx.security.serverVerifyData = expected;
        if (this.resumed) {
            sendFinished(cx, hs, this.ourWriter, (m) => {
                const r = encodeHandshake(m);
                hs.transcript.append(r);
                cx.send(r);
                cx.emit({ type: 'handshake-message', direction: 'out', message: m, raw: r });
            });
        }
        return completeHandshake(cx, this.config, hs, this.resumed);
    }
}
function completeHandshake(cx, config, hs, resumed) {
    const sec = cx.security;
    const renegotiation = sec.handshakes;
    // RFC 5746 §3.4: the flag is set by the first handshake and never changes afterwards.
    if (!hs.renegotiation)
        sec.secureRenegotiation = hs.secureRenegotiation;
    sec.version = hs.version;
    sec.suite = hs.suite;
    sec.extendedMasterSecret = hs.ems;
    sec.peerCertificates = hs.peerCertificates;
    sec.alpn = hs.alpn;
    sec.handshakes++;
    const session = {
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
    if (session.sessionId.length > 0 || session.ticket)
        cx.emit({ type: 'session', session });
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
    return new ClientTraffic();
}
/** Application data flows; a HelloRequest here is handled by the connection's policy. */
export class ClientTraffic {
    name = 'Traffic';
    isTraffic = true;
    handle(_cx, input) {
        const t = input.kind === 'ccs' ? 'ChangeCipherSpec' : handshakeTypeName(input.msg.type);
        throw new TlsError('UnexpectedMessage', `${t} after the handshake`);
    }
}
//# sourceMappingURL=client.js.map