/**
 * `openssl s_server` as a real peer.
 *
 * Facts about OpenSSL 3.0 (Debian 12) that the renegotiation tests rely on:
 * - Client-initiated renegotiation is refused by default since 3.0: s_server answers the new
 *   ClientHello with a warning no_renegotiation alert. `-client_renegotiation` allows it,
 *   `-no_renegotiation` refuses renegotiation in both directions, `-legacy_renegotiation`
 *   allows unsafe (pre-RFC 5746) renegotiation.
 * - s_server prints nothing when a renegotiation happens. With `-msg` (on by default here) every
 *   handshake message is printed, received ones as `<<< TLS 1.2, Handshake [length 00c6], ClientHello`,
 *   so the number of received ClientHellos counts the handshakes on the server's connections
 *   (countClientHellos). A refused renegotiation shows as a second ClientHello followed by
 *   `>>> … Alert [length 0002], warning no_renegotiation`.
 * - The default security level (1) rules out TLS 1.0/1.1 signatures; `legacyVersions: true`
 *   adds `-cipher ALL:@SECLEVEL=0`, which brings back TLS 1.0/1.1 and the CBC-SHA suites.
 *   Debian's build offers no 3DES suites at any level (`openssl ciphers ALL:@SECLEVEL=0` lists
 *   none): use GnuTLS (`+3DES-CBC`) or Java for 3DES.
 * - s_server reads commands from stdin, one letter alone on a line (see `command`); stdin is
 *   kept open, because EOF on it makes s_server shut down.
 */
import { which } from "./binaries.js";
import { countMatches, hostPort, spawnPeer, withFreePort } from "./peer-process.js";
const RECEIVED_CLIENT_HELLO = /^<<< [^\n]*Handshake \[length [0-9a-f]+\], ClientHello$/gm;
/** ClientHellos received, read from s_server (or s_client) `-msg` output. */
export function countClientHellos(output) {
    return countMatches(output, RECEIVED_CLIENT_HELLO);
}
export function opensslBinary() {
    return which('openssl') ?? 'openssl';
}
export async function startOpensslServer(options) {
    const host = options.host ?? '127.0.0.1';
    return withFreePort(host, async (port) => {
        const args = [
            's_server',
            '-accept',
            hostPort(host, port),
            '-cert',
            options.cert,
            '-key',
            options.key,
            ...(options.msg === false ? [] : ['-msg']),
            ...(options.www === true ? ['-www'] : []),
            ...(options.legacyVersions === true ? ['-cipher', 'ALL:@SECLEVEL=0'] : []),
            ...(options.args ?? []),
        ];
        const peer = await spawnPeer({
            name: 'openssl s_server',
            command: opensslBinary(),
            args,
            host,
            port,
            // Printed right after listen(); see SpawnPeerOptions.readyPattern for why not a TCP probe.
            readyPattern: /^ACCEPT$/m,
            ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
        });
        return {
            host,
            port,
            pid: peer.pid,
            stop: peer.stop,
            output: peer.output,
            waitForOutput: peer.waitForOutput,
            command: (letter) => peer.write(`${letter}\n`),
            countClientHellos: () => countClientHellos(peer.output()),
        };
    });
}
//# sourceMappingURL=openssl-server.js.map