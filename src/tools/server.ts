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
import type { AddressInfo } from 'node:net';
import { createServer, type RenegoServer, type RenegoServerSocket, type ServerOptions } from '../adapter/server.ts';
import { suiteByName, suiteName } from '../crypto/suites.ts';
import type { HandshakeSummary } from '../handshake/events.ts';
import type { ServerRenegotiationPolicy } from '../handshake/server-config.ts';
import { SERVER_PRESETS, isPresetName } from '../handshake/server-presets.ts';
import { certificateSubject as subjectOf, loadCertificate } from '../pki/credentials.ts';
import { createTestPki, writePkiFiles, type KeyType } from '../pki/throwaway.ts';
import { trustStoreFromPem } from '../pki/verify.ts';
import { ProtocolVersion, alertName, versionName } from '../wire/enums.ts';
import { isTlsError } from '../wire/errors.ts';
import { versionFromName } from './versions.ts';
import { UsageError, readUserFile, unusableCertificate } from './usage.ts';
import { describeSystemError } from '../text/system-error.ts';

export interface ServerRunOptions {
  host: string;
  port: number;
  certFile?: string;
  keyFile?: string;
  keyType?: KeyType;
  preset?: string;
  renegotiation?: Partial<ServerRenegotiationPolicy>;
  clientCert?: 'none' | 'initial' | 'renegotiate';
  requireClientCert?: boolean;
  clientCaFile?: string;
  protectedPath?: string;
  www?: boolean;
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
  alpn?: string[];
  handshakeTimeoutMs?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface RunningServer {
  server: RenegoServer;
  port: number;
  /** The throwaway CA clients should trust, when no certificate was given. */
  caFile: string | undefined;
  /** A client certificate signed by that CA, for trying client authentication. */
  clientCertFile: string | undefined;
  clientKeyFile: string | undefined;
  /**
   * Sends a HelloRequest on every open connection (s_server's `r`, or `R` with `requestCert`)
   * and logs `hello-request` with each outcome; resolves once all are settled.
   */
  renegotiateAll(options: { requestCert: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function startServer(opts: ServerRunOptions): Promise<RunningServer> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const emit = (event: string, fields: Record<string, unknown>): void => {
    if (opts.json) log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
    else
      log(
        `${event} ${Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')}`,
      );
  };

  let certPem: string | Buffer;
  let keyPem: string | Buffer;
  let caFile: string | undefined;
  let clientCertFile: string | undefined;
  let clientKeyFile: string | undefined;
  /** The throwaway PKI's folder (private keys): removed when the server closes or the process exits. */
  let tempDir: string | undefined;
  let clientCaPem: string | Buffer | undefined = opts.clientCaFile
    ? readUserFile('--client-ca', opts.clientCaFile)
    : undefined;
  if (opts.certFile) {
    certPem = readUserFile('--cert', opts.certFile);
    keyPem = opts.keyFile === undefined ? certPem : readUserFile('--key', opts.keyFile);
  } else {
    const pki = await createTestPki({ keyType: opts.keyType ?? 'rsa' });
    tempDir = throwawayDir();
    const files = await writePkiFiles(tempDir, pki);
    certPem = pki.server.chainPem;
    keyPem = pki.server.keyPem;
    caFile = files.ca;
    clientCertFile = files.clientCert;
    clientKeyFile = files.clientKey;
    clientCaPem ??= pki.ca.certPem;
  }

  const preset = opts.preset ? SERVER_PRESETS[presetName(opts.preset)] : undefined;
  const clientCertificate = opts.clientCert ?? preset?.clientCertificate ?? 'none';
  const options: ServerOptions = {
    certificates: [userCertificate(certPem, keyPem)],
    minVersion: versionFromName(opts.minVersion, ProtocolVersion.TLSv1),
    maxVersion: versionFromName(opts.maxVersion, ProtocolVersion['TLSv1.2']),
    cipherSuites: opts.ciphers?.split(/[:,]/).map((n) => {
      const s = suiteByName(n.trim());
      if (!s)
        throw new UsageError(
          `unknown or unavailable cipher suite ${n} (IANA or OpenSSL names, e.g. ECDHE-RSA-AES128-GCM-SHA256)`,
        );
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
  const open = new Set<RenegoServerSocket>();
  const server = createServer(options, (sock) => {
    open.add(sock);
    sock.once('close', () => open.delete(sock));
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    emit('handshake', { peer, ...describe(sock.getHandshakeSummary()!) });
    sock.on('renegotiated', (s: HandshakeSummary) => emit('renegotiation', { peer, ...describe(s) }));
    sock.on('renegotiationRequested', (e: { accepted: boolean; reason: string }) => {
      if (!e.accepted) emit('renegotiation-refused', { peer, reason: withAlertNames(e.reason) });
    });
    if (app) app.emit('connection', sock);
    else sock.pipe(sock);
  });
  server.on('tlsClientError', (e: Error, sock: RenegoServerSocket) =>
    emit('error', {
      peer: `${sock.remoteAddress}:${sock.remotePort}`,
      ...(isTlsError(e) && e.peerAlert !== undefined ? { alert: alertName(e.peerAlert) } : {}),
      error: withAlertNames(e.message),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => {
      if (tempDir !== undefined) removeThrowawayDir(tempDir);
      const hint =
        (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? ' (choose another --port, or 0 for any free port)' : '';
      reject(new UsageError(`cannot listen on ${opts.host}:${opts.port}: ${describeSystemError(e)}${hint}`));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
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
    renegotiateAll: async ({ requestCert }) => {
      if (open.size === 0) emit('hello-request', { connections: 0 });
      await Promise.all(
        [...open].map(async (sock) => {
          const r = await sock.renegotiate({ requestCert, timeoutMs: options.handshakeTimeout });
          const peer = `${sock.remoteAddress}:${sock.remotePort}`;
          emit('hello-request', { peer, requestCert, outcome: r.outcome, ...(r.alert ? { alert: r.alert } : {}) });
        }),
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
        if (tempDir !== undefined) removeThrowawayDir(tempDir);
      }),
  };
}

/**
 * The server's console, as s_server's: `r` renegotiates every connection, `R` also asks for a
 * client certificate, `q` stops. Returns what the line asks for; unknown lines are ignored.
 */
export function consoleCommand(line: string): 'renegotiate' | 'renegotiate-cert' | 'quit' | undefined {
  switch (line.trim()) {
    case 'r':
      return 'renegotiate';
    case 'R':
      return 'renegotiate-cert';
    case 'q':
    case 'Q':
      return 'quit';
    default:
      return undefined;
  }
}

/** The certificate and key the user gave, or a UsageError saying why they cannot be used. */
function userCertificate(certPem: string | Buffer, keyPem: string | Buffer): ReturnType<typeof loadCertificate> {
  try {
    return loadCertificate(certPem, keyPem);
  } catch (e) {
    throw unusableCertificate(e);
  }
}

/** Throwaway PKI folders still on disk; one exit hook removes what close() did not. */
const throwawayDirs = new Set<string>();
let exitHookInstalled = false;

function throwawayDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-server-'));
  if (!exitHookInstalled) process.once('exit', () => throwawayDirs.forEach(removeThrowawayDir));
  exitHookInstalled = true;
  throwawayDirs.add(dir);
  return dir;
}

function removeThrowawayDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  throwawayDirs.delete(dir);
}

function presetName(name: string): keyof typeof SERVER_PRESETS {
  if (!isPresetName(name)) throw new Error(`unknown preset ${name}; known: ${Object.keys(SERVER_PRESETS).join(', ')}`);
  return name;
}

function describe(s: HandshakeSummary): Record<string, unknown> {
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
function wwwApp(
  protectedPath: string | undefined,
  mode: 'none' | 'initial' | 'renegotiate',
  emit: (event: string, fields: Record<string, unknown>) => void,
): http.Server {
  return http.createServer((req, res) => void respond(req, res));

  async function respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sock = req.socket as unknown as RenegoServerSocket;
    const isProtected = protectedPath !== undefined && (req.url ?? '').startsWith(protectedPath);
    if (isProtected && !sock.getHandshakeSummary()?.clientCertificateSent && mode === 'renegotiate') {
      const r = await sock.renegotiate({ requestCert: true, timeoutMs: 10_000 });
      if (r.outcome !== 'completed')
        emit('renegotiation-failed', {
          path: req.url,
          outcome: r.outcome,
          error: withAlertNames(r.error ?? r.alert ?? ''),
        });
    }
    const s = sock.getHandshakeSummary();
    const subject = s?.peerCertificates[0] ? subjectOf(s.peerCertificates[0]) : null;
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

/** Alerts by name, as `renego client` and `renego scan` print them: `fatal alert 48` → `fatal alert unknown_ca`. */
export function withAlertNames(message: string): string {
  return message.replace(/\balert (\d{1,3})\b/g, (_, n: string) => `alert ${alertName(Number(n))}`);
}
