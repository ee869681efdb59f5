/**
 * Starting a renego TLS server: the listening socket with its renegotiation policy, its
 * certificate (or a throwaway PKI), what each connection gets (echo as s_server, the `--www`
 * responder, or the caller's application), one log line per handshake, renegotiation, refusal
 * and failure, and the console's HelloRequest to every connection. `renego server`
 * (src/tools/server.ts), the lab's bank and the tests start a server with startServer.
 */
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer, type RenegoServer, type RenegoServerSocket, type ServerOptions } from '../adapter/server.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { HandshakeSummary } from '../handshake/events.ts';
import type { ServerRenegotiationPolicy } from '../handshake/server-config.ts';
import { SERVER_PRESETS, type ServerPresetName } from '../handshake/server-presets.ts';
import { loadCertificate, type ServerCertificate } from '../pki/credentials.ts';
import { createTestPki, writeClientPkiFiles, type KeyType } from '../pki/throwaway.ts';
import { trustStoreFromPem, type TrustStore } from '../pki/verify.ts';
import { describeSystemError } from '../text/system-error.ts';
import { ProtocolVersion, alertName } from '../wire/enums.ts';
import { isTlsError } from '../wire/errors.ts';
import { describeHandshake, serverLog, withAlertNames } from './log.ts';
import { wwwApp } from './www.ts';

export interface StartServerOptions {
  host: string;
  /** 0: any free port (RunningServer.port says which). */
  port: number;
  /**
   * The chain and key to present. Without one, a throwaway PKI of `keyType` (default rsa): its CA,
   * server and client certificates are written to a temporary folder that close() removes (and
   * process exit, if close never runs), and client certificates are checked against its CA.
   */
  certificate?: ServerCertificate;
  keyType?: KeyType;
  /** A server of the past or present (src/handshake/server-presets.ts); `renegotiation` overrides its switches. */
  preset?: ServerPresetName;
  renegotiation?: Partial<ServerRenegotiationPolicy>;
  /** When to ask for a client certificate (default: the preset's, else never). */
  clientCert?: 'none' | 'initial' | 'renegotiate';
  requireClientCert?: boolean;
  /** CAs for client certificates (default: the throwaway CA, when there is one). */
  clientTrust?: TrustStore;
  /** Answer HTTP with the `--www` responder (www.ts) instead of echoing. */
  www?: boolean;
  /** With www: paths that need a client certificate, renegotiated for as IIS did. */
  protectedPath?: string;
  /** Hand each connection, once its handshake is done, to this application instead (the lab's bank). */
  application?: (socket: RenegoServerSocket) => void;
  minVersion?: number;
  maxVersion?: number;
  /** In preference order (default: every suite the engine has). */
  cipherSuites?: CipherSuiteInfo[];
  alpn?: string[];
  /** Drop clients whose handshake takes longer (default: the adapter's). */
  handshakeTimeoutMs?: number;
  /** Where log lines go (default: nowhere), and whether as JSON objects. */
  log?: (line: string) => void;
  json?: boolean;
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
  /** Stops listening, closes every connection, removes the throwaway PKI. */
  close(): Promise<void>;
}

/** The server could not listen where asked; `code` is the system's (EADDRINUSE, EACCES, …). */
export class ServerListenError extends Error {
  override readonly name = 'ServerListenError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const log = serverLog(opts.log, opts.json ?? false);
  let certificate = opts.certificate;
  let clientTrust = opts.clientTrust;
  let caFile: string | undefined;
  let clientCertFile: string | undefined;
  let clientKeyFile: string | undefined;
  /** The throwaway PKI's folder (what a client needs, its key included): removed when the server closes or the process exits. */
  let tempDir: string | undefined;
  if (certificate === undefined) {
    const pki = await createTestPki({ keyType: opts.keyType ?? 'rsa' });
    tempDir = throwawayDir();
    const files = await writeClientPkiFiles(tempDir, pki);
    certificate = loadCertificate(pki.server.chainPem, pki.server.keyPem);
    caFile = files.ca;
    clientCertFile = files.clientCert;
    clientKeyFile = files.clientKey;
    clientTrust ??= trustStoreFromPem(pki.ca.certPem);
  }

  const preset = opts.preset === undefined ? undefined : SERVER_PRESETS[opts.preset];
  const clientCertificate = opts.clientCert ?? preset?.clientCertificate ?? 'none';
  const options: ServerOptions = {
    certificates: [certificate],
    minVersion: opts.minVersion ?? ProtocolVersion.TLSv1,
    maxVersion: opts.maxVersion ?? ProtocolVersion['TLSv1.2'],
    cipherSuites: opts.cipherSuites,
    alpn: opts.alpn,
    clientCertificate,
    clientCertificateRequired: opts.requireClientCert ?? false,
    clientTrust,
    renegotiation: { ...preset?.renegotiation, ...opts.renegotiation },
    handshakeTimeout: opts.handshakeTimeoutMs,
  };

  const www = opts.www ? wwwApp(opts.protectedPath, clientCertificate, log) : undefined;
  const serve = opts.application ?? (www ? (sock: RenegoServerSocket) => www.emit('connection', sock) : echo);
  const open = new Set<RenegoServerSocket>();
  const server = createServer(options, (sock) => {
    open.add(sock);
    sock.once('close', () => open.delete(sock));
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    log('handshake', { peer, ...describeHandshake(sock.getHandshakeSummary()!) });
    sock.on('renegotiated', (s: HandshakeSummary) => log('renegotiation', { peer, ...describeHandshake(s) }));
    sock.on('renegotiationRequested', (e: { accepted: boolean; reason: string }) => {
      if (!e.accepted) log('renegotiation-refused', { peer, reason: withAlertNames(e.reason) });
    });
    serve(sock);
  });
  server.on('tlsClientError', (e: Error, sock: RenegoServerSocket) =>
    log('error', {
      peer: `${sock.remoteAddress}:${sock.remotePort}`,
      ...(isTlsError(e) && e.peerAlert !== undefined ? { alert: alertName(e.peerAlert) } : {}),
      error: withAlertNames(e.message),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => {
      if (tempDir !== undefined) removeThrowawayDir(tempDir);
      const code = (e as NodeJS.ErrnoException).code;
      reject(new ServerListenError(`cannot listen on ${opts.host}:${opts.port}: ${describeSystemError(e)}`, code));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log('listening', {
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
      if (open.size === 0) log('hello-request', { connections: 0 });
      await Promise.all(
        [...open].map(async (sock) => {
          const r = await sock.renegotiate({ requestCert, timeoutMs: options.handshakeTimeout });
          const peer = `${sock.remoteAddress}:${sock.remotePort}`;
          log('hello-request', { peer, requestCert, outcome: r.outcome, ...(r.alert ? { alert: r.alert } : {}) });
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

/** s_server's default: every byte back to its sender. */
function echo(sock: RenegoServerSocket): void {
  sock.pipe(sock);
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
