/** The client adapter: `connect(options)` gives a TLSSocket-like RenegoSocket on the client engine. */
import * as net from 'node:net';
import { ClientConnection } from "../connection/client-connection.js";
import { TlsError } from "../wire/errors.js";
import { EngineSocket } from "./engine-socket.js";
/** Events: 'secureConnect', 'renegotiated' (summary), 'renegotiationRequested' (a HelloRequest and our answer), 'session', 'tlsEvent'. */
export class RenegoSocket extends EngineSocket {
    session;
    constructor(options) {
        const socket = options.socket ?? net.connect({ host: options.host ?? 'localhost', port: options.port ?? 443 });
        super(new ClientConnection(options), socket, options.handshakeTimeout);
        if (options.socket) {
            queueMicrotask(() => this.begin());
            return;
        }
        socket.setTimeout(options.connectTimeout ?? 10_000, () => this.destroy(new TlsError('Timeout', 'TCP connect timed out')));
        socket.once('connect', () => {
            socket.setTimeout(0);
            this.begin();
        });
    }
    begin() {
        this.armTimer('handshake');
        this.handle(this.engine.start());
    }
    onSecure() {
        this.emit('secureConnect');
    }
    onEvent(e) {
        if (e.type === 'session') {
            this.session = e.session;
            this.emit('session', e.session);
        }
        super.onEvent(e);
    }
    getSession() {
        return this.session;
    }
    /** Starts a client-initiated renegotiation and resolves with how it ended; never rejects. */
    renegotiate(options = {}) {
        const opts = {};
        if (options.renegotiationInfo)
            opts.renegotiationInfo = options.renegotiationInfo;
        if (options.raw)
            opts.raw = options.raw;
        return this.awaitRenegotiation(() => this.engine.renegotiate(opts), options.timeoutMs ?? this.handshakeTimeout);
    }
}
/** Connects and resolves once the handshake completes; rejects with the TlsError otherwise. */
export function connect(options) {
    return new Promise((resolve, reject) => {
        const s = new RenegoSocket(options);
        const onError = (e) => reject(e);
        s.once('error', onError);
        s.once('secureConnect', () => {
            s.off('error', onError);
            resolve(s);
        });
    });
}
//# sourceMappingURL=tls-socket.js.map