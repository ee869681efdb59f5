/**
 * An in-process node:https server as a real peer (Node 20, OpenSSL 3.0).
 *
 * Facts about node:tls that the renegotiation tests rely on:
 * - Unlike openssl s_server, Node 20 accepts client-initiated renegotiation by default (TLS 1.2
 *   and below): checked with `openssl s_client` + `R`. OpenSSL 3 itself refuses it unless
 *   SSL_OP_ALLOW_CLIENT_RENEGOTIATION is set, a constant node does not export.
 * - Node rate-limits it: more than tls.CLIENT_RENEG_LIMIT (3) renegotiations within
 *   tls.CLIENT_RENEG_WINDOW (600 s) make the socket emit ERR_TLS_SESSION_ATTACK; this server logs
 *   `error … ERR_TLS_SESSION_ATTACK` and destroys the connection.
 * - `secureOptions: crypto.constants.SSL_OP_NO_RENEGOTIATION` refuses renegotiation: the server
 *   answers the ClientHello with a warning no_renegotiation alert (s_client then gives up with a
 *   fatal handshake_failure).
 * - There is no public renegotiation event, but the server's 'keylog' event fires once per
 *   completed handshake with a `CLIENT_RANDOM` line (TLS 1.2 and below) or once with
 *   `CLIENT_TRAFFIC_SECRET_0` (TLS 1.3); counting those per socket counts handshakes.
 * - tlsSocket.renegotiate() needs TLS 1.2 or below, so maxVersion defaults to TLSv1.2 here.
 * - tlsSocket.renegotiate({ requestCert: true }) lets the client resume its session in the new
 *   handshake: an abbreviated handshake has no CertificateRequest, so no certificate arrives
 *   (authorizationError UNABLE_TO_GET_ISSUER_CERT). SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION,
 *   set here whenever renegotiatePath is, forces a full handshake.
 * - When that verification fails with rejectUnauthorized, node destroys the socket and still calls
 *   the renegotiate() callback without an error: check socket.destroyed there.
 *
 * Every request gets a text/plain body of `name: value` lines:
 *   path, handshakes (on this connection), client (certificate subject CN or "none"),
 *   authorized, protocol, cipher
 */
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { OutputLog } from "./peer-process.js";
const HANDSHAKE_KEYLOG = /^(CLIENT_RANDOM|CLIENT_TRAFFIC_SECRET_0) /;
function pem(value) {
    return value.includes('-----BEGIN ') ? value : readFileSync(value, 'utf8');
}
function clientSubject(socket) {
    const cert = socket.getPeerCertificate();
    if (cert === null || Object.keys(cert).length === 0)
        return 'none';
    return String(cert.subject.CN);
}
/** getCipher() is typed non-null but returns null in the renegotiate() callback. */
function cipherName(socket) {
    const cipher = socket.getCipher();
    return cipher?.name ?? 'unknown';
}
function describe(req, socket, handshakes) {
    const lines = [
        `path: ${req.url ?? ''}`,
        `handshakes: ${handshakes}`,
        `client: ${clientSubject(socket)}`,
        `authorized: ${socket.authorized}`,
        `protocol: ${socket.getProtocol() ?? 'unknown'}`,
        `cipher: ${cipherName(socket)}`,
    ];
    return `${lines.join('\n')}\n`;
}
function secureOptions(options) {
    const renegotiation = options.renegotiatePath === undefined ? 0 : constants.SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION;
    return (options.secureOptions ?? 0) | renegotiation;
}
function listen(server, host) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: 0 }, () => {
            server.off('error', reject);
            const address = server.address();
            if (address === null || typeof address === 'string')
                reject(new Error('https server has no port'));
            else
                resolve(address.port);
        });
    });
}
export async function startNodeTlsServer(options) {
    const host = options.host ?? '127.0.0.1';
    const log = new OutputLog('node https server');
    const handshakes = new WeakMap();
    const sockets = new Set();
    let totalHandshakes = 0;
    const respond = (req, res) => {
        const socket = req.socket;
        log.append(`request ${req.method} ${req.url}\n`);
        const answer = () => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end(describe(req, socket, handshakes.get(socket) ?? 0));
        };
        if (options.renegotiatePath === undefined || req.url !== options.renegotiatePath) {
            answer();
            return;
        }
        log.append('renegotiate requesting a client certificate\n');
        socket.renegotiate({ requestCert: true, rejectUnauthorized: true }, (error) => {
            if (socket.destroyed) {
                log.append(`renegotiation failed: client certificate rejected (${String(socket.authorizationError)})\n`);
                return;
            }
            if (error === null || error === undefined) {
                log.append(`renegotiated client=${clientSubject(socket)}\n`);
                answer();
                return;
            }
            log.append(`renegotiation failed ${error.message}\n`);
            if (!res.headersSent && !socket.destroyed) {
                res.writeHead(403, { 'content-type': 'text/plain' });
                res.end(`renegotiation failed: ${error.message}\n`);
            }
        });
    };
    const server = createServer({
        cert: pem(options.cert),
        key: pem(options.key),
        ...(options.ca === undefined ? {} : { ca: pem(options.ca) }),
        ...(options.minVersion === undefined ? {} : { minVersion: options.minVersion }),
        maxVersion: options.maxVersion ?? 'TLSv1.2',
        ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
        secureOptions: secureOptions(options),
    }, respond);
    server.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
    });
    server.on('keylog', (line, socket) => {
        if (!HANDSHAKE_KEYLOG.test(line.toString('latin1')))
            return;
        const n = (handshakes.get(socket) ?? 0) + 1;
        handshakes.set(socket, n);
        totalHandshakes++;
        log.append(`handshake n=${n} protocol=${socket.getProtocol() ?? 'unknown'}\n`);
    });
    server.on('secureConnection', (socket) => {
        log.append(`secure connection from ${socket.remoteAddress}:${socket.remotePort}\n`);
        socket.on('error', (error) => {
            log.append(`error ${error.code ?? ''} ${error.message}\n`);
            socket.destroy();
        });
    });
    server.on('tlsClientError', (error) => {
        log.append(`tlsClientError ${error.code ?? ''} ${error.message}\n`);
    });
    const port = await listen(server, host);
    log.append(`listening on ${host}:${port}\n`);
    let stopping;
    const stop = async () => {
        const closed = new Promise((resolve) => server.close(() => resolve()));
        for (const socket of sockets)
            socket.destroy();
        await closed;
        log.end('node https server stopped');
    };
    return {
        host,
        port,
        stop: () => (stopping ??= stop()),
        output: () => log.text(),
        waitForOutput: (re, timeoutMs) => log.waitFor(re, timeoutMs),
        countHandshakes: () => totalHandshakes,
    };
}
//# sourceMappingURL=node-server.js.map