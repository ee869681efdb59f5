/**
 * The self-contained demo behind `npm start` (until the attack lab lands): a
 * local node:tls HTTPS server with throwaway certificates, and the renego client
 * against it: initial handshake, a client-initiated renegotiation, then a path
 * that makes the server renegotiate for a client certificate. Only 127.0.0.1.
 */
import * as crypto from 'node:crypto';
import * as https from 'node:https';
import { connect } from "../adapter/tls-socket.js";
import { createTestPki } from "../pki/throwaway.js";
import { trustStoreFromPem } from "../pki/verify.js";
import { exchange } from "./client.js";
export async function runDemo(log = console.log) {
    const pki = await createTestPki({ keyType: 'ecdsa' });
    const handshakes = new WeakMap();
    const server = https.createServer({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, maxVersion: 'TLSv1.2' }, (req, res) => {
        const sock = req.socket;
        const answer = () => {
            const peer = sock.getPeerCertificate();
            const who = peer && 'subject' in peer && peer.subject ? peer.subject.CN : 'anonymous';
            res.end(`${req.method} ${req.url} for ${who}\n`);
        };
        if (req.url !== '/secure')
            return answer();
        // The IIS pattern of 2009: renegotiate to ask for a client certificate on a protected path.
        sock.renegotiate({ requestCert: true, rejectUnauthorized: true }, (err) => (err ? res.destroy(err) : answer()));
    });
    server.on('secureConnection', (s) => handshakes.set(s, 1));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const port = server.address().port;
    const steps = [];
    const record = (step, ok, detail) => {
        steps.push({ step, ok, detail });
        log(`${ok ? 'ok  ' : 'FAIL'} ${step}: ${detail}`);
    };
    log(`node:tls HTTPS server on 127.0.0.1:${port} (OpenSSL ${process.versions.openssl}); renego client:`);
    try {
        const sock = await connect({
            host: '127.0.0.1',
            port,
            serverName: 'localhost',
            trust: trustStoreFromPem(pki.ca.certPem),
            clientCertificates: [new Uint8Array(new crypto.X509Certificate(pki.client.certPem).raw)],
            clientKey: crypto.createPrivateKey(pki.client.keyPem),
            handshakeTimeout: 5000,
        });
        const s = sock.getHandshakeSummary();
        record('initial handshake', true, `${sock.getProtocol()} ${sock.getCipher()?.standardName}, RFC 5746 ${s.secureRenegotiation ? 'yes' : 'no'}, EMS ${s.extendedMasterSecret ? 'yes' : 'no'}`);
        const first = await exchange(sock, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', 3000);
        record('request /', first.includes('for anonymous'), lastLine(first));
        const r = await sock.renegotiate({ timeoutMs: 5000 });
        record('client-initiated renegotiation', r.outcome === 'completed', `${r.outcome}${r.alert ? ` (${r.alert})` : ''}`);
        const renegotiated = new Promise((resolve) => sock.once('renegotiated', () => resolve()));
        const secure = await exchange(sock, 'GET /secure HTTP/1.1\r\nHost: localhost\r\n\r\n', 5000);
        await Promise.race([renegotiated, new Promise((r2) => setTimeout(r2, 100))]);
        const summary = sock.getHandshakeSummary();
        record('server-initiated renegotiation for a client certificate', secure.includes('renego test client') && summary.clientCertificateSent, `${lastLine(secure)} (handshake #${summary.renegotiation + 1}, client certificate ${summary.clientCertificateSent ? 'sent' : 'not sent'})`);
        await new Promise((resolve) => sock.end(resolve));
    }
    catch (e) {
        record('handshake', false, e.message);
    }
    finally {
        server.closeAllConnections?.();
        server.close();
    }
    return steps;
}
function lastLine(httpReply) {
    const body = httpReply.split('\r\n\r\n')[1] ?? httpReply;
    return body.trim().split('\n').pop() ?? '';
}
//# sourceMappingURL=demo.js.map