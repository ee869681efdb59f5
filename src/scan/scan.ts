/**
 * One target, every check: versions and the baseline handshake first, then the
 * rest in parallel on their own connections (each bounded by the probe timeout),
 * then verdicts. Never throws: a target that cannot be scanned gives ok: false
 * with the reason, and each check that cannot run says why.
 */
import { judge, type Evidence } from './verdict.ts';
import {
  notTested,
  probeClientInitiated,
  probeRenegotiationRun,
  type ClientInitiatedProbe,
} from './probes/client-initiated.ts';
import { open, type ProbeContext } from './probes/context.ts';
import { judgeEnforcement, probeEnforcement, type EnforcementProbe } from './probes/enforcement.ts';
import { probeLegacyClient, probeScsv } from './probes/rfc5746.ts';
import { probeServerInitiated } from './probes/server-initiated.ts';
import { probeSplit } from './probes/split.ts';
import { probeVersions } from './probes/versions.ts';
import { ConnectionGate } from './gate.ts';
import { resolveAddress } from './session.ts';
import type {
  ClientInitiatedResult,
  DosResult,
  RenegotiationAttempt,
  ScanOptions,
  ScanReport,
  ScanTarget,
  SecureRenegotiationResult,
  ServerInitiatedPath,
  Tri,
} from './types.ts';

export const SCANNER = 'renego-scan/0.1.0';

function emptyDos(max: number, reason: string): DosResult {
  return { accepted: null, max, limitMet: null, ratePerSecond: null, over: undefined, reason, attempts: [] };
}

/** A report with every check at could-not-test, `reason` saying why; probes fill it in. */
export function emptyReport(target: ScanTarget, maxRenegotiations: number, reason = 'not reached'): Evidence {
  return {
    target: target.label,
    host: target.host,
    port: target.port,
    ...(target.serverName ? { serverName: target.serverName } : {}),
    ...(target.starttls ? { starttls: target.starttls } : {}),
    ok: false,
    versions: { TLSv1: null, 'TLSv1.1': null, 'TLSv1.2': null, 'TLSv1.3': null },
    secureRenegotiation: {
      extension: null,
      scsv: null,
      required: null,
      enforced: null,
      reasons: {},
      enforcement: [],
      evidence: [],
    },
    clientInitiated: {
      secure: 'not-tested',
      insecure: 'not-tested',
      details: { secure: notTested(reason), insecure: notTested(reason) },
      split: { glued: null, over: undefined, reason, evidence: [] },
    },
    maxClientRenegotiations: null,
    dos: emptyDos(maxRenegotiations, reason),
    serverInitiated: [],
    extendedMasterSecret: null,
    certificateChange: null,
    timings: { totalMs: 0, probes: {} },
    scannedAt: new Date().toISOString(),
    scanner: SCANNER,
  };
}

function finish(e: Evidence, t0: number): ScanReport {
  e.timings.totalMs = Math.round(performance.now() - t0);
  return { ...e, ...judge(e) };
}

export async function scanTarget(target: ScanTarget, opts: ScanOptions): Promise<ScanReport> {
  const t0 = performance.now();
  const e = emptyReport(target, opts.maxRenegotiations);
  try {
    return await scanInto(e, target, opts, t0);
  } catch (err) {
    e.ok = false;
    e.error = `internal error: ${(err as Error).stack ?? String(err)}`;
    return finish(e, t0);
  }
}

