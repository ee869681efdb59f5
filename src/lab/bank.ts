/**
 * The lab's target: a small bank on the renego server. Its own log is the
 * ground truth of every cell: an attack succeeded when the bank executed the
 * attacker's transfer with the victim's credentials.
 *
 *   GET  /                        hello
 *   POST /transfer?to=X           needs the session cookie (scenario 2)
 *   GET  /secure/transfer?to=X    needs a client certificate (scenario 1)
 *   GET  /secure/redirect?to=URL  needs a client certificate; answers 302 (scenario 3)
 *   GET  /secure/account          the victim's own request
 */
import * as http from 'node:http';
import type { RenegoServerSocket } from '../adapter/server.ts';
import type { ServerPresetName } from '../handshake/server-presets.ts';
import { certificateSubject, type ServerCertificate } from '../pki/credentials.ts';
import type { TrustStore } from '../pki/verify.ts';
import { startServer } from '../server/start.ts';

export const VICTIM_COOKIE = 'session=victim-7f3a';

export interface BankEntry {
  method: string;
  url: string;
  /** Who the bank believed sent it, and how it knew. */
  user: string | null;
  authBy: 'cookie' | 'client-certificate' | null;
  status: number;
  executed: string | null;
}

export interface Bank {
  port: number;
  log: BankEntry[];
  /** Handshake and renegotiation failures the bank saw, with the alert it sent. */
  errors: string[];
  close(): Promise<void>;
}

/** The bank on a renego server of one of the presets (src/server/start.ts), with the lab's certificate and CA. */
export async function startPresetBank(
  credentials: { server: ServerCertificate; trust: TrustStore },
  preset: ServerPresetName,
  handshakeTimeoutMs?: number,
): Promise<Bank> {
  const log: BankEntry[] = [];
  const errors: string[] = [];
  const app = http.createServer((req, res) => void serve(req, res, log));
  const running = await startServer({
    host: '127.0.0.1',
    port: 0,
    certificate: credentials.server,
    clientTrust: credentials.trust,
    preset,
    handshakeTimeoutMs,
    application: (sock) => app.emit('connection', sock),
  });
  running.server.on('tlsClientError', (e: Error) => errors.push(e.message));
  return {
    port: running.port,
    log,
    errors,
    close: () => {
      app.closeAllConnections();
      return running.close();
    },
  };
}

async function serve(req: http.IncomingMessage, res: http.ServerResponse, log: BankEntry[]): Promise<void> {
  const sock = req.socket as unknown as RenegoServerSocket;
  const url = new URL(req.url ?? '/', 'https://bank.lab');
  const entry: BankEntry = {
    method: req.method ?? '?',
    url: req.url ?? '/',
    user: null,
    authBy: null,
    status: 200,
    executed: null,
  };
  const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
    entry.status = status;
    log.push(entry);
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
  };

  if (url.pathname.startsWith('/secure/')) {
    // The IIS pattern: ask for the client certificate only when a protected path is requested.
    const hadCert = (sock.getHandshakeSummary()?.peerCertificates.length ?? 0) > 0;
    if (!hadCert && sock.engine.config.clientCertificate === 'renegotiate') {
      await sock.renegotiate({ requestCert: true, timeoutMs: 3000 });
    }
    const der = sock.getHandshakeSummary()?.peerCertificates[0];
    if (!der || sock.destroyed) return reply(403, 'client certificate required\n');
    entry.user = certificateSubject(der).replace(/^CN=/, '');
    entry.authBy = 'client-certificate';
  } else if ((req.headers.cookie ?? '').includes(VICTIM_COOKIE)) {
    entry.user = 'victim';
    entry.authBy = 'cookie';
  }

  if (url.pathname.endsWith('/transfer')) {
    if (!entry.user) return reply(401, 'log in first\n');
    entry.executed = `transfer to ${url.searchParams.get('to')} by ${entry.user}`;
    return reply(200, `${entry.executed}\n`);
  }
  if (url.pathname === '/secure/redirect') {
    const to = url.searchParams.get('to') ?? '/';
    entry.executed = `redirect to ${to} for ${entry.user}`;
    return reply(302, `moved\n`, { location: to });
  }
  reply(200, `hello ${entry.user ?? 'anonymous'}\n`);
}
