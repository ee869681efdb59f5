/**
 * One request/reply exchange over an open RenegoSocket: what `renego client`
 * sends after each handshake and what the lab's victim does per request.
 */
import type { RenegoSocket } from './tls-socket.ts';

/** The most of a reply `exchange` keeps: the report shows its start, and an endless answer must not fill memory. */
export const MAX_REPLY_BYTES = 1 << 20;

/**
 * Sends `request` and collects the reply until the peer goes quiet for a short
 * while, closes, `timeoutMs` passes or MAX_REPLY_BYTES have come. Escapes like
 * \r\n in the text are honoured.
 */
export function exchange(sock: RenegoSocket, request: string, timeoutMs: number): Promise<string> {
  const text = request.replace(/\\r/g, '\r').replace(/\\n/g, '\n');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(quiet);
      clearTimeout(overall);
      sock.off('data', onData);
      sock.off('close', finish);
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (d: Buffer): void => {
      chunks.push(d.subarray(0, Math.max(0, MAX_REPLY_BYTES - received)));
      received += d.length;
      clearTimeout(quiet);
      if (received >= MAX_REPLY_BYTES) return finish();
      quiet = setTimeout(finish, 150);
    };
    const overall = setTimeout(finish, timeoutMs);
    sock.on('data', onData);
    sock.once('close', finish);
    sock.write(text);
  });
}