async function scanInto(e: Evidence, target: ScanTarget, opts: ScanOptions, t0: number): Promise<ScanReport> {
  let address: string;
  try {
    address = await resolveAddress(target);
  } catch (err) {
    e.error = `cannot resolve ${target.host}: ${(err as Error).message}`;
    return finish(e, t0);
  }
  e.address = address;
  const cx: ProbeContext = { target, address, opts, gate: new ConnectionGate(opts.connectionsPerTarget) };
  const probes = e.timings.probes;

  // 1. Versions and the baseline handshake.
  const v = await probeVersions(cx);
  probes['versions'] = v.ms;
  e.versions = v.versions;
  if (!v.baseline) {
    if (v.versions['TLSv1.3'] === true) {
      e.ok = true;
      const why = 'TLS 1.3 only: renegotiation does not exist there';
      e.secureRenegotiation.reasons = { extension: why, scsv: why, required: why, enforced: why };
      e.clientInitiated.details = { secure: notTested(why), insecure: notTested(why) };
      e.clientInitiated.split.reason = why;
      e.dos = emptyDos(opts.maxRenegotiations, why);
      return finish(e, t0);
    }
    e.error = v.unreachable ? `unreachable: ${v.error}` : `no TLS 1.0–1.2 handshake completed: ${v.error}`;
    return finish(e, t0);
  }
  e.ok = true;
  const { negotiated: n, info } = v.baseline;
  e.baseline = info;
  e.extendedMasterSecret = info.extendedMasterSecret;
  const sr: SecureRenegotiationResult = e.secureRenegotiation;
  sr.extension = info.secureRenegotiation;
  if (!sr.extension) sr.reasons.extension = 'no renegotiation_info in the ServerHello';
  sr.evidence.push(...info.evidence.filter((l) => l.includes('ServerHello') || l.includes('ClientHello')).slice(0, 2));
  const hasRi = info.secureRenegotiation;

  // 2, 3, 5 in parallel, each on its own connections.
  const scsvP = probeScsv(cx, n);
  const legacyP = probeLegacyClient(cx, n);
  const secureP = hasRi
    ? open(cx, n, 'extension').then((r) =>
        probeClientInitiated(
          r.ok ? r.session : undefined,
          'secure',
          r.ok ? '' : `handshake failed: ${r.failure.error}`,
          opts,
        ),
      )
    : probeClientInitiated(
        undefined,
        'secure',
        'the server does not support RFC 5746, so no secure renegotiation exists',
        opts,
      );
  const insecureP = legacyP.then((l) =>
    probeClientInitiated(
      l.session,
      'insecure',
      l.required === true
        ? 'the server refuses clients without RFC 5746 at the initial handshake'
        : (l.reason ?? 'a legacy client could not connect'),
      opts,
    ),
  );
  const enforcementP: Promise<EnforcementProbe | undefined> = hasRi
    ? probeEnforcement(cx, n)
    : Promise.resolve(undefined);
  const serverP = Promise.all(opts.paths.map((p) => probeServerInitiated(cx, n, p)));
  // The split runs over whichever kind of renegotiation the server accepts, insecure first.
  const splitP = Promise.all([insecureP, secureP]).then(([ins, sec]) => probeSplit(cx, n, renegotiating(ins, sec)));

  const [scsv, legacy, secure, insecure, enforcement, server, split] = await Promise.all([
    scsvP,
    legacyP,
    secureP,
    insecureP,
    enforcementP,
    serverP,
    splitP,
  ]);

  probes['rfc5746-scsv'] = scsv.ms;
  probes['rfc5746-required'] = legacy.ms;
  sr.scsv = scsv.scsv;
  if (scsv.reason) sr.reasons.scsv = scsv.reason;
  sr.evidence.push(...scsv.evidence);
  sr.required = legacy.required;
  if (legacy.reason) sr.reasons.required = legacy.reason;
  sr.evidence.push(...legacy.evidence.slice(0, 3));

  probes['client-initiated-secure'] = secure.ms;
  probes['client-initiated-insecure'] = insecure.ms;
  e.clientInitiated.secure = secure.result.outcome;
  e.clientInitiated.insecure = insecure.result.outcome;
  e.clientInitiated.details = { secure: secure.result, insecure: insecure.result };

  if (enforcement) {
    probes['rfc5746-enforced'] = enforcement.ms;
    sr.enforcement = enforcement.enforcement;
    sr.evidence.push(...enforcement.evidence);
    const j = judgeEnforcement(enforcement, secure.result.outcome);
    sr.enforced = j.enforced;
    if (j.reason) sr.reasons.enforced = j.reason;
  } else {
    sr.enforced = null;
    sr.reasons.enforced = 'the server does not advertise RFC 5746, so there is nothing to enforce';
  }

  probes['server-initiated'] = Math.max(0, ...server.map((p) => p.ms));
  e.serverInitiated = server.map(({ ms: _ms, ...p }) => p);
  addServerInitiatedEnforcement(sr, e.serverInitiated);
  const { ms: splitMs, ...splitResult } = split;
  probes['split-request'] = splitMs;
  e.clientInitiated.split = splitResult;

  // 4, alone at the end: renegotiations in a row on one connection.
  const over =
    secure.result.outcome === 'completed' ? 'secure' : insecure.result.outcome === 'completed' ? 'insecure' : undefined;
  if (over) {
    const r = await open(cx, n, over === 'secure' ? 'extension' : 'none');
    if (r.ok) {
      const { ms: runMs, ...run } = await probeRenegotiationRun(r.session, over, opts);
      probes['renegotiation-run'] = runMs;
      e.dos = run;
      e.maxClientRenegotiations = run.accepted;
    } else {
      e.dos = emptyDos(opts.maxRenegotiations, `handshake failed: ${r.failure.error}`);
    }
  } else {
    refusedRun(e, secure.result.outcome !== 'not-tested' ? secure.result : insecure.result, opts);
  }
  e.certificateChange = certificateChange([secure.result, insecure.result, ...e.dos.attempts]);
  return finish(e, t0);
}

