/**
 * `renego server`: the engine's s_server. Echo mode by default; `--www` answers
 * HTTP with the request line, the connection's renegotiation count and the
 * client certificate, renegotiating for a certificate on protected paths as IIS
 * did. One log line per handshake and renegotiation.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer } from "../adapter/server.js";
import { suiteByName, suiteName } from "../crypto/suites.js";
import { SERVER_PRESETS, isPresetName } from "../handshake/server-presets.js";
import { certificateSubject as subjectOf, loadCertificate } from "../pki/credentials.js";
import { createTestPki, writePkiFiles } from "../pki/throwaway.js";
import { trustStoreFromPem } from "../pki/verify.js";
import { ProtocolVersion, versionName } from "../wire/enums.js";
import { versionFromName } from "./client.js";
export async function startServer(opts) {
    const log = opts.log ?? ((l) => process.stdout.write(l + '\n'));
    const emit = (event, fields) => {
        if (opts.json)
            log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
        else
            log(`${event} ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`);
    };
    let certPem;
    let keyPem;
    let caFile;
    let clientCertFile;
    let clientKeyFile;
    let clientCaPem = opts.clientCaFile ? fs.readFileSync(opts.clientCaFile) : undefined;
    if (opts.certFile) {
        certPem = fs.readFileSync(opts.certFile);
        keyPem = fs.readFileSync(opts.keyFile ?? opts.certFile);
    }
    else {
        const pki = await createTestPki({ keyType: opts.keyType ?? 'rsa' });
        const files = await writePkiFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'renego-server-')), pki);
        certPem = pki.server.chainPem;
        keyPem = pki.server.keyPem;
        caFile = files.ca;
        clientCertFile = files.clientCert;
        clientKeyFile = files.clientKey;
        clientCaPem ??= pki.ca.certPem;
    }
    const preset = opts.preset ? SERVER_PRESETS[presetName(opts.preset)] : undefined;
    const clientCertificate = opts.clientCert ?? preset?.clientCertificate ?? 'none';
    const options = {
        certificates: [loadCertificate(certPem, keyPem)],
        minVersion: versionFromName(opts.minVersion, ProtocolVersion.TLSv1),
        maxVersion: versionFromName(opts.maxVersion, ProtocolVersion['TLSv1.2']),
        cipherSuites: opts.ciphers?.split(/[:,]/).map((n) => {
            const s = suiteByName(n.trim());
            if (!s)
                throw new Error(`unknown or unavailable cipher suite ${n}`);
            return s;
        }),
        alpn: opts.alpn,
        clientCertificate,
        clientCertificateRequired: opts.requireClientCert ?? false,
        clientTrust: clientCaPem ? trustStoreFromPem(clientCaPem) : undefined,
        renegotiation: { ...preset?.renegotiation, ...opts.renegotiation },
        handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
    };
    const app = opts.www ? wwwApp(opts.protectedPath, clientCertificate, emit) : undefined;
    const server = createServer(options, (sock) => {
        const peer = `${sock.remoteAddress}:${sock.remotePort}`;
        emit('handshake', { peer, ...describe(sock.getHandshakeSummary()) });
        sock.on('renegotiated', (s) => emit('renegotiation', { peer, ...describe(s) }));
        sock.on('renegotiationRequested', (e) => {
            if (!e.accepted)
                emit('renegotiation-refused', { peer, reason: e.reason });
        });
        if (app)
            app.emit('connection', sock);
        else
            sock.pipe(sock);
    });
    server.on('tlsClientError', (e, sock) => emit('error', { peer: `${sock.remoteAddress}:${sock.remotePort}`, error: e.message }));
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => resolve());
    });
    const port = server.address().port;
    emit('listening', {
        address: `${opts.host}:${port}`,
        preset: opts.preset ?? 'none',
        clientCertificate,
        renegotiation: options.renegotiation,
        ...(caFile ? { ca: caFile, clientCert: clientCertFile, clientKey: clientKeyFile } : {}),
    });
    return {
        server,
        port,
        caFile,
        clientCertFile,
        clientKeyFile,
        close: () => new Promise((resolve) => {
            server.close(() => resolve());
            app?.closeAllConnections();
        }),
    };
}
function presetName(name) {
    if (!isPresetName(name))
        throw new Error(`unknown preset ${name}; known: ${Object.keys(SERVER_PRESETS).join(', ')}`);
    return name;
}
function describe(s) {
    const peerCert = s.peerCertificates[0];
    return {
        handshake: s.renegotiation,
        version: versionName(s.version),
        cipher: suiteName(s.cipherSuite),
        secureRenegotiation: s.secureRenegotiation,
        extendedMasterSecret: s.extendedMasterSecret,
        resumed: s.resumed,
        clientCertificate: peerCert ? subjectOf(peerCert) : null,
    };
}
/** The --www responder: request line, renegotiations on this connection, client certificate subject. */
function wwwApp(protectedPath, mode, emit) {
    return http.createServer(async (req, res) => {
        const sock = req.socket;
        const isProtected = protectedPath !== undefined && (req.url ?? '').startsWith(protectedPath);
        if (isProtected && !sock.getHandshakeSummary()?.clientCertificateSent && mode === 'renegotiate') {
            const r = await sock.renegotiate({ requestCert: true, timeoutMs: 10_000 });
            if (r.outcome !== 'completed')
                emit('renegotiation-failed', { path: req.url, outcome: r.outcome, error: r.error ?? r.alert });
        }
        const s = sock.getHandshakeSummary();
        const subject = s?.peerCertificates[0] ? subjectOf(s.peerCertificates[0]) : null;
        if (isProtected && !subject) {
            res.writeHead(403, { 'content-type': 'text/plain' }).end(`${req.method} ${req.url}\nrenegotiations: ${s?.renegotiation ?? 0}\nclient certificate: none (required for ${protectedPath})\n`);
            return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${req.method} ${req.url} HTTP/${req.httpVersion}\nrenegotiations: ${s?.renegotiation ?? 0}\nclient certificate: ${subject ?? 'none'}\n`);
    });
}
//# sourceMappingURL=server.js.map