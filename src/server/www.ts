/**
 * The `--www` responder: answers HTTP with the request line, the connection's renegotiation
 * count and the client certificate subject, renegotiating for a certificate on protected paths
 * as IIS did (RFC 5746 §1: the pattern CVE-2009-3555 abused).
 */
import * as http from 'node:http';
import type { RenegoServerSocket } from '../adapter/server.ts';
import { certificateSubject } from '../pki/credentials.ts';
import { withAlertNames, type ServerLog } from './log.ts';

export function wwwApp(
  protectedPath: string | undefined,
  mode: 'none' | 'initial' | 'renegotiate',
  log: ServerLog,
): http.Server {
  return http.createServer((req, res) => void respond(req, res));

  async function respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sock = req.socket as unknown as RenegoServerSocket;
    const isProtected = protectedPath !== undefined && (req.url ?? '').startsWith(protectedPath);
    if (isProtected && !sock.getHandshakeSummary()?.clientCertificateSent && mode === 'renegotiate') {
      const r = await sock.renegotiate({ requestCert: true, timeoutMs: 10_000 });
      if (r.outcome !== 'completed')
        log('renegotiation-failed', {
          path: req.url,
          outcome: r.outcome,
          error: withAlertNames(r.error ?? r.alert ?? ''),
        });
    }
    const s = sock.getHandshakeSummary();
    const subject = s?.peerCertificates[0] ? certificateSubject(s.peerCertificates[0]) : null;
    if (isProtected && !subject) {
      res
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(
          `${req.method} ${req.url}\nrenegotiations: ${s?.renegotiation ?? 0}\nclient certificate: none (required for ${protectedPath})\n`,
        );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(
      `${req.method} ${req.url} HTTP/${req.httpVersion}\nrenegotiations: ${s?.renegotiation ?? 0}\nclient certificate: ${subject ?? 'none'}\n`,
    );
  }
}
