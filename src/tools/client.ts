/**
 * `renego client`: the engine's s_client. Connects, optionally renegotiates N
 * times and sends a request after each handshake, and reports what it saw as one
 * JSON-friendly object (or pipes stdin/stdout in interactive mode).
 */
import { unusableCertificate, userPrivateKey } from './cert-files.ts';
import { EXIT, UsageError, readUserFile } from './usage.ts';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { suiteByName } from '../crypto/suites.ts';
import type { ClientSession } from '../handshake/client-config.ts';
import { startTls } from '../scan/starttls.ts';
import type { StartTlsProtocol } from '../scan/types.ts';
import { connect, RenegoSocket, type ConnectOptions, type RenegotiationResult } from '../adapter/tls-socket.ts';
import type { ConnectionEvent } from '../handshake/events.ts';
import { findExtension } from '../wire/extensions.ts';
import type { ServerHello } from '../wire/handshake.ts';
import { parsePemCertificates, trustStoreFromPem } from '../pki/verify.ts';
import {
  ExtensionType,
  HandshakeType,
  ProtocolVersion,
  contentTypeName,
  handshakeTypeName,
  versionName,
} from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import { formatEndpoint } from '../syntax/endpoint.ts';
import { parseTarget } from './target.ts';
import { versionFromName } from './versions.ts';
import { exchange } from '../adapter/exchange.ts';

export interface ClientRunOptions {
  target: string;
  serverName?: string;
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
  caFile?: string;
  insecure?: boolean;
  certFile?: string;
  keyFile?: string;
  renegotiate?: number;
  legacy?: boolean;
  scsvOnly?: boolean;
  /** Connect to servers without RFC 5746 (implied by legacy). */
  allowLegacyServer?: boolean;
  /** Answer HelloRequest: never / once / freely. */
  acceptRenegotiation?: 'never' | 'once' | 'freely';
  request?: string;
  timeoutMs?: number;
  alpn?: string[];
  /** s_client -msg: one line per record and handshake message, both ways. */
  trace?: (line: string) => void;
  /** s_client -showcerts: the server's whole chain in the report, as PEM. */
  showCerts?: boolean;
  /** s_client -reconnect: a second connection that offers the first one's session. */
  reconnect?: boolean;
  /** s_client -starttls: the protocol's plaintext dialogue before TLS. */
  starttls?: StartTlsProtocol;
}

export interface RenegotiationReport {
  outcome: RenegotiationResult['outcome'];
  alert?: string;
  error?: string;
  secureRenegotiation?: boolean;
  durationMs: number;
  response?: string;
}

export interface ClientReport {
  target: string;
  ok: boolean;
  /** `hint`: how to go on, where the flags of this tool can help. */
  error?: { kind: string; message: string; hint?: string };
  version?: string;
  cipher?: string;
  secureRenegotiation?: boolean;
  extendedMasterSecret?: boolean;
  alpn?: string;
  verified?: boolean;
  peerCertificate?: { subject: string; issuer: string; validTo: string; fingerprint256: string };
  /** With showCerts: the chain as sent, leaf first. */
  peerCertificates?: { subject: string; issuer: string; pem: string }[];
  /** With reconnect: whether the second connection resumed the first one's session. */
  reconnect?: { ok: boolean; resumed: boolean; error?: string };
  response?: string;
  renegotiations: RenegotiationReport[];
  serverRenegotiations: number;
  handshakeMs?: number;
  /** What `renego client` exits with: EXIT.ok, or EXIT.failed when the handshake or a renegotiation asked for did not complete. */
  exitCode: number;
}

