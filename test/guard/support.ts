/**
 * Helpers for the guard tests: TLS byte streams built with the wire encoders (records, hellos,
 * stand-ins for encrypted records), a driver that feeds a RenegotiationWatch a scripted
 * conversation and collects what it forwards, and a guard started on 127.0.0.1 for proxy tests.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { concat } from '../../src/wire/codec.ts';
import { ContentType, ExtensionType, HandshakeType, TLS_EMPTY_RENEGOTIATION_INFO_SCSV } from '../../src/wire/enums.ts';
import { alpn, renegotiationInfo, serverName, type Extension } from '../../src/wire/extensions.ts';
import { encodeHandshake } from '../../src/wire/handshake.ts';
import type { Block, GuardEvent, Judge, Side } from '../../src/guard/events.ts';
import type { GuardConfig, ListenerConfig } from '../../src/guard/config.ts';
import { DEFAULT_LOG_LIMITS, DEFAULT_TIMEOUTS } from '../../src/guard/defaults.ts';
import { DEFAULT_HELLO_MEMORY_BYTES } from '../../src/guard/hello-budget.ts';
import type { ConnectionInfo, ConnectionSummary, GuardObserver } from '../../src/guard/observer.ts';
import { decide, type GuardPolicy, type PolicyMode } from '../../src/guard/policy.ts';
import { RenegotiationWatch } from '../../src/guard/watch.ts';
import { record } from '../support/records.ts';
import { startGuard, type RunningGuard } from '../../src/guard/start.ts';

export { record };
export const TLS12 = 0x0303;
export const TLS13 = 0x0304;
/** TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: Finished records are exactly 40 bytes. */
export const GCM_SUITE = 0xc02f;
/** TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: Finished records vary with padding. */
export const CBC_SUITE = 0xc013;

/** An encrypted record stands in as random bytes of the right length: the guard only reads headers. */
export function sealed(type: number, length: number): Uint8Array {
  return record(type, randomBytes(length));
}

export const CCS = record(ContentType.change_cipher_spec, Uint8Array.of(1));
/** An AES-GCM Finished: 8-byte nonce + 16 bytes + 16-byte tag. */
export const FINISHED = sealed(ContentType.handshake, 40);

export function appData(length = 100): Uint8Array {
  return sealed(ContentType.application_data, length);
}

export interface HelloOptions {
  readonly rfc5746?: 'extension' | 'scsv' | 'none';
  readonly alpn?: readonly string[];
  readonly sni?: string;
  /** supported_versions: a list in a ClientHello; one version in a ServerHello. */
  readonly versions?: readonly number[];
  readonly suite?: number;
  /** The ServerHello's compression_method (RFC 5246 §7.4.1.3); 0 (null) by default. */
  readonly compression?: number;
  readonly extraExtensions?: readonly Extension[];
}

function versionsExtension(versions: readonly number[], server: boolean): Extension {
  const body = server
    ? Uint8Array.of(versions[0]! >> 8, versions[0]! & 0xff)
    : Uint8Array.from([versions.length * 2, ...versions.flatMap((v) => [v >> 8, v & 0xff])]);
  return { type: ExtensionType.supported_versions, data: body };
}

export function clientHelloMessage(o: HelloOptions = {}): Uint8Array {
  const rfc5746 = o.rfc5746 ?? 'extension';
  const extensions: Extension[] = [];
  if (o.sni !== undefined) extensions.push(serverName(o.sni));
  if (rfc5746 === 'extension') extensions.push(renegotiationInfo(new Uint8Array(0)));
  if (o.alpn) extensions.push(alpn(o.alpn));
  if (o.versions) extensions.push(versionsExtension(o.versions, false));
  extensions.push(...(o.extraExtensions ?? []));
  const suites = [GCM_SUITE, CBC_SUITE, ...(rfc5746 === 'scsv' ? [TLS_EMPTY_RENEGOTIATION_INFO_SCSV] : [])];
  return encodeHandshake({
    type: HandshakeType.client_hello,
    version: TLS12,
    random: randomBytes(32),
    sessionId: new Uint8Array(0),
    cipherSuites: suites,
    compressionMethods: Uint8Array.of(0),
    extensions,
  });
}

