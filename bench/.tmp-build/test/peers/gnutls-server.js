/**
 * `gnutls-serv` (GnuTLS 3.7, Debian 12) as a real peer.
 *
 * Facts the renegotiation tests rely on:
 * - gnutls-serv has no option to choose the listening address: it binds the port on every
 *   interface (0.0.0.0 and ::). The tests still only connect to 127.0.0.1; the port is random
 *   and the server lives for one test.
 * - Renegotiation policy is part of the priority string: NORMAL accepts safe (RFC 5746)
 *   renegotiation only, `%UNSAFE_RENEGOTIATION` also accepts legacy peers,
 *   `%DISABLE_SAFE_RENEGOTIATION` turns the extension off (OpenSSL 3 clients then refuse to
 *   connect: "unsafe legacy renegotiation disabled", unless run with -legacy_server_connect).
 * - NORMAL on Debian 12 still enables TLS 1.0 and 1.1; 3DES needs `+3DES-CBC`.
 * - The initial handshake prints `* Accepted connection from IPv4 127.0.0.1 port N`; each
 *   client-initiated renegotiation that gnutls-serv processes prints `*** Received hello message`
 *   (countRehandshakes), followed by `Error in rehandshake: …` if it fails.
 * - In echo mode a line `**REHANDSHAKE**` from the client makes the server send a HelloRequest
 *   (`*** Sending rehandshake request`). It is fragile: against openssl s_client the server
 *   resumes the session and then fails with "Cannot perform this action while handshake is in
 *   progress" (internal_error alert), so prefer s_server `r` or Java for server-initiated tests.
 * - By default gnutls-serv requests a client certificate; here clientCert defaults to 'none'.
 */
import { which } from "./binaries.js";
import { countMatches, spawnPeer, withFreePort } from "./peer-process.js";
const ACCEPTED_CONNECTION = /^\* Accepted connection from /gm;
const REHANDSHAKE = /^\*\*\* Received hello message$/gm;
export function countRehandshakes(output) {
    return countMatches(output, REHANDSHAKE);
}
function clientCertArgs(options) {
    const mode = options.clientCert ?? 'none';
    if (mode === 'none')
        return ['--disable-client-cert'];
    if (options.ca === undefined)
        throw new Error(`clientCert '${mode}' needs a ca file`);
    const ca = ['--x509cafile', options.ca];
    return mode === 'require' ? [...ca, '--require-client-cert'] : [...ca, '--verify-client-cert'];
}
export async function startGnutlsServer(options) {
    const host = '127.0.0.1';
    const mode = options.http === true ? '--http' : '--echo';
    const clientCert = clientCertArgs(options);
    const serverArgs = (port) => [
        '--port',
        String(port),
        '--x509certfile',
        options.cert,
        '--x509keyfile',
        options.key,
        '--priority',
        options.priority ?? 'NORMAL',
        mode,
        ...clientCert,
        ...(options.args ?? []),
    ];
    // gnutls-serv writes part of its log to stdout through stdio: without stdbuf it would sit in
    // a block buffer while the test waits for it.
    const stdbuf = which('stdbuf');
    const binary = which('gnutls-serv') ?? 'gnutls-serv';
    const command = stdbuf ?? binary;
    const prefix = stdbuf === undefined ? [] : ['-oL', '-eL', binary];
    return withFreePort(host, async (port) => {
        const peer = await spawnPeer({
            name: 'gnutls-serv',
            command,
            args: [...prefix, ...serverArgs(port)],
            host,
            port,
            readyPattern: /Server listening on IPv4 .* port \d+\.\.\.done/,
            ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
        });
        return {
            host,
            port,
            pid: peer.pid,
            stop: peer.stop,
            output: peer.output,
            waitForOutput: peer.waitForOutput,
            countConnections: () => countMatches(peer.output(), ACCEPTED_CONNECTION),
            countRehandshakes: () => countRehandshakes(peer.output()),
        };
    });
}
//# sourceMappingURL=gnutls-server.js.map