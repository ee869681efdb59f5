/** What every probe of one target shares: where to connect, the options, and the engine settings that worked. */
import { ALL_SUITES, type CipherSuiteInfo } from '../../crypto/suites.ts';
import type { ClientRenegotiationPolicy } from '../../handshake/client-config.ts';
import { ProtocolVersion } from '../../wire/enums.ts';
import type { ConnectionGate, HelloTurn } from '../gate.ts';
import type { ProbeRun } from './probe.ts';
import {
  openFirstFlight,
  openSession,
  type FirstFlightResult,
  type HandshakeFailure,
  type HandshakeHooks,
  type OpenResult,
  type ProbeConnectOptions,
  type ProbeSession,
} from '../probe-session.ts';
import type { Reachability, ScanOptions, ScanTarget } from '../types.ts';

export interface ProbeContext {
  readonly target: ScanTarget;
  readonly address: string;
  readonly opts: ScanOptions;
  readonly gate: ConnectionGate;
  /** Every session open to this target: the scan closes what a probe left open, whatever happened. */
  readonly sessions: Set<ProbeSession>;
}

/** The version and suites the baseline handshake settled on. */
export interface Negotiated {
  readonly version: number;
  readonly suites: readonly CipherSuiteInfo[];
}

export const VERSIONS = [ProtocolVersion['TLSv1.2'], ProtocolVersion['TLSv1.1'], ProtocolVersion.TLSv1] as const;

/** Every suite the engine runs, 3DES included: the scanner must reach old servers too. */
export const SCAN_SUITES: readonly CipherSuiteInfo[] = ALL_SUITES;

/** What the baseline settles on when its first try works (TLS 1.2, every suite): the guess early work makes. */
export const FIRST_TRY: Negotiated = { version: VERSIONS[0], suites: SCAN_SUITES };

/** The same version and suites: a connection made with one stands for a connection made with the other. */
function sameNegotiated(a: Negotiated, b: Negotiated): boolean {
  return a.version === b.version && a.suites.length === b.suites.length && a.suites.every((s, i) => s === b.suites[i]);
}

/**
 * A probe's connection made early, with the plan, on FIRST_TRY, per target: the
 * probe takes it when the baseline did settle there, and otherwise closes it
 * and connects again with what the baseline settled on.
 */
export class FirstTryGuess<T extends { session?: ProbeSession | undefined; early?: boolean }> {
  private readonly byTarget = new WeakMap<ProbeContext, Promise<T>>();

  constructor(private readonly work: (cx: ProbeContext, n: Negotiated) => Promise<T>) {}

  /**
   * Only when the renegotiation run is not planned (--quick): there these chains are the longest,
   * while in the full audit the run is, and on a server that finishes concurrent handshakes one at
   * a time (gnutls-serv) two more handshakes at the start slowed it (measured: 1.20 s → 1.30 s at
   * 40 ms RTT, when the TLS 1.1 and 1.0 tries were full handshakes; with those reading the first
   * flight only and hellos sent one at a time once queueing shows, guessing made no difference
   * beyond the noise: about 1.0 s either way on gnutls-serv and on renego server).
   */
  start(r: ProbeRun): Promise<T> | undefined {
    if (r.planned('renegotiation-run')) return undefined;
    const guess = this.work(r.cx, FIRST_TRY);
    this.byTarget.set(r.cx, guess);
    return guess;
  }

  async take(cx: ProbeContext, n: Negotiated): Promise<T> {
    const guess = this.byTarget.get(cx);
    if (guess && sameNegotiated(n, FIRST_TRY)) return { ...(await guess), early: true };
    void guess?.then((g) => g.session?.close());
    return this.work(cx, n);
  }
}

/**
 * The scanner's client: verifies nothing (it audits), observes everything,
 * completes handshakes with servers without RFC 5746 and renegotiates with them
 * (the probes decide what that means), and lets the server certificate change
 * across a renegotiation so the change can be reported.
 */
function engineOptions(
  n: Negotiated,
  signal: ClientRenegotiationPolicy['signal'],
  extra: Partial<ProbeConnectOptions> = {},
): ProbeConnectOptions {
  return {
    minVersion: n.version,
    maxVersion: n.version,
    cipherSuites: n.suites,
    renegotiation: {
      accept: 'freely',
      allowLegacyServer: true,
      allowUnsafeLegacyRenegotiation: true,
      signal,
      serverCertificateChange: 'allow',
    },
    ...extra,
  };
}

/** Silence this long while other connections are open suggests a server that serves one at a time. */
const STALL_MS = 2000;

