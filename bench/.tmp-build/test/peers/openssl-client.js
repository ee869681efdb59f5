/**
 * `openssl s_client` as a scripted client for the server-side tests.
 *
 * How s_client reads stdin (OpenSSL 3.0):
 * - A line starting with R renegotiates (TLS 1.2 and below; prints `RENEGOTIATING`), Q closes,
 *   k/K request a TLS 1.3 key update; any other line is sent as application data, newline
 *   included. So text to send must not start with those letters (send `renegotiate`, not
 *   `RENEGOTIATE`).
 * - Those commands only work without `-ign_eof` (and `-quiet`, which implies it). Without it,
 *   EOF on stdin closes the connection, so this helper keeps stdin open: it waits for the
 *   handshake, writes one line every lineDelayMs, then waits for `until` (or settleMs) before
 *   closing stdin.
 * - A renegotiation refused by the server shows as `RENEGOTIATING` followed by an error line
 *   such as `…:no renegotiation:…` (warning alert) or `…alert handshake failure…` (fatal alert).
 * - OpenSSL 3 clients refuse servers without RFC 5746 support (`unsafe legacy renegotiation
 *   disabled`) unless given `-legacy_server_connect`.
 */
import { opensslBinary } from "./openssl-server.js";
import { hostPort, startProcess } from "./peer-process.js";
import { setTimeout as sleep } from 'node:timers/promises';
/** The end of the session summary s_client prints after each completed initial handshake. */
const HANDSHAKE_DONE = /^\s*Verify return code: |^CONNECTION ESTABLISHED$/m;
const DEFAULT_LINE_DELAY_MS = 500;
const DEFAULT_SETTLE_MS = 1000;
const EXIT_AFTER_EOF_MS = 3000;
/** `RENEGOTIATING` lines: renegotiations s_client started (not necessarily completed). */
export function countRenegotiationAttempts(output) {
    return (output.match(/^RENEGOTIATING$/gm) ?? []).length;
}
export async function runOpensslClient(options) {
    const host = options.host ?? '127.0.0.1';
    const deadline = Date.now() + options.timeoutMs;
    const remaining = () => Math.max(0, deadline - Date.now());
    const client = await startProcess({
        name: 'openssl s_client',
        command: opensslBinary(),
        args: ['s_client', '-connect', hostPort(host, options.port), ...(options.args ?? [])],
        host,
        port: options.port,
    });
    let connected = false;
    try {
        connected = await client.waitForOutput(HANDSHAKE_DONE, remaining()).then(() => true, () => false);
        if (connected) {
            const lines = (options.stdin ?? '').split('\n');
            if (lines.at(-1) === '')
                lines.pop();
            for (const line of lines) {
                if (client.hasExited() || remaining() === 0)
                    break;
                client.write(`${line}\n`);
                await sleep(Math.min(options.lineDelayMs ?? DEFAULT_LINE_DELAY_MS, remaining()));
            }
            if (options.until !== undefined)
                await client.waitForOutput(options.until, remaining()).catch(() => undefined);
            else
                await sleep(Math.min(options.settleMs ?? DEFAULT_SETTLE_MS, remaining()));
        }
        client.endInput();
        const exited = await client.waitForExit(Math.min(EXIT_AFTER_EOF_MS, remaining()));
        return { output: client.output(), connected, exit: client.exitStatus(), timedOut: !exited };
    }
    finally {
        await client.stop();
    }
}
//# sourceMappingURL=openssl-client.js.map