/**
 * The guard's defaults, apart from the configuration parser (which loads the YAML library) so
 * that `renego guard --help` shows them without that cost to every other command.
 */
import type { LogLevel, LogLimits, Timeouts } from './config.ts';

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export const DEFAULT_LOG_LIMITS: LogLimits = {
  connectionLines: { count: 100, windowMs: 1000 },
  warningLines: { count: 50, windowMs: 1000 },
  summaryIntervalMs: 10_000,
};

export const DEFAULT_TIMEOUTS: Timeouts = { handshakeMs: 10_000, idleMs: 300_000, connectMs: 5_000 };
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** Renegotiations let through per connection; 0 is no limit (the policy mode decides). */
export const DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION = 0;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
