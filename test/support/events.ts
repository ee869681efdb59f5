/** What a test reads from an engine's events (src/handshake/events.ts). */
import type { ConnectionEvent, HandshakeSummary } from '../../src/handshake/events.ts';
import type { TlsError } from '../../src/wire/errors.ts';

export function errorsIn(events: readonly ConnectionEvent[]): TlsError[] {
  return events.flatMap((e) => (e.type === 'error' ? [e.error] : []));
}

/** The alerts a side sent, as [level, description] pairs. */
export function alertsSent(events: readonly ConnectionEvent[]): [number, number][] {
  return events.flatMap((e) =>
    e.type === 'alert' && e.direction === 'sent' ? [[e.level, e.description] as [number, number]] : [],
  );
}

export function summaries(events: readonly ConnectionEvent[]): HandshakeSummary[] {
  return events.flatMap((e) => (e.type === 'handshake-complete' ? [e.summary] : []));
}

/** The application data received, decoded as UTF-8. */
export function dataIn(events: readonly ConnectionEvent[]): string {
  return events.flatMap((e) => (e.type === 'data' ? [new TextDecoder().decode(e.data)] : [])).join('');
}