/** Translates CLI options into engine options; a UsageError for an option the client cannot use. */
export function connectOptions(opts: ClientRunOptions): ConnectOptions {
  const target = parseTarget(opts.target);
  const ca = opts.caFile ? readUserFile('--ca', opts.caFile) : undefined;
  const suites = opts.ciphers
    ? opts.ciphers.split(/[:,]/).map((n) => {
        const s = suiteByName(n.trim());
        if (!s) throw new UsageError(`unknown or unavailable cipher suite ${n} (IANA or OpenSSL names)`);
        return s;
      })
    : undefined;
  let clientCertificates: Uint8Array[] | undefined;
  let clientKey: crypto.KeyObject | undefined;
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new UsageError('--cert and --key go together');
    const certPem = readUserFile('--cert', opts.certFile);
    try {
      clientCertificates = parsePemCertificates(certPem).map((c) => new Uint8Array(c.raw));
    } catch (e) {
      throw unusableCertificate(e);
    }
    if (clientCertificates.length === 0) throw new UsageError(`--cert ${opts.certFile}: no certificate in the PEM`);
    clientKey = userPrivateKey('--key', opts.keyFile);
  }
  const legacy = opts.legacy ?? false;
  return {
    host: target.host,
    port: target.port,
    serverName: opts.serverName ?? target.host,
    minVersion: versionFromName(opts.minVersion, ProtocolVersion.TLSv1),
    maxVersion: versionFromName(opts.maxVersion, ProtocolVersion['TLSv1.2']),
    cipherSuites: suites,
    trust: ca ? trustStoreFromPem(ca) : undefined,
    insecure: opts.insecure ?? false,
    clientCertificates,
    clientKey,
    alpn: opts.alpn,
    handshakeTimeout: opts.timeoutMs,
    renegotiation: {
      signal: legacy ? 'none' : opts.scsvOnly ? 'scsv' : 'extension',
      allowLegacyServer: legacy || (opts.allowLegacyServer ?? false),
      allowUnsafeLegacyRenegotiation: legacy,
      accept: opts.acceptRenegotiation,
    },
  };
}

/**
 * Runs the batch mode: handshake, request, N renegotiations each followed by the request. Throws
 * only a UsageError, for options it cannot use; everything on the wire goes into the report.
 */
export async function runClient(opts: ClientRunOptions): Promise<ClientReport> {
  const options = connectOptions(opts);
  const report: ClientReport = {
    target: opts.target,
    ok: false,
    renegotiations: [],
    serverRenegotiations: 0,
    exitCode: EXIT.failed,
  };
  let sock: RenegoSocket | undefined;
  try {
    report.target = formatEndpoint(parseTarget(opts.target));
    const started = performance.now();
    sock = await connectObservingHello(await prepared(options, opts), report, opts.trace);
    report.handshakeMs = Math.round(performance.now() - started);
    // After the handshake, a failure (a fatal alert refusing our renegotiation, a reset) belongs to the
    // renegotiation or request under way and is reported there; the socket must not throw it at the process.
    sock.on('error', () => undefined);
    sock.on('renegotiationRequested', (e: { accepted: boolean }) => {
      if (e.accepted) report.serverRenegotiations++;
    });
    describe(sock, report, opts.showCerts);
    report.ok = true;
    if (opts.request !== undefined) report.response = await exchange(sock, opts.request, opts.timeoutMs ?? 5000);
    for (let i = 0; i < (opts.renegotiate ?? 0); i++) {
      const t0 = performance.now();
      const r = await sock.renegotiate({ timeoutMs: opts.timeoutMs ?? 10_000 });
      const entry: RenegotiationReport = { outcome: r.outcome, durationMs: Math.round(performance.now() - t0) };
      if (r.alert) entry.alert = r.alert;
      if (r.error) entry.error = r.error;
      if (r.summary) entry.secureRenegotiation = r.summary.secureRenegotiation;
      // The connection carries data after a completed or refused-without-closing renegotiation only.
      const usable = r.outcome === 'completed' || r.outcome === 'refused-alert' || r.outcome === 'refused-locally';
      if (usable && opts.request !== undefined) {
        entry.response = await exchange(sock, opts.request, opts.timeoutMs ?? 5000);
      }
      report.renegotiations.push(entry);
      if (r.outcome !== 'completed' && r.outcome !== 'refused-alert') break;
    }
    if (opts.reconnect) report.reconnect = await reconnect(options, opts, sock.getSession());
    const allDone = report.renegotiations.every((r) => r.outcome === 'completed') && report.reconnect?.ok !== false;
    report.exitCode = allDone ? EXIT.ok : EXIT.failed;
  } catch (e) {
    report.ok = false;
    report.exitCode = EXIT.failed;
    report.error =
      e instanceof TlsError
        ? { kind: e.kind, message: e.message, ...hintFor(e.kind) }
        : { kind: 'Error', message: String((e as Error).message ?? e) };
  } finally {
    sock?.end();
    sock?.destroy();
  }
  return report;
}

/**
 * Connects as `connect` does, and notes in the report whether the ServerHello carried
 * renegotiation_info (RFC 5746 §3.4) as soon as it arrives: when the handshake then fails,
 * refusing a legacy server by default included, the report still says what the server signalled.
 */
function connectObservingHello(
  options: ConnectOptions,
  report: ClientReport,
  trace?: (line: string) => void,
): Promise<RenegoSocket> {
  return new Promise((resolve, reject) => {
    const sock = new RenegoSocket({ ...options, observe: true });
    if (trace !== undefined) sock.on('tlsEvent', (e: ConnectionEvent) => traceLine(e, trace));
    const onEvent = (e: ConnectionEvent): void => {
      if (e.type !== 'handshake-message' || e.direction !== 'in') return;
      if (e.message.type !== HandshakeType.server_hello) return;
      const sh = e.message as ServerHello;
      report.secureRenegotiation = findExtension(sh.extensions, ExtensionType.renegotiation_info) !== undefined;
      sock.off('tlsEvent', onEvent);
    };
    const onError = (e: Error): void => {
      sock.off('tlsEvent', onEvent);
      reject(e);
    };
    sock.on('tlsEvent', onEvent);
    sock.once('error', onError);
    sock.once('secureConnect', () => {
      sock.off('error', onError);
      sock.off('tlsEvent', onEvent);
      resolve(sock);
    });
  });
}

/** What to try next for the failures a flag can get past (the flags, not the server, decide these). */
function hintFor(kind: string): { hint: string } | Record<string, never> {
  switch (kind) {
    case 'UnknownCA':
    case 'CertificateExpired':
    case 'BadCertificate':
      return { hint: 'trust its CA with --ca FILE, or skip verification with -k (auditing only)' };
    case 'CertificateNameMismatch':
      return { hint: 'give the name the certificate carries with --servername NAME, or -k (auditing only)' };
    case 'UnsafeLegacyServerRefused':
      return { hint: 'the server does not support RFC 5746; --allow-legacy-server connects anyway (no renegotiation)' };
    default:
      return {};
  }
}