/**
 * Where the server renegotiated on its own, its renegotiations show enforcement
 * too: one that carried on after a bad renegotiation_info is not enforcing RFC
 * 5746, whatever client-initiated renegotiation showed; one that aborted every
 * time answers what a server refusing client renegotiation left open.
 */
function addServerInitiatedEnforcement(sr: SecureRenegotiationResult, paths: ServerInitiatedPath[]): void {
  for (const p of paths) {
    sr.enforcement.push(
      ...p.enforcement.map((x) => ({ ...x, sent: `${x.sent}, answering the HelloRequest of GET ${p.path}` })),
    );
  }
  const failed = paths.find((p) => p.enforced === false);
  const held = paths.find((p) => p.enforced === true);
  if (failed) {
    sr.enforced = false;
    delete sr.reasons.enforced;
  } else if (sr.enforced === null && held) {
    sr.enforced = true;
    sr.reasons.enforced = `shown on the server-initiated renegotiation of GET ${held.path}: each misbehaving answer to its HelloRequest was refused`;
  }
}

function renegotiating(
  insecure: ClientInitiatedProbe,
  secure: ClientInitiatedProbe,
): 'secure' | 'insecure' | undefined {
  if (insecure.result.outcome === 'completed') return 'insecure';
  return secure.result.outcome === 'completed' ? 'secure' : undefined;
}

/** No client-initiated renegotiation completed: the run stopped at its first attempt (or could not start). */
function refusedRun(e: Evidence, r: ClientInitiatedResult, opts: ScanOptions): void {
  if (r.outcome === 'not-tested') {
    e.dos = emptyDos(opts.maxRenegotiations, r.reason);
    return;
  }
  e.dos = {
    ...emptyDos(opts.maxRenegotiations, `client-initiated renegotiation ${r.outcome}`),
    accepted: 0,
    limitMet: true,
    stoppedBy: r.outcome,
    attempts: [r],
  };
  e.maxClientRenegotiations = 0;
}

function certificateChange(attempts: ClientInitiatedResult[]): Tri {
  const completed = attempts.filter((a): a is RenegotiationAttempt => a.outcome === 'completed');
  if (completed.some((a) => a.certificateChanged)) return true;
  return completed.length > 0 ? false : null;
}
