/**
 * Check 1: protocol versions, and the handshake every other check builds on.
 * TLS 1.0, 1.1 and 1.2 are each tried alone with every suite the engine runs,
 * all at once; when a try fails after the ServerHello (a suite we cannot
 * finish, a weak DH group), the chosen suite is dropped and the version tried
 * again. TLS 1.2 is a full handshake; TLS 1.1 and 1.0 read the server's first
 * flight only (openFlight: the version and suite are in its ServerHello, every
 * message of it checked as in a handshake), because a server that runs one
 * handshake at a time (gnutls-serv) would otherwise hold every other probe a
 * round trip for each; a full handshake at an older version is made only when
 * TLS 1.2 failed and the baseline needs it. Two probes read the same tries:
 * `handshake` is done as soon as the highest version that works is known (TLS
 * 1.2 answering is enough), so the probes that build on it need not wait for
 * older versions; `versions` waits for every try. The TLS 1.2 session stays
 * open for the secure client-initiated check, which renegotiates on it instead
 * of a new handshake.
 */
import { suiteName } from '../../crypto/suites.ts';
import { ProtocolVersion, versionName } from '../../wire/enums.ts';
import { distinguishedName } from '../evidence.ts';
import type { HandshakeFailure, ProbeSession } from '../probe-session.ts';
import { furthestReach } from '../outcome.ts';
import type { Baseline, HandshakeAttempt, Reachability, VersionsResult } from '../types.ts';
import type { Evidence } from '../verdict.ts';
import {
  SCAN_SUITES,
  VERSIONS,
  open,
  openFlight,
  suitesWithout,
  type Negotiated,
  type ProbeContext,
} from './context.ts';
import { CONNECT_ROUND_TRIPS, type Probe } from './probe.ts';

/** Suites dropped, at most, before a version counts as not working. */
const MAX_SUITE_FALLBACKS = 3;

interface VersionOutcome {
  version: number;
  /** The server speaks this version: a handshake completed, or its first flight for it came whole. */
  ok: boolean;
  /** What a full handshake showed; the session itself is closed unless kept for reuse. */
  session: ProbeSession | undefined;
  suites: readonly number[];
  attempts: HandshakeAttempt[];
  transportOnly: boolean;
  /** How far the furthest of its connections got (reachable when one completed). */
  reach: Reachability;
}

/** The handshake every other probe builds on. */
export interface HandshakeProbe {
  negotiated: Negotiated;
  info: Baseline;
  /** Still open when it can be reused: TLS 1.2 with RFC 5746, for the secure client-initiated check. */
  session: ProbeSession | undefined;
}

export interface VersionsProbe {
  versions: Omit<VersionsResult, 'TLSv1.3'>;
  attempts: HandshakeAttempt[];
  /** Why no TLS 1.0–1.2 handshake worked (undefined when one did). */
  error: string | undefined;
  /** Every TCP attempt failed before TLS began. */
  transportOnly: boolean;
  /** How far the furthest connection got towards a TLS server. */
  reach: Reachability;
}

declare module './probe.ts' {
  interface ProbeOutputs {
    handshake: HandshakeProbe;
    versions: VersionsProbe;
  }
}

/** The newest version we try: a session of it is the best there can be, so it may stay open. */
const NEWEST = ProtocolVersion['TLSv1.2'];

/** A full handshake, its session kept (for reuse, when it has RFC 5746) or closed; or the first flight only. */
type TryMode = 'keep' | 'close' | 'first-flight';

/** One connection at `version` with `suites`: what it showed, or why it failed. */
async function attempt(
  cx: ProbeContext,
  n: Negotiated,
  mode: TryMode,
): Promise<
  { ok: true; session: ProbeSession | undefined; cipher: string; ms: number } | { ok: false; failure: HandshakeFailure }
> {
  if (mode === 'first-flight') {
    const r = await openFlight(cx, n, 'extension');
    if (!r.ok) return r;
    return { ok: true, session: undefined, cipher: suiteName(r.flight.serverHello.cipherSuite), ms: r.flight.ms };
  }
  const r = await open(cx, n, 'extension', {}, 'chain');
  if (!r.ok) return r;
  // Closed at once unless reused: a server that serves one connection at a time must be free for the next probe.
  if (mode !== 'keep' || !r.session.summary.secureRenegotiation) r.session.close();
  return { ok: true, session: r.session, cipher: r.session.cipher, ms: r.session.handshakeMs };
}

