/**
 * Structured JSON logs (pino): one line per connection event, each with the connection id, so a
 * connection's story can be read with `grep '"conn":42'`. Renegotiations carry their direction
 * (client-initiated or server-initiated) and, when blocked, the reason code.
 *
 * Rate limited (config.ts, LogLimits): a flood of connections costs a few hundred bytes of log
 * each, enough to fill a disk and slow the accept loop. Lines about connections and warnings
 * (blocks, refusals, errors) draw on separate token buckets, so an attack's blocks are seen even
 * while its connection lines are dropped; every summary interval one line per kind says how many
 * were dropped. Memory: two buckets and two counters.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { suiteName } from '../crypto/suites.ts';
import { versionName } from '../wire/enums.ts';
import type { LogLevel, LogLimits } from './config.ts';
import { DEFAULT_LOG_LIMITS } from './defaults.ts';
import type { RateLimit } from '../handshake/rate-limit.ts';
import type { GuardEvent, Initiator } from './events.ts';
import {
  WARN_CLOSE_REASONS,
  type ConnectionInfo,
  type ConnectionSummary,
  type GuardObserver,
  type RefusalReason,
} from './observer.ts';

export type { Logger } from 'pino';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { name: 'renego-guard' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/**
 * The fields every line about a connection starts with: its id and listener and, in transparent
 * mode, where it was going (`destination`, `rule`). The local process is not looked up: see
 * docs/guard.md, "Transparent mode".
 */
function connectionFields(c: ConnectionInfo): Record<string, unknown> {
  const d = c.destination;
  if (d === undefined) return { conn: c.id, listener: c.listener };
  const host = d.host.includes(':') ? `[${d.host}]` : d.host;
  return { conn: c.id, listener: c.listener, destination: `${host}:${d.port}`, rule: d.rule };
}

export function direction(initiator: Initiator): 'client-initiated' | 'server-initiated' {
  return initiator === 'client' ? 'client-initiated' : 'server-initiated';
}

function levelOf(e: GuardEvent): 'debug' | 'info' | 'warn' {
  if (e.type === 'blocked') return 'warn';
  return e.type === 'handshake-complete' ? 'debug' : 'info';
}

/** `count` lines per window, in bursts of up to `count`. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate.count;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.rate.count, this.tokens + ((now - this.last) * this.rate.count) / this.rate.windowMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Which bucket a line draws on. */
type LineKind = 'connection' | 'warning';

const SUMMARY: Record<LineKind, { level: 'info' | 'warn'; what: string }> = {
  connection: { level: 'info', what: 'connection lines' },
  warning: { level: 'warn', what: 'block and error lines' },
};

export class LogObserver implements GuardObserver {
  private readonly buckets: Record<LineKind, TokenBucket>;
  private readonly suppressed: Record<LineKind, number> = { connection: 0, warning: 0 };
  private since: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    limits: LogLimits = DEFAULT_LOG_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = {
      connection: new TokenBucket(limits.connectionLines, now),
      warning: new TokenBucket(limits.warningLines, now),
    };
    this.since = now();
    this.timer = setInterval(() => this.summarize(), limits.summaryIntervalMs);
    this.timer.unref();
  }

  /** Writes the last summary and stops the timer. */
  close(): void {
    clearInterval(this.timer);
    this.summarize();
  }

  /** One line per kind that had lines dropped since the last summary. */
  summarize(): void {
    const now = this.now();
    const seconds = Math.max(1, Math.ceil((now - this.since) / 1000));
    this.since = now;
    for (const kind of ['connection', 'warning'] as const) {
      const n = this.suppressed[kind];
      if (n === 0) continue;
      this.suppressed[kind] = 0;
      const { level, what } = SUMMARY[kind];
      this.log[level]({ suppressed: n, kind, seconds }, `${n} ${what} suppressed in the last ${seconds}s`);
    }
  }

  /** Whether a line of this level may be written now; a dropped one is counted. Disabled levels cost nothing. */
  private admit(
    level: 'debug' | 'info' | 'warn',
    kind: LineKind = level === 'warn' ? 'warning' : 'connection',
  ): boolean {
    if (!this.log.isLevelEnabled(level)) return false;
    if (this.buckets[kind].take()) return true;
    this.suppressed[kind]++;
    return false;
  }

  accepted(c: ConnectionInfo): void {
    if (!this.admit('debug')) return;
    this.log.debug({ ...connectionFields(c), client: c.clientAddress, port: c.clientPort }, 'connection accepted');
  }

  refused(listener: string, reason: RefusalReason, clientAddress: string | undefined): void {
    if (!this.admit('warn')) return;
    this.log.warn({ listener, reason, client: clientAddress }, 'connection refused');
  }

  bytes(): void {}

  event(c: ConnectionInfo, e: GuardEvent): void {
    // Nothing is built for a level that is off: this runs for every event of every connection.
    if (!this.admit(levelOf(e))) return;
    const base = { ...connectionFields(c), event: e.type };
    switch (e.type) {
      case 'client-hello': {
        const h = e.hello;
        this.log.info(
          {
            ...base,
            format: h.format,
            version: versionName(h.version),
            rfc5746: h.rfc5746,
            ems: h.ems,
            sni: h.sni,
            alpn: h.alpn,
            tls13: h.offersTls13,
          },
          'client hello',
        );
        return;
      }
      case 'server-hello': {
        const h = e.hello;
        this.log.info(
          {
            ...base,
            version: versionName(h.version),
            suite: suiteName(h.cipherSuite),
            rfc5746: h.rfc5746,
            ems: h.ems,
            alpn: h.alpn,
            tls13: h.tls13,
          },
          'server hello',
        );
        return;
      }
      case 'pass-through':
        this.log.info({ ...base, why: e.why }, 'inspection stopped, passing through');
        return;
      case 'handshake-complete':
        this.log.debug(base, 'initial handshake complete');
        return;
      case 'renegotiation':
        this.log.info(
          { ...base, direction: direction(e.initiator), index: e.index, evidence: e.evidence },
          'renegotiation seen',
        );
        return;
      case 'renegotiation-answered':
        this.log.info({ ...base, index: e.index }, 'client answered the HelloRequest');
        return;
      case 'renegotiation-complete':
        this.log.info({ ...base, direction: direction(e.initiator), index: e.index }, 'renegotiation complete');
        return;
      case 'renegotiation-refused':
        this.log.info(
          { ...base, direction: direction(e.initiator), index: e.index, by: e.by },
          'renegotiation refused by the endpoint',
        );
        return;
      case 'blocked': {
        const b = e.block;
        if (b.initiator !== undefined) {
          this.log.warn(
            { ...base, direction: direction(b.initiator), reason: b.reason, from: b.side, evidence: b.evidence },
            'renegotiation blocked',
          );
        } else {
          this.log.warn({ ...base, reason: b.reason, from: b.side }, 'policy violation, connection closed');
        }
        return;
      }
    }
  }

  closed(c: ConnectionInfo, s: ConnectionSummary): void {
    const level = WARN_CLOSE_REASONS.has(s.reason) ? 'warn' : 'info';
    if (!this.admit(level)) return;
    this.log[level](
      {
        ...connectionFields(c),
        reason: s.reason,
        blockReason: s.block?.reason,
        bytesFromClient: s.bytesFrom.client,
        bytesFromServer: s.bytesFrom.server,
        renegotiations: s.renegotiations,
        durationMs: s.durationMs,
        error: s.error,
      },
      'connection closed',
    );
  }
}