export function serverHelloMessage(o: HelloOptions = {}): Uint8Array {
  const extensions: Extension[] = [];
  if ((o.rfc5746 ?? 'extension') !== 'none') extensions.push(renegotiationInfo(new Uint8Array(0)));
  if (o.alpn) extensions.push(alpn(o.alpn));
  if (o.versions) extensions.push(versionsExtension(o.versions, true));
  extensions.push(...(o.extraExtensions ?? []));
  return encodeHandshake({
    type: HandshakeType.server_hello,
    version: TLS12,
    random: randomBytes(32),
    sessionId: randomBytes(32),
    cipherSuite: o.suite ?? GCM_SUITE,
    compressionMethod: o.compression ?? 0,
    extensions,
  });
}

export function clientHello(o: HelloOptions = {}): Uint8Array {
  return record(ContentType.handshake, clientHelloMessage(o), 0x0301);
}

/** ServerHello, Certificate, ServerKeyExchange and ServerHelloDone, each in its own record. */
export function serverFlight(o: HelloOptions = {}): Uint8Array {
  return concat(
    record(ContentType.handshake, serverHelloMessage(o)),
    sealed(ContentType.handshake, 800),
    sealed(ContentType.handshake, 300),
    record(ContentType.handshake, Uint8Array.of(HandshakeType.server_hello_done, 0, 0, 0)),
  );
}

/** ClientKeyExchange, ChangeCipherSpec, Finished. */
export function clientFinishFlight(): Uint8Array {
  return concat(sealed(ContentType.handshake, 70), CCS, FINISHED);
}

export function serverFinishFlight(): Uint8Array {
  return concat(CCS, FINISHED);
}

/** A full TLS 1.2 handshake, each flight one step. */
export function fullHandshake(o: { client?: HelloOptions; server?: HelloOptions } = {}): Step[] {
  return [
    ['client', clientHello(o.client)],
    ['server', serverFlight(o.server)],
    ['client', clientFinishFlight()],
    ['server', serverFinishFlight()],
  ];
}

/** A renegotiation inside the session: every record encrypted, so only headers tell. */
export function encryptedRenegotiation(initiator: Side): Step[] {
  const hello: Step[] = initiator === 'server' ? [['server', sealed(ContentType.handshake, 40)]] : [];
  return [
    ...hello,
    ['client', sealed(ContentType.handshake, 250)],
    [
      'server',
      concat(sealed(ContentType.handshake, 120), sealed(ContentType.handshake, 900), sealed(ContentType.handshake, 40)),
    ],
    ['client', concat(sealed(ContentType.handshake, 90), sealed(ContentType.change_cipher_spec, 25), FINISHED)],
    ['server', concat(sealed(ContentType.change_cipher_spec, 25), FINISHED)],
  ];
}

export type Step = readonly [Side, Uint8Array];

export interface Replay {
  /** Bytes forwarded from each side, concatenated. */
  readonly forwarded: Record<Side, Uint8Array>;
  readonly events: GuardEvent[];
  readonly block: Block | undefined;
  readonly watch: RenegotiationWatch;
}

export function policy(mode: PolicyMode, more: Partial<GuardPolicy> = {}): GuardPolicy {
  return { mode, maxRenegotiationsPerConnection: 0, perClientLimit: undefined, allowNonTls: false, ...more };
}

export function judgeOf(p: GuardPolicy): Judge {
  return (q) => decide(p, q);
}

/**
 * Feeds the steps to a watch, each step cut into chunks of `chunk` bytes (Infinity: whole),
 * and collects what it forwards.
 */
