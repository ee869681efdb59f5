/**
 * `renego client`: the engine's s_client. Connects, optionally renegotiates N
 * times and sends a request after each handshake, and reports what it saw as one
 * JSON-friendly object (or pipes stdin/stdout in interactive mode).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { suiteByName } from '../crypto/suites.ts';
import { connect, type ConnectOptions, type RenegoSocket, type RenegotiationResult } from '../adapter/tls-socket.ts';
import { parsePemCertificates, trustStoreFromPem } from '../pki/verify.ts';
import { ProtocolVersion, versionName } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import { parseTarget, formatTarget } from './target.ts';

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
  error?: { kind: string; message: string };
  version?: string;
  cipher?: string;
  secureRenegotiation?: boolean;
  extendedMasterSecret?: boolean;
  alpn?: string;
  verified?: boolean;
  peerCertificate?: { subject: string; issuer: string; validTo: string; fingerprint256: string };
  response?: string;
  renegotiations: RenegotiationReport[];
  serverRenegotiations: number;
  handshakeMs?: number;
}

export function versionFromName(name: string | undefined, fallback: number): number {
  if (!name) return fallback;
  const table: Record<string, number> = {
    tls1: ProtocolVersion.TLSv1,
    'tls1.0': ProtocolVersion.TLSv1,
    tlsv1: ProtocolVersion.TLSv1,
    'tls1.1': ProtocolVersion['TLSv1.1'],
    'tlsv1.1': ProtocolVersion['TLSv1.1'],
    'tls1.2': ProtocolVersion['TLSv1.2'],
    'tlsv1.2': ProtocolVersion['TLSv1.2'],
  };
  const v = table[name.toLowerCase()];
  if (v === undefined) throw new Error(`unknown version ${name} (use tls1, tls1.1 or tls1.2)`);
  return v;
}

/** Translates CLI options into engine options. */
export function connectOptions(opts: ClientRunOptions): ConnectOptions {
  const target = parseTarget(opts.target);
  const ca = opts.caFile ? fs.readFileSync(opts.caFile) : undefined;
  const suites = opts.ciphers
    ? opts.ciphers.split(/[:,]/).map((n) => {
        const s = suiteByName(n.trim());
        if (!s) throw new Error(`unknown or unavailable cipher suite ${n}`);
        return s;
      })
    : undefined;
  let clientCertificates: Uint8Array[] | undefined;
  let clientKey: crypto.KeyObject | undefined;
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('--cert and --key go together');
    clientCertificates = parsePemCertificates(fs.readFileSync(opts.certFile)).map((c) => new Uint8Array(c.raw));
    clientKey = crypto.createPrivateKey(fs.readFileSync(opts.keyFile));
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

/** Runs the batch mode: handshake, request, N renegotiations each followed by the request. Never throws. */
export async function runClient(opts: ClientRunOptions): Promise<ClientReport> {
  const report: ClientReport = { target: opts.target, ok: false, renegotiations: [], serverRenegotiations: 0 };
  let sock: RenegoSocket | undefined;
  try {
    report.target = formatTarget(parseTarget(opts.target));
    const started = performance.now();
    sock = await connect(connectOptions(opts));
    report.handshakeMs = Math.round(performance.now() - started);
    sock.on('renegotiationRequested', (e: { accepted: boolean }) => {
      if (e.accepted) report.serverRenegotiations++;
    });
    describe(sock, report);
    report.ok = true;
    if (opts.request !== undefined) report.response = await exchange(sock, opts.request, opts.timeoutMs ?? 5000);
    for (let i = 0; i < (opts.renegotiate ?? 0); i++) {
      const t0 = performance.now();
      const r = await sock.renegotiate({ timeoutMs: opts.timeoutMs ?? 10_000 });
      const entry: RenegotiationReport = { outcome: r.outcome, durationMs: Math.round(performance.now() - t0) };
      if (r.alert) entry.alert = r.alert;
      if (r.error) entry.error = r.error;
      if (r.summary) entry.secureRenegotiation = r.summary.secureRenegotiation;
      if (r.outcome !== 'closed' && opts.request !== undefined) {
        entry.response = await exchange(sock, opts.request, opts.timeoutMs ?? 5000);
      }
      report.renegotiations.push(entry);
      if (r.outcome !== 'completed' && r.outcome !== 'refused-alert') break;
    }
  } catch (e) {
    report.ok = false;
    report.error =
      e instanceof TlsError
        ? { kind: e.kind, message: e.message }
        : { kind: 'Error', message: String((e as Error).message ?? e) };
  } finally {
    sock?.end();
    sock?.destroy();
  }
  return report;
}

function describe(sock: RenegoSocket, report: ClientReport): void {
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
}

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

export function formatReport(r: ClientReport): string {
  const lines: string[] = [];
  if (!r.ok) {
    lines.push(`${r.target}: handshake failed: ${r.error?.message ?? 'unknown error'}`);
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
  return lines.join('\n');
}

/** Interactive mode, like s_client: stdin to the server, the server to stdout; a line "R" renegotiates. */
export async function runInteractive(opts: ClientRunOptions, log: (s: string) => void): Promise<number> {
  let sock: RenegoSocket;
  try {
    sock = await connect(connectOptions(opts));
  } catch (e) {
    log(`handshake failed: ${(e as Error).message}`);
    return 1;
  }
  const report: ClientReport = { target: opts.target, ok: true, renegotiations: [], serverRenegotiations: 0 };
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
      if (line.trim() === 'R') {
        log('renegotiating');
        void sock.renegotiate().then((r) => log(`renegotiation: ${r.outcome}${r.alert ? ` (${r.alert})` : ''}`));
      } else {
        sock.write(line);
      }
    }
  });
  process.stdin.on('end', () => sock.end());
  return new Promise((resolve) => {
    sock.on('close', () => resolve(0));
    sock.on('error', (e) => {
      log(`error: ${e.message}`);
      resolve(1);
    });
  });
}