/** Opens a probe connection through the target's gate; the session frees its slot when closed. */
export function open(
  cx: ProbeContext,
  n: Negotiated,
  signal: ClientRenegotiationPolicy['signal'],
  extra: Partial<ProbeConnectOptions> = {},
  turn: HelloTurn = 'leaf',
): Promise<OpenResult> {
  return throughGate(cx, turn, async (hooks, release) => {
    const r = await openSession(cx.target, cx.address, engineOptions(n, signal, extra), cx.opts, hooks);
    if (!r.ok) return r;
    const session = r.session;
    cx.sessions.add(session);
    session.onClose(() => {
      cx.sessions.delete(session);
      release();
    });
    return r;
  });
}

/**
 * The server's first flight only (openFirstFlight), through the target's gate:
 * for the questions a ServerHello answers, without holding a server that runs
 * one handshake at a time for the round trip a full handshake would.
 *
 * A server that ends the connection without a word may have read our
 * close_notify before answering the ClientHello in front of it (one that reads
 * all it has been sent before it writes): the same hello is then asked once
 * more as a full handshake, without the close_notify, so that what the probe
 * reports is the server's answer to the ClientHello alone. Servers that refuse a
 * version by closing (IIS does) cost one more connection for it.
 */
export async function openFlight(
  cx: ProbeContext,
  n: Negotiated,
  signal: ClientRenegotiationPolicy['signal'],
): Promise<FirstFlightResult> {
  const r = await firstFlightThroughGate(cx, n, signal);
  if (r.ok || r.failure.transport || !ENDED_WITHOUT_A_WORD.has(r.failure.reach)) return r;
  const full = await open(cx, n, signal);
  if (!full.ok) return full;
  const s = full.session;
  s.close();
  const serverHello = s.log.serverHello!;
  return {
    ok: true,
    flight: { serverHello, secureRenegotiation: s.summary.secureRenegotiation, log: s.log, ms: s.handshakeMs },
  };
}

/** How a connection ends when the server closes or resets it without sending a byte. */
const ENDED_WITHOUT_A_WORD: ReadonlySet<Reachability> = new Set<Reachability>(['closed', 'reset']);

function firstFlightThroughGate(
  cx: ProbeContext,
  n: Negotiated,
  signal: ClientRenegotiationPolicy['signal'],
): Promise<FirstFlightResult> {
  return throughGate(cx, 'free', async (hooks, release) => {
    // A turn of the event loop after the handshakes asked for with it (the plan's guesses, started
    // on setImmediate, included): a server that runs one handshake at a time takes waiting
    // connections in accept order, and a first flight, which holds it for no round trip, should not
    // go before a handshake that holds it for one.
    await new Promise((resolve) => setImmediate(resolve));
    const r = await openFirstFlight(cx.target, cx.address, engineOptions(n, signal), cx.opts, hooks);
    if (r.ok) release();
    return r;
  });
}

/**
 * Takes a slot of the gate and connects; a failure frees the slot (a success
 * frees it when `connect` says). A connection that heard nothing while others
 * were progressing was queued: the gate lets one through at a time from then on,
 * and the connection is tried once more.
 */
async function throughGate<R extends { ok: true } | { ok: false; failure: HandshakeFailure }>(
  cx: ProbeContext,
  kind: HelloTurn,
  connect: (hooks: HandshakeHooks, release: () => void) => Promise<R>,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    const release = await cx.gate.acquire();
    // One unanswered ClientHello at a time, once the server was seen to queue them (gate.ts).
    // Awaited whatever the kind, so that connections connect in the order they were asked for (the
    // baseline's first: a server that serves one handshake at a time takes them in accept order).
    const turn = await cx.gate.acquireHello(kind);
    let seen: ReturnType<ConnectionGate['helloSent']> | undefined;
    const hooks: HandshakeHooks = {
      ...(cx.gate.serialized
        ? {}
        : {
            stall: {
              ms: Math.min(STALL_MS, cx.opts.timeoutMs / 2),
              crowded: () => cx.gate.othersProgressing(STALL_MS / 2),
            },
          }),
      activity: () => cx.gate.touch(),
      helloSent: () => (seen = cx.gate.helloSent()),
      answered: (waitMs) => {
        seen?.answered(waitMs);
        turn();
      },
      ended: () => {
        seen?.ended();
        turn();
      },
    };
    const r = await connect(hooks, release);
    if (r.ok) return r;
    release();
    if (attempt > 0 || r.failure.kind !== 'Queued') return r;
    cx.gate.serialize();
  }
}

export function suitesWithout(suites: readonly CipherSuiteInfo[], id: number | undefined): CipherSuiteInfo[] {
  return suites.filter((s) => s.id !== id);
}

/** Runs fn and returns its value with the time it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - t0) };
}
