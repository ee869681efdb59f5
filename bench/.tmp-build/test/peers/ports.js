import { createServer } from 'node:net';
/**
 * A TCP port that was free on host a moment ago: the kernel picks it for a listener on port 0,
 * which is closed again at once. Another process may take it before the caller binds it, so the
 * peer helpers retry with a new port when a bind fails (see withFreePort in peer-process.ts).
 */
export function freePort(host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.once('error', reject);
        server.listen({ host, port: 0, exclusive: true }, () => {
            const address = server.address();
            if (address === null || typeof address === 'string') {
                server.close();
                reject(new Error(`could not read the port of a listener on ${host}`));
                return;
            }
            server.close(() => resolve(address.port));
        });
    });
}
//# sourceMappingURL=ports.js.map