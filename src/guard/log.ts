/**
 * Structured JSON logs (pino): one line per connection event, each with the connection id, so a
 * connection's story can be read with `grep '"conn":42'`. Renegotiations carry their direction
 * (client-initiated or server-initiated) and, when blocked, the reason code.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';
import type { GuardEvent, Initiator } from './events.ts';
import type { ConnectionInfo, ConnectionSummary, GuardObserver, RefusalReason } from './observer.ts';

export type { Logger } from 'pino';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, base: { name: 'renego-guard' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export function direction(initiator: Initiator): 'client-initiated' | 'server-initiated' {
  return initiator === 'client' ? 'client-initiated' : 'server-initiated';
}

function levelOf(e: GuardEvent): 'debug' | 'info' | 'warn' {
  if (e.type === 'blocked') return 'warn';
  return e.type === 'handshake-complete' ? 'debug' : 'info';
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

export class LogObserver implements GuardObserver {
  constructor(private readonly log: Logger) {}

  accepted(c: ConnectionInfo): void {
    if (!this.log.isLevelEnabled('debug')) return;
    this.log.debug(
      { conn: c.id, listener: c.listener, client: c.clientAddress, port: c.clientPort },
      'connection accepted',
    );
  }

  refused(listener: string, reason: RefusalReason, clientAddress: string | undefined): void {
    this.log.warn({ listener, reason, client: clientAddress }, 'connection refused');
  }

  bytes(): void {}

  event(c: ConnectionInfo, e: GuardEvent): void {
    // Nothing is built for a level that is off: this runs for every event of every connection.
    if (!this.log.isLevelEnabled(levelOf(e))) return;
    const base = { conn: c.id, listener: c.listener, event: e.type };
    switch (e.type) {
      case 'client-hello': {
        const h = e.hello;
        this.log.info(
          {
            ...base,
            format: h.format,
            version: hex(h.version),
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
            version: hex(h.version),
            suite: hex(h.cipherSuite),
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
    if (!this.log.isLevelEnabled('info')) return;
    this.log.info(
      {
        conn: c.id,
        listener: c.listener,
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
