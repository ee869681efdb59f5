/**
 * The Duplex both socket adapters share: a net.Socket below, a sans-I/O
 * Connection inside, stream data and TLSSocket-like events above. Every wait has
 * a timeout. This is where the engine meets I/O, and the only place.
 */
import * as crypto from 'node:crypto';
import { Duplex } from 'node:stream';
import { suiteById, suiteName } from "../crypto/suites.js";
import { alertName, versionName } from "../wire/enums.js";
import { TlsError } from "../wire/errors.js";
export const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;
export class EngineSocket extends Duplex {
    engine;
    socket;
    summary;
    secure = false;
    timer;
    handshakeTimeout;
    waiters = [];
    pendingWrites = [];
    constructor(engine, socket, handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT) {
        super({ allowHalfOpen: false });
        this.engine = engine;
        this.socket = socket;
        this.handshakeTimeout = handshakeTimeout;
        socket.setNoDelay(true);
        socket.on('data', (d) => this.handle(this.engine.receive(d)));
        // A reset after we closed our side is the end of the conversation, not a failure.
        socket.on('error', (e) => (this.writableEnded ? this.destroy() : this.destroy(e)));
        socket.on('close', () => this.onSocketClose());
    }
    /** Bounds a handshake: the initial one aborts the connection, a renegotiation too. */
    armTimer(what) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.abort(new TlsError('Timeout', `${what} timed out after ${this.handshakeTimeout} ms`)), this.handshakeTimeout);
        this.timer.unref?.();
    }
    abort(error) {
        this.engine.fail(error);
        this.handle(this.engine.drainEvents());
    }
    flush() {
        const out = this.engine.takeOutput();
        if (out.length > 0 && !this.socket.destroyed)
            this.socket.write(out);
    }
    handle(events) {
        this.flush();
        for (const e of events) {
            for (const w of this.waiters.slice())
                w(e);
            this.onEvent(e);
            this.emit('tlsEvent', e);
        }
        this.flush();
    }
    onEvent(e) {
        switch (e.type) {
            case 'data':
                if (!this.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength)))
                    this.socket.pause();
                return;
            case 'handshake-complete':
                clearTimeout(this.timer);
                this.summary = e.summary;
                if (this.secure) {
                    this.emit('renegotiated', e.summary);
                    return;
                }
                this.secure = true;
                this.onSecure();
                this.drainPendingWrites();
                return;
            case 'renegotiation-requested':
                this.emit('renegotiationRequested', e);
                if (e.accepted)
                    this.armTimer('renegotiation');
                return;
            case 'renegotiation-refused':
                clearTimeout(this.timer);
                return;
            case 'close-notify':
                this.push(null);
                return;
            case 'error':
                clearTimeout(this.timer);
                if (e.error.kind !== 'PeerClosed')
                    this.destroy(e.error);
                return;
            default:
                return;
        }
    }
    onSocketClose() {
        clearTimeout(this.timer);
        for (const w of this.waiters.slice())
            w({ type: 'socket-closed' });
        if (!this.secure && !this.destroyed) {
            this.destroy(new TlsError('PeerClosed', 'connection closed during the handshake'));
            return;
        }
        this.push(null);
        for (const w of this.pendingWrites)
            w.cb(new TlsError('PeerClosed', 'connection closed'));
        this.pendingWrites = [];
        if (!this.destroyed)
            this.destroy();
    }
    // --- Duplex ----------------------------------------------------------------
    _read() {
        if (this.socket.isPaused())
            this.socket.resume();
    }
    _write(chunk, _enc, cb) {
        if (!this.secure) {
            this.pendingWrites.push({ chunk, cb });
            return;
        }
        this.writeNow(chunk, cb);
    }
    writeNow(chunk, cb) {
        try {
            this.engine.write(chunk);
        }
        catch (e) {
            cb(e);
            return;
        }
        if (this.socket.destroyed)
            return cb(new TlsError('PeerClosed', 'socket closed'));
        this.socket.write(this.engine.takeOutput(), (err) => cb(err ?? null));
    }
    drainPendingWrites() {
        const queued = this.pendingWrites;
        this.pendingWrites = [];
        for (const w of queued)
            this.writeNow(w.chunk, w.cb);
    }
    _final(cb) {
        this.engine.close();
        this.socket.end(this.engine.takeOutput(), () => cb());
    }
    _destroy(err, cb) {
        clearTimeout(this.timer);
        this.socket.destroy();
        cb(err);
    }
    // --- what node:http and TLSSocket users expect of a socket ---------------------
    get encrypted() {
        return true;
    }
    get authorized() {
        return this.summary?.peerVerified ?? false;
    }
    get remoteAddress() {
        return this.socket.remoteAddress;
    }
    get remotePort() {
        return this.socket.remotePort;
    }
    get remoteFamily() {
        return this.socket.remoteFamily;
    }
    get localAddress() {
        return this.socket.localAddress;
    }
    get localPort() {
        return this.socket.localPort;
    }
    address() {
        return this.socket.address();
    }
    setTimeout(ms, cb) {
        this.socket.setTimeout(ms);
        if (cb)
            this.once('timeout', cb);
        this.socket.removeAllListeners('timeout');
        if (ms > 0)
            this.socket.once('timeout', () => this.emit('timeout'));
        return this;
    }
    setNoDelay(noDelay) {
        this.socket.setNoDelay(noDelay);
        return this;
    }
    setKeepAlive(enable, delay) {
        this.socket.setKeepAlive(enable, delay);
        return this;
    }
    destroySoon() {
        this.end();
    }
    getProtocol() {
        return this.summary ? versionName(this.summary.version) : null;
    }
    getCipher() {
        if (!this.summary)
            return null;
        const s = suiteById(this.summary.cipherSuite);
        return {
            name: s?.opensslName ?? suiteName(this.summary.cipherSuite),
            standardName: s?.name ?? suiteName(this.summary.cipherSuite),
            version: versionName(this.summary.version),
        };
    }
    getPeerCertificate() {
        const der = this.summary?.peerCertificates[0];
        if (!der)
            return {};
        const c = new crypto.X509Certificate(Buffer.from(der));
        return {
            subject: c.subject,
            issuer: c.issuer,
            subjectaltname: c.subjectAltName,
            valid_from: c.validFrom,
            valid_to: c.validTo,
            fingerprint256: c.fingerprint256,
            serialNumber: c.serialNumber,
            raw: c.raw,
        };
    }
    isSessionReused() {
        return this.summary?.resumed ?? false;
    }
    /** The last completed handshake's facts (RFC 5746 and RFC 7627 status included). */
    getHandshakeSummary() {
        return this.summary;
    }
    /**
     * Runs `start` (which makes the engine send a ClientHello or HelloRequest) and
     * resolves with how the renegotiation ended; never rejects.
     */
    awaitRenegotiation(start, timeoutMs) {
        return new Promise((resolve) => {
            let timer;
            const done = (r) => {
                clearTimeout(timer);
                this.waiters = this.waiters.filter((w) => w !== waiter);
                resolve(r);
            };
            const waiter = (e) => {
                switch (e.type) {
                    case 'handshake-complete':
                        return done({ outcome: 'completed', summary: e.summary });
                    case 'renegotiation-refused':
                        return done({ outcome: 'refused-alert', alert: alertName(e.alert) });
                    case 'error':
                        return done({
                            outcome: 'closed',
                            error: e.error.message,
                            ...(e.error.peerAlert !== undefined ? { alert: alertName(e.error.peerAlert) } : {}),
                        });
                    case 'socket-closed':
                        return done({ outcome: 'closed', error: 'connection closed' });
                    default:
                        return;
                }
            };
            this.waiters.push(waiter);
            timer = setTimeout(() => done({ outcome: 'timeout' }), timeoutMs);
            timer.unref?.();
            try {
                this.handle(start());
            }
            catch (e) {
                done({ outcome: 'closed', error: e instanceof Error ? e.message : String(e) });
            }
        });
    }
}
//# sourceMappingURL=engine-socket.js.map