/**
 * The server connection: the sans-I/O core plus the server's renegotiation
 * policy, applied in one place (`onHandshakeInTraffic` for a client's
 * ClientHello, `requestRenegotiation` for our HelloRequest).
 */
import { SUPPORTED_GROUPS } from "../crypto/key-exchange.js";
import { SUPPORTED_SCHEMES } from "../crypto/signatures.js";
import { DEFAULT_CLIENT_SUITES } from "../crypto/suites.js";
import { ExpectClientHello } from "../handshake/server.js";
import { SAFE_SERVER_RENEGOTIATION } from "../handshake/server-config.js";
import { SessionStore } from "../handshake/server-sessions.js";
import { AlertDescription, AlertLevel, HandshakeType, ProtocolVersion } from "../wire/enums.js";
import { TlsError } from "../wire/errors.js";
import { encodeHandshake } from "../wire/handshake.js";
import { Connection } from "./connection.js";
export function createServerContext(input) {
    const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
    const config = {
        minVersion: ProtocolVersion.TLSv1,
        maxVersion: ProtocolVersion['TLSv1.2'],
        cipherSuites: DEFAULT_CLIENT_SUITES,
        groups: SUPPORTED_GROUPS,
        signatureSchemes: SUPPORTED_SCHEMES,
        clientCertificate: 'none',
        clientCertificateRequired: false,
        extendedMasterSecret: true,
        sessionCache: true,
        sessionTickets: true,
        sessionLifetimeMs: 2 * 60 * 60 * 1000,
        maxHandshakeMessageSize: 64 * 1024,
        ...defined,
        renegotiation: { ...SAFE_SERVER_RENEGOTIATION, ...input.renegotiation },
    };
    if (config.certificates.length === 0)
        throw new TlsError('InternalError', 'a server needs a certificate');
    const sessions = config.sessionCache || config.sessionTickets ? new SessionStore(config.sessionLifetimeMs, config.ticketKey) : undefined;
    return { config, sessions };
}
/** Refusals of a client's renegotiation tolerated before we close (rustls closes at the second). */
const MAX_REFUSALS = 5;
export class ServerConnection extends Connection {
    config;
    sessions;
    /** We sent HelloRequest and wait for the client's ClientHello. */
    helloRequestPending = false;
    requestCertOnRenegotiation = false;
    refusals = 0;
    clientInitiated = [];
    constructor(ctx, options = {}) {
        const first = new ExpectClientHello(ctx.config, {
            requestClientCertificate: ctx.config.clientCertificate === 'initial',
            sessions: ctx.sessions,
        });
        super({ maxHandshakeMessageSize: ctx.config.maxHandshakeMessageSize, observe: options.observe ?? false }, first);
        this.config = ctx.config;
        this.sessions = ctx.sessions;
    }
    negotiatingVersion() {
        return undefined;
    }
    /**
     * Sends HelloRequest (RFC 5246 §7.4.1.1), optionally asking for a client
     * certificate in the new handshake: IIS's way to authenticate a protected
     * path. Refused locally, with a typed error, when policy forbids it.
     */
    requestRenegotiation(opts = {}) {
        if (this.error)
            throw this.error;
        const p = this.config.renegotiation;
        if (!p.enabled)
            throw new TlsError('RenegotiationRefused', 'renegotiation is disabled on this server');
        if (!this.handshakeComplete || this.isHandshaking || this.helloRequestPending) {
            throw new TlsError('InternalError', 'a renegotiation needs a completed handshake and none under way');
        }
        if (p.rfc5746 && !this.security.secureRenegotiation && !p.allowUnsafeLegacy) {
            throw new TlsError('InsecureRenegotiationRefused', 'client does not support RFC 5746; refusing to renegotiate');
        }
        this.helloRequestPending = true;
        this.requestCertOnRenegotiation = opts.requestCert ?? false;
        // HelloRequest is not part of any transcript (RFC 5246 §7.4.1.1).
        const raw = encodeHandshake({ type: HandshakeType.hello_request });
        this.emit({ type: 'handshake-message', direction: 'out', message: { type: HandshakeType.hello_request }, raw });
        this.sendRawHandshake(raw);
        return this.drainEvents();
    }
    get awaitingRenegotiation() {
        return this.helloRequestPending;
    }
    onHandshakeInTraffic(msg, raw) {
        if (msg.type !== HandshakeType.client_hello) {
            throw new TlsError('UnexpectedMessage', `handshake message ${msg.type} after the handshake`);
        }
        const requested = this.helloRequestPending;
        const refusal = this.refusalReason(requested);
        if (refusal) {
            this.emit({ type: 'renegotiation-requested', accepted: false, reason: refusal });
            if (this.config.renegotiation.refuseWith === 'fatal')
                throw new TlsError('RenegotiationRefused', refusal);
            if (++this.refusals > MAX_REFUSALS)
                throw new TlsError('TooManyRenegotiationRequests', `${this.refusals} refused renegotiations`);
            this.sendAlert(AlertLevel.warning, AlertDescription.no_renegotiation);
            return;
        }
        if (!requested)
            this.countClientInitiated();
        this.emit({ type: 'renegotiation-requested', accepted: true, reason: requested ? 'answer to our HelloRequest' : 'client-initiated' });
        this.helloRequestPending = false;
        this.state = new ExpectClientHello(this.config, {
            requestClientCertificate: (requested && this.requestCertOnRenegotiation) || this.config.clientCertificate === 'initial' || this.security.peerCertificates.length > 0,
            sessions: this.sessions,
        });
        this.advance({ kind: 'message', msg, raw });
    }
    refusalReason(requested) {
        const p = this.config.renegotiation;
        if (!p.enabled)
            return 'renegotiation is disabled on this server';
        if (!requested && !p.allowClientInitiated)
            return 'client-initiated renegotiation is not allowed';
        // RFC 5746 §4.4: refuse to renegotiate a connection set up by a legacy client (OpenSSL's no_renegotiation warning).
        if (p.rfc5746 && !this.security.secureRenegotiation && !p.allowUnsafeLegacy) {
            return 'client does not support RFC 5746 secure renegotiation';
        }
        return undefined;
    }
    /** CVE-2011-1473: a sliding window over client-initiated renegotiations, as Node's CLIENT_RENEG_LIMIT. */
    countClientInitiated() {
        const { count, windowMs } = this.config.renegotiation.clientLimit;
        if (count <= 0)
            return;
        const now = Date.now();
        while (this.clientInitiated.length > 0 && now - this.clientInitiated[0] > windowMs)
            this.clientInitiated.shift();
        this.clientInitiated.push(now);
        if (this.clientInitiated.length > count) {
            throw new TlsError('TooManyRenegotiationRequests', `more than ${count} client-initiated renegotiations in ${windowMs} ms`);
        }
    }
    /** The client declined our HelloRequest with a no_renegotiation warning: the session goes on. */
    onWarningAlert(description) {
        if (description !== AlertDescription.no_renegotiation || !this.helloRequestPending)
            return;
        this.helloRequestPending = false;
        this.emit({ type: 'renegotiation-refused', alert: description });
    }
}
//# sourceMappingURL=server-connection.js.map