/**
 * Check 1: protocol versions, and the handshake every other check builds on.
 * TLS 1.0, 1.1 and 1.2 are each tried alone with every suite the engine runs;
 * when a handshake fails after the ServerHello (a suite we cannot finish, a weak
 * DH group), the chosen suite is dropped and the version tried again. TLS 1.3 is
 * only detected, through node:tls: renegotiation does not exist there.
 */
import * as tls from 'node:tls';
import { suiteName } from '../../crypto/suites.ts';
import { versionName } from '../../wire/enums.ts';
import { distinguishedName } from '../evidence.ts';
import { openTransport, type ProbeSession } from '../session.ts';
import type { Baseline, HandshakeAttempt, Tri, VersionsResult } from '../types.ts';
import { SCAN_SUITES, VERSIONS, open, suitesWithout, type Negotiated, type ProbeContext } from './context.ts';

/** Suites dropped, at most, before a version counts as not working. */
const MAX_SUITE_FALLBACKS = 3;

export interface VersionProbe {
  versions: VersionsResult;
  /** The highest version that completed. */
  baseline: { negotiated: Negotiated; info: Baseline } | undefined;
  /** Why no TLS 1.0–1.2 handshake worked. */
  error: string | undefined;
  /** Every TCP attempt failed before TLS began: the target is unreachable. */
  unreachable: boolean;
  ms: number;
}

interface VersionOutcome {
  version: number;
  /** Closed at once; kept for its summary and transcript. */
  session: ProbeSession | undefined;
  suites: readonly number[];
  attempts: HandshakeAttempt[];
  transportOnly: boolean;
}

async function tryVersion(cx: ProbeContext, version: number): Promise<VersionOutcome> {
  let suites = SCAN_SUITES;
  const attempts: HandshakeAttempt[] = [];
  let transportOnly = true;
  for (let i = 0; i <= MAX_SUITE_FALLBACKS; i++) {
    const r = await open(cx, { version, suites }, 'extension');
    if (r.ok) {
      // Closed at once: a server that serves one connection at a time must be free for the next probe.
      r.session.close();
      attempts.push({ version: versionName(version), ok: true, cipher: r.session.cipher, ms: r.session.handshakeMs });
      return { version, session: r.session, suites: suites.map((s) => s.id), attempts, transportOnly: false };
    }
    const f = r.failure;
    transportOnly &&= f.transport;
    const cipher = f.chosenSuite !== undefined ? suiteName(f.chosenSuite) : undefined;
    attempts.push({
      version: versionName(version),
      ok: false,
      ...(cipher ? { cipher } : {}),
      error: f.alert ? `${f.error} (${f.alert})` : f.error,
      ms: f.ms,
    });
    // Only a failure after the server chose a suite says something about that suite.
    if (!f.serverHello || f.chosenSuite === undefined || f.kind === 'ProtocolVersion') break;
    suites = suitesWithout(suites, f.chosenSuite);
    if (suites.length === 0) break;
  }
  return { version, session: undefined, suites: [], attempts, transportOnly };
}

/** TLS 1.3 through node:tls (after STARTTLS when asked): true, false, or null when the connection itself failed. */
export async function detectTls13(cx: ProbeContext): Promise<{ value: Tri; note: string }> {
  const release = await cx.gate.acquire();
  try {
    return await tls13Handshake(cx);
  } finally {
    release();
  }
}

async function tls13Handshake(cx: ProbeContext): Promise<{ value: Tri; note: string }> {
  let raw;
  try {
    raw = await openTransport(cx.target, cx.address, cx.opts);
  } catch (e) {
    return { value: null, note: `TLS 1.3: ${(e as Error).message}` };
  }
  return new Promise((resolve) => {
    const s = tls.connect({
      socket: raw,
      ...(cx.target.serverName ? { servername: cx.target.serverName } : {}),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false,
    });
    const done = (value: Tri, note: string): void => {
      clearTimeout(timer);
      s.destroy();
      raw.destroy();
      resolve({ value, note });
    };
    const timer = setTimeout(() => done(null, `TLS 1.3: no answer within ${cx.opts.timeoutMs} ms`), cx.opts.timeoutMs);
    s.once('secureConnect', () =>
      done(true, `TLS 1.3 handshake completed (${s.getCipher()?.standardName ?? 'unknown suite'})`),
    );
    s.once('error', (e: NodeJS.ErrnoException) => {
      // An alert or a close in answer to a TLS 1.3-only hello is a "no"; a reset before anything is too.
      done(false, `TLS 1.3 refused: ${e.code ?? ''} ${e.message}`.trim());
    });
  });
}

export async function probeVersions(cx: ProbeContext): Promise<VersionProbe> {
  const t0 = performance.now();
  const [outcomes, tls13] = await Promise.all([Promise.all(VERSIONS.map((v) => tryVersion(cx, v))), detectTls13(cx)]);
  const versions: VersionsResult = { TLSv1: null, 'TLSv1.1': null, 'TLSv1.2': null, 'TLSv1.3': tls13.value };
  for (const o of outcomes) {
    versions[versionName(o.version) as keyof VersionsResult] = o.session ? true : o.transportOnly ? null : false;
  }
  const best = outcomes.find((o) => o.session);
  const attempts = outcomes.flatMap((o) => o.attempts);
  const ms = Math.round(performance.now() - t0);
  const unreachable = outcomes.every((o) => o.transportOnly) && tls13.value === null;
  if (!best?.session) {
    const last = attempts.at(-1);
    return { versions, baseline: undefined, error: last?.error ?? 'no handshake completed', unreachable, ms };
  }
  const session = best.session;
  const s = session.summary;
  const negotiated: Negotiated = {
    version: best.version,
    suites: SCAN_SUITES.filter((x) => best.suites.includes(x.id)),
  };
  const info: Baseline = {
    version: versionName(s.version),
    cipher: suiteName(s.cipherSuite),
    suites: [...best.suites],
    secureRenegotiation: s.secureRenegotiation,
    extendedMasterSecret: s.extendedMasterSecret,
    initialCertificateRequest: s.certificateRequested !== undefined,
    certificateAuthorities: (s.certificateRequested?.certificateAuthorities ?? []).map(distinguishedName),
    peerCertificate: session.sock.getPeerCertificate().subject?.split('\n').join(', '),
    attempts,
    evidence: [...session.transcript.lines, tls13.note],
  };
  return { versions, baseline: { negotiated, info }, error: undefined, unreachable: false, ms };
}
