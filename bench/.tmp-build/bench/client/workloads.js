/**
 * What one benchmark sample does with a client. Every loop is bounded twice, by time and by
 * count (or bytes), and every wait by a timeout, so a stuck peer fails the run instead of
 * hanging it.
 */
import { performance } from 'node:perf_hooks';
import { waitForEvent } from "./clients.js";
/** Bounds each connect, handshake, drain and close. */
export const STEP_TIMEOUT_MS = 10_000;
export function rate(m) {
    return m.amount / m.seconds;
}
/**
 * Sequential full handshakes: new TCP connection, full handshake, close_notify, wait for the
 * server's close; then the next one.
 */
export async function sequentialHandshakes(client, bounds) {
    const t0 = performance.now();
    let count = 0;
    while (count < bounds.maxCount && performance.now() - t0 < bounds.maxMs) {
        const conn = await client.connect(STEP_TIMEOUT_MS);
        try {
            await conn.close(STEP_TIMEOUT_MS);
        }
        finally {
            conn.destroy();
        }
        count++;
    }
    return { amount: count, seconds: (performance.now() - t0) / 1000 };
}
export const MB = 1_000_000;
export const WRITE_SIZE = 1024 * 1024;
const UNBLOCK_BYTE = Uint8Array.of(0x0a);
/**
 * Client write throughput (encryption): 1 MiB writes, honouring backpressure, until the time or
 * byte bound; then close_notify and wait for the sink to close, which it does only after
 * reading everything. The handshake is outside the timed span. Amount in MB (10^6 bytes).
 */
export async function bulkWrite(client, chunk, bounds) {
    const conn = await client.connect(STEP_TIMEOUT_MS);
    try {
        const stream = conn.stream;
        stream.resume();
        const t0 = performance.now();
        let bytes = 0;
        while (bytes < bounds.maxBytes && performance.now() - t0 < bounds.maxMs) {
            const more = stream.write(chunk);
            bytes += chunk.length;
            if (!more)
                await waitForEvent(stream, 'drain', STEP_TIMEOUT_MS, `${client.name} write`);
        }
        await conn.close(STEP_TIMEOUT_MS);
        return { amount: bytes / MB, seconds: (performance.now() - t0) / 1000 };
    }
    finally {
        conn.destroy();
    }
}
/**
 * Client read throughput (decryption): the source server streams zeros once the handshake is
 * done; the clock starts at the first data and stops at the time or byte bound. Amount in MB
 * of application data.
 *
 * The client first sends one byte. s_server's loop can see the ClientHello and its standard
 * input ready in the same select(); it then handshakes and writes from standard input, and
 * goes on to a blocking SSL_read for the "readable" socket, where it would wait for ever
 * without that byte (observed with strace on OpenSSL 3.0).
 */
export async function bulkRead(client, bounds) {
    const conn = await client.connect(STEP_TIMEOUT_MS);
    try {
        const stream = conn.stream;
        stream.write(UNBLOCK_BYTE);
        return await new Promise((resolve, reject) => {
            let t0 = -1;
            let bytes = 0;
            const finish = () => {
                cleanup();
                resolve({ amount: bytes / MB, seconds: (performance.now() - t0) / 1000 });
            };
            const onData = (chunk) => {
                // The first chunk only starts the clock: its bytes arrived before t0.
                if (t0 < 0) {
                    t0 = performance.now();
                    return;
                }
                bytes += chunk.length;
                if (bytes >= bounds.maxBytes || performance.now() - t0 >= bounds.maxMs)
                    finish();
            };
            const onEnd = () => {
                cleanup();
                reject(new Error(`${client.name} read: the source closed after ${bytes} bytes`));
            };
            const onError = (e) => {
                cleanup();
                reject(new Error(`${client.name} read: ${e.message}`));
            };
            const watchdog = setTimeout(() => {
                cleanup();
                if (t0 >= 0 && bytes > 0)
                    resolve({ amount: bytes / MB, seconds: (performance.now() - t0) / 1000 });
                else
                    reject(new Error(`${client.name} read: no data within the time bound`));
            }, bounds.maxMs + STEP_TIMEOUT_MS);
            const cleanup = () => {
                clearTimeout(watchdog);
                stream.off('data', onData);
                stream.off('end', onEnd);
                stream.off('error', onError);
                stream.pause();
            };
            stream.on('data', onData);
            stream.once('end', onEnd);
            stream.once('error', onError);
        });
    }
    finally {
        conn.destroy();
    }
}
//# sourceMappingURL=workloads.js.map