/**
 * What the proxy reports about its connections. Logs (log.ts) and metrics (metrics.ts) are two
 * observers; tests add their own. The proxy calls `bytes` on every chunk, so it must stay cheap.
 */
import type { Block, GuardEvent, Side } from './events.ts';

export interface ConnectionInfo {
  /** Unique in the process, in accept order. */
  readonly id: number;
  readonly listener: string;
  readonly clientAddress: string;
  readonly clientPort: number;
  /** Transparent mode: where the client was connecting to (nftables REDIRECT's original destination). */
  readonly destination?: DestinationInfo;
}

/** A transparent connection's original destination and the per-destination rule that chose its policy. */
export interface DestinationInfo {
  readonly host: string;
  readonly port: number;
  /** The policy file's rule name, or DEFAULT_RULE: bounded, so usable as a metric label. */
  readonly rule: string;
}

export type CloseReason =
  /** Both sides closed (or one reset) with nothing wrong seen. */
  | 'closed'
  | 'blocked'
  | 'handshake-timeout'
  | 'idle-timeout'
  | 'upstream-unreachable'
  | 'upstream-connect-timeout'
  /** The upstream connect failed with EMFILE/ENFILE: the process (or system) is out of file descriptors. */
  | 'out-of-file-descriptors'
  /** Holding this connection's hello would take the process over its hello memory budget. */
  | 'hello-memory-budget'
  | 'shutdown';

export interface ConnectionSummary {
  readonly reason: CloseReason;
  readonly block: Block | undefined;
  /** Bytes received from each side (what was forwarded may be less when blocked). */
  readonly bytesFrom: Readonly<Record<Side, number>>;
  readonly renegotiations: number;
  readonly durationMs: number;
  /** The socket error that ended the connection, if one did. */
  readonly error: string | undefined;
}

/** out-of-file-descriptors: accept failed with EMFILE/ENFILE (libuv accepted and closed the connection). */
export type RefusalReason =
  | 'max-connections'
  | 'shutting-down'
  | 'out-of-file-descriptors'
  /**
   * Transparent mode: no original destination to go to (a connection made to the guard's port
   * itself rather than redirected to it, or conntrack has no entry): proxying it would loop.
   */
  | 'not-intercepted';

/** Close reasons that say the guard itself is short of something: logged as warnings. */
export const RESOURCE_CLOSE_REASONS: ReadonlySet<CloseReason> = new Set([
  'out-of-file-descriptors',
  'hello-memory-budget',
]);

/** Closes an operator must see at `--log-level warn`: a dead upstream, or the guard out of resources. */
export const WARN_CLOSE_REASONS: ReadonlySet<CloseReason> = new Set([
  ...RESOURCE_CLOSE_REASONS,
  'upstream-unreachable',
  'upstream-connect-timeout',
]);

/** The errno codes of running out of file descriptors, per process and system-wide. */
export function isFdExhaustion(code: string | undefined): boolean {
  return code === 'EMFILE' || code === 'ENFILE';
}

export interface GuardObserver {
  accepted(conn: ConnectionInfo): void;
  /** A connection closed at once, before any byte was read. */
  refused(listener: string, reason: RefusalReason, clientAddress: string | undefined): void;
  event(conn: ConnectionInfo, event: GuardEvent): void;
  bytes(listener: string, from: Side, n: number): void;
  closed(conn: ConnectionInfo, summary: ConnectionSummary): void;
}

/** Several observers as one. */
export function fanOut(observers: readonly GuardObserver[]): GuardObserver {
  return {
    accepted: (c) => {
      for (const o of observers) o.accepted(c);
    },
    refused: (l, r, a) => {
      for (const o of observers) o.refused(l, r, a);
    },
    event: (c, e) => {
      for (const o of observers) o.event(c, e);
    },
    bytes: (l, f, n) => {
      for (const o of observers) o.bytes(l, f, n);
    },
    closed: (c, s) => {
      for (const o of observers) o.closed(c, s);
    },
  };
}

export const SILENT_OBSERVER: GuardObserver = {
  accepted: () => undefined,
  refused: () => undefined,
  event: () => undefined,
  bytes: () => undefined,
  closed: () => undefined,
};