async function tryVersion(cx: ProbeContext, version: number, mode: TryMode): Promise<VersionOutcome> {
  let suites = SCAN_SUITES;
  const attempts: HandshakeAttempt[] = [];
  const reaches: Reachability[] = [];
  let transportOnly = true;
  for (let i = 0; i <= MAX_SUITE_FALLBACKS; i++) {
    const r = await attempt(cx, { version, suites }, mode);
    if (r.ok) {
      attempts.push({ version: versionName(version), ok: true, cipher: r.cipher, ms: r.ms });
      const used = suites.map((s) => s.id);
      return {
        version,
        ok: true,
        session: r.session,
        suites: used,
        attempts,
        transportOnly: false,
        reach: 'reachable',
      };
    }
    const f = r.failure;
    transportOnly &&= f.transport;
    reaches.push(f.reach);
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
  return { version, ok: false, session: undefined, suites: [], attempts, transportOnly, reach: furthestReach(reaches) };
}

/** The tries, newest version first, started once per target whichever probe asks first. */
const triesByTarget = new WeakMap<ProbeContext, Promise<VersionOutcome>[]>();

function versionTries(cx: ProbeContext, keepNewest: boolean): Promise<VersionOutcome>[] {
  let tries = triesByTarget.get(cx);
  if (!tries) {
    tries = VERSIONS.map((v) => tryVersion(cx, v, v !== NEWEST ? 'first-flight' : keepNewest ? 'keep' : 'close'));
    triesByTarget.set(cx, tries);
  }
  return tries;
}

function baselineOf(o: VersionOutcome, session: ProbeSession): HandshakeProbe {
  const s = session.summary;
  const info: Baseline = {
    version: versionName(s.version),
    cipher: suiteName(s.cipherSuite),
    suites: [...o.suites],
    secureRenegotiation: s.secureRenegotiation,
    extendedMasterSecret: s.extendedMasterSecret,
    initialCertificateRequest: s.certificateRequested !== undefined,
    certificateAuthorities: (s.certificateRequested?.certificateAuthorities ?? []).map(distinguishedName),
    peerCertificate: session.sock.getPeerCertificate().subject?.split('\n').join(', '),
    attempts: [],
    // A copy: a reused session's transcript goes on with its renegotiations.
    evidence: [...session.log.lines],
  };
  return {
    negotiated: { version: o.version, suites: SCAN_SUITES.filter((x) => o.suites.includes(x.id)) },
    info,
    session: session.closed ? undefined : session,
  };
}

export const handshakeProbe: Probe<'handshake'> = {
  id: 'handshake',
  needs: [],
  informs: ['CVE-2009-3555', 'triple-handshake'],
  async run(r) {
    for (const t of versionTries(r.cx, r.planned('client-initiated-secure'))) {
      const o = await t;
      if (o.session) return baselineOf(o, o.session);
      if (!o.ok) continue;
      // An older version answered with its first flight only: the baseline is a handshake of its own.
      const full = await tryVersion(r.cx, o.version, 'close');
      if (full.session) return baselineOf(full, full.session);
    }
    return undefined;
  },
  contribute(e, out) {
    const info = out.info;
    e.ok = true;
    e.reachability = 'reachable';
    e.baseline = info;
    e.extendedMasterSecret = info.extendedMasterSecret;
    const sr = e.secureRenegotiation;
    sr.extension = info.secureRenegotiation;
    if (!sr.extension) sr.reasons.extension = 'no renegotiation_info in the ServerHello';
    sr.evidence.push(
      ...info.evidence.filter((l) => l.includes('ServerHello') || l.includes('ClientHello')).slice(0, 2),
    );
  },
  roundTrips: () => CONNECT_ROUND_TRIPS,
};

export const versionsProbe: Probe<'versions'> = {
  id: 'versions',
  needs: [],
  informs: ['no-renegotiation'],
  async run(r) {
    const outcomes = await Promise.all(versionTries(r.cx, r.planned('client-initiated-secure')));
    const versions: VersionsProbe['versions'] = { TLSv1: null, 'TLSv1.1': null, 'TLSv1.2': null };
    for (const o of outcomes) {
      versions[versionName(o.version) as keyof VersionsProbe['versions']] = o.ok
        ? true
        : o.transportOnly
          ? null
          : false;
    }
    const attempts = outcomes.flatMap((o) => o.attempts);
    const worked = outcomes.some((o) => o.ok);
    return {
      versions,
      attempts,
      error: worked ? undefined : (attempts.at(-1)?.error ?? 'no handshake completed'),
      transportOnly: outcomes.every((o) => o.transportOnly),
      reach: furthestReach(outcomes.map((o) => o.reach)),
    };
  },
  contribute(e, out, r) {
    Object.assign(e.versions, out.versions);
    if (e.baseline) {
      e.baseline.attempts = out.attempts;
      return;
    }
    if (out.error === undefined) return;
    const tls13 = r.output('tls13')?.value ?? null;
    if (tls13 === true) {
      tls13Only(e);
      return;
    }
    e.reachability = out.reach;
    // A transport failure speaks for itself ("ECONNREFUSED: …", "pop3 STARTTLS refused at …").
    e.error = out.transportOnly ? out.error : `no TLS 1.0–1.2 handshake completed: ${out.error}`;
  },
  roundTrips: () => CONNECT_ROUND_TRIPS,
};

/** TLS 1.3 only: every renegotiation check has its answer, there is nothing to renegotiate. */
function tls13Only(e: Evidence): void {
  e.ok = true;
  e.reachability = 'reachable';
  const why = 'TLS 1.3 only: renegotiation does not exist there';
  e.secureRenegotiation.reasons = { extension: why, scsv: why, required: why, enforced: why };
  e.clientInitiated.details = {
    secure: { outcome: 'not-tested', reason: why },
    insecure: { outcome: 'not-tested', reason: why },
  };
  e.clientInitiated.split.reason = why;
  e.dos = { ...e.dos, reason: why };
}