/** A plain TCP connection through the STARTTLS dialogue, when asked for; the engine takes over from there. */
async function prepared(options: ConnectOptions, opts: ClientRunOptions): Promise<ConnectOptions> {
  if (opts.starttls === undefined) return options;
  const socket = net.connect({ host: options.host ?? 'localhost', port: options.port ?? 443 });
  socket.on('error', () => undefined); // reported through the dialogue's own errors and timeouts
  try {
    await startTls(socket, opts.starttls, options.serverName ?? options.host ?? '', opts.timeoutMs ?? 10_000);
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return { ...options, socket };
}

/** The second connection of -reconnect: offers the first one's session (RFC 5246 §7.4.1.2, RFC 5077). */
async function reconnect(
  options: ConnectOptions,
  opts: ClientRunOptions,
  session: ClientSession | undefined,
): Promise<NonNullable<ClientReport['reconnect']>> {
  let sock: RenegoSocket | undefined;
  try {
    sock = await connect(await prepared({ ...options, session }, opts));
    return { ok: true, resumed: sock.isSessionReused() };
  } catch (e) {
    return { ok: false, resumed: false, error: (e as Error).message };
  } finally {
    sock?.end();
    sock?.destroy();
  }
}

/** s_client -msg style: direction, record or message, length. */
function traceLine(e: ConnectionEvent, trace: (line: string) => void): void {
  const arrow = (d: 'in' | 'out') => (d === 'in' ? '<<<' : '>>>');
  if (e.type === 'record') {
    const protection = e.encrypted ? 'encrypted' : 'clear';
    trace(
      `${arrow(e.direction)} ${versionName(e.version)} record ${contentTypeName(e.contentType)} [length ${e.wireLength}, ${protection}]`,
    );
  } else if (e.type === 'handshake-message') {
    trace(`${arrow(e.direction)}     handshake ${handshakeTypeName(e.message.type)} [length ${e.raw.length}]`);
  }
}

function describe(sock: RenegoSocket, report: ClientReport, showCerts = false): void {
  const s = sock.getHandshakeSummary()!;
  report.version = versionName(s.version);
  report.cipher = sock.getCipher()?.standardName;
  report.secureRenegotiation = s.secureRenegotiation;
  report.extendedMasterSecret = s.extendedMasterSecret;
  report.verified = s.peerVerified;
  if (s.alpn) report.alpn = s.alpn;
  const c = sock.getPeerCertificate();
  if ('subject' in c) {
    report.peerCertificate = {
      subject: c.subject.split('\n').join(', '),
      issuer: c.issuer.split('\n').join(', '),
      validTo: c.valid_to,
      fingerprint256: c.fingerprint256,
    };
  }
  if (showCerts) {
    report.peerCertificates = s.peerCertificates.map((der) => {
      const x = new crypto.X509Certificate(Buffer.from(der));
      return { subject: x.subject.split('\n').join(', '), issuer: x.issuer.split('\n').join(', '), pem: x.toString() };
    });
  }
}

export function formatReport(r: ClientReport): string {
  const lines: string[] = [];
  if (!r.ok) {
    lines.push(`${r.target}: handshake failed: ${r.error?.message ?? 'unknown error'}`);
    if (r.error?.hint) lines.push(`  hint: ${r.error.hint}`);
    return lines.join('\n');
  }
  lines.push(`${r.target}: ${r.version} ${r.cipher}`);
  lines.push(`  secure renegotiation (RFC 5746): ${r.secureRenegotiation ? 'supported' : 'NOT supported'}`);
  lines.push(`  extended master secret (RFC 7627): ${r.extendedMasterSecret ? 'yes' : 'no'}`);
  if (r.peerCertificate)
    lines.push(
      `  peer: ${r.peerCertificate.subject} (issuer ${r.peerCertificate.issuer})${r.verified ? '' : ' [not verified]'}`,
    );
  if (r.response !== undefined) lines.push(`  response: ${JSON.stringify(r.response.slice(0, 200))}`);
  r.renegotiations.forEach((n, i) => {
    const why = n.alert ? ` (${n.alert})` : n.error ? ` (${n.error})` : '';
    lines.push(`  renegotiation ${i + 1}: ${n.outcome}${why} in ${n.durationMs} ms`);
    if (n.response !== undefined) lines.push(`    response: ${JSON.stringify(n.response.slice(0, 200))}`);
  });
  if (r.serverRenegotiations > 0) lines.push(`  server-initiated renegotiations accepted: ${r.serverRenegotiations}`);
  if (r.reconnect !== undefined) {
    const how = r.reconnect.ok ? (r.reconnect.resumed ? 'session resumed' : 'new session (not resumed)') : 'failed';
    lines.push(`  reconnect: ${how}${r.reconnect.error ? ` (${r.reconnect.error})` : ''}`);
  }
  r.peerCertificates?.forEach((c, i) => lines.push(` ${i} s:${c.subject}`, `   i:${c.issuer}`, c.pem.trimEnd()));
  return lines.join('\n');
}

/** Interactive mode, like s_client: stdin to the server, the server to stdout; a line "R" renegotiates. */
export async function runInteractive(opts: ClientRunOptions, log: (s: string) => void): Promise<number> {
  const options = connectOptions(opts);
  let sock: RenegoSocket;
  try {
    sock = await connect({ ...(await prepared(options, opts)), observe: opts.trace !== undefined });
    if (opts.trace !== undefined) {
      const trace = opts.trace;
      sock.on('tlsEvent', (e: ConnectionEvent) => traceLine(e, trace));
    }
  } catch (e) {
    log(`handshake failed: ${(e as Error).message}`);
    return EXIT.failed;
  }
  const report: ClientReport = {
    target: opts.target,
    ok: true,
    renegotiations: [],
    serverRenegotiations: 0,
    exitCode: EXIT.ok,
  };
  describe(sock, report);
  log(formatReport(report));
  sock.on('renegotiated', () => log('renegotiated'));
  sock.pipe(process.stdout);
  let pending = '';
  process.stdin.on('data', (d: Buffer) => {
    pending += d.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl + 1);
      pending = pending.slice(nl + 1);
      // s_client's connected commands: R alone on a line renegotiates, Q closes (close_notify) and quits.
      if (line.trim() === 'R') {
        log('renegotiating');
        void sock.renegotiate().then((r) => log(`renegotiation: ${r.outcome}${r.alert ? ` (${r.alert})` : ''}`));
      } else if (line.trim() === 'Q') {
        log('closing');
        sock.end();
      } else {
        sock.write(line);
      }
    }
  });
  process.stdin.on('end', () => sock.end());
  return new Promise((resolve) => {
    // A terminal's stdin would keep the process alive after the connection ends.
    const done = (code: number): void => {
      process.stdin.pause();
      resolve(code);
    };
    sock.on('close', () => done(EXIT.ok));
    sock.on('error', (e) => {
      log(`error: ${e.message}`);
      done(EXIT.failed);
    });
  });
}