export function replay(
  steps: readonly Step[],
  judge: Judge,
  chunk = Infinity,
  watch = new RenegotiationWatch(judge),
): Replay {
  const parts: Record<Side, Uint8Array[]> = { client: [], server: [] };
  const events: GuardEvent[] = [];
  let block: Block | undefined;
  for (const [side, bytes] of steps) {
    const size = Number.isFinite(chunk) ? chunk : Math.max(bytes.length, 1);
    for (let at = 0; at < bytes.length; at += size) {
      const v = watch.feed(side, bytes.subarray(at, at + size));
      parts[side].push(...v.forward);
      events.push(...v.events);
      block ??= v.block;
    }
  }
  return { forwarded: { client: concat(...parts.client), server: concat(...parts.server) }, events, block, watch };
}

export function concatSteps(steps: readonly Step[], side: Side): Uint8Array {
  return concat(...steps.filter(([s]) => s === side).map(([, b]) => b));
}

export function eventTypes(events: readonly GuardEvent[]): string[] {
  return events.map((e) => e.type);
}

// --- a guard on 127.0.0.1 ----------------------------------------------------------------

export interface Recorded {
  readonly events: { conn: number; event: GuardEvent }[];
  readonly closed: { conn: ConnectionInfo; summary: ConnectionSummary }[];
  readonly observer: GuardObserver;
  waitClosed(n: number, timeoutMs: number): Promise<void>;
}

export function recorder(): Recorded {
  const events: { conn: number; event: GuardEvent }[] = [];
  const closed: { conn: ConnectionInfo; summary: ConnectionSummary }[] = [];
  const waiters: (() => void)[] = [];
  return {
    events,
    closed,
    observer: {
      accepted: () => undefined,
      refused: () => undefined,
      bytes: () => undefined,
      event: (c, e) => events.push({ conn: c.id, event: e }),
      closed: (c, s) => {
        closed.push({ conn: c, summary: s });
        waiters.splice(0).forEach((w) => w());
      },
    },
    async waitClosed(n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (closed.length < n) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`only ${closed.length} of ${n} guarded connections closed within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 100));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}

export function listenerConfig(
  upstreamPort: number,
  mode: PolicyMode,
  more: Partial<ListenerConfig> = {},
  p: Partial<GuardPolicy> = {},
): ListenerConfig {
  return {
    name: 'test',
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { host: '127.0.0.1', port: upstreamPort },
    policy: policy(mode, p),
    destinations: undefined,
    proxyProtocol: 'none',
    maxConnections: 1000,
    timeouts: DEFAULT_TIMEOUTS,
    ...more,
  };
}

/** A JSON-lines sink for pino, kept in memory. */
export class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    cb();
  }
}

export interface TestGuard {
  readonly guard: RunningGuard;
  readonly port: number;
  readonly recorded: Recorded;
  readonly logs: LogLines;
  close(): Promise<void>;
}

const UNLIMITED = { count: 1e9, windowMs: 1000 };

export async function startTestGuard(
  listeners: ListenerConfig[],
  metrics = false,
  more: Partial<GuardConfig> = {},
): Promise<TestGuard> {
  const recorded = recorder();
  const logs = new LogLines();
  const guard = await startGuard(
    {
      listeners,
      metrics: metrics ? { host: '127.0.0.1', port: 0 } : undefined,
      logLevel: 'debug',
      // Tests count lines: no rate limit unless a test sets one.
      logLimits: { ...DEFAULT_LOG_LIMITS, connectionLines: UNLIMITED, warningLines: UNLIMITED },
      drainTimeoutMs: 1000,
      helloMemoryBytes: DEFAULT_HELLO_MEMORY_BYTES,
      gid: undefined,
      ...more,
    },
    { logDestination: logs, observers: [recorded.observer], processMetrics: false },
  );
  return { guard, port: guard.addresses[0]!.port, recorded, logs, close: () => guard.close(200) };
}
