/**
 * `renego guard`: a TCP proxy in front of TLS servers or clients that cannot be patched, which
 * turns renegotiation off (or limits it) on the wire, the way advisory 977377's
 * DisableRenegoOnServer / DisableRenegoOnClient did for all of Windows. See docs/guard.md.
 *
 * This file wires the pieces of src/guard/: configuration, listeners, logs, metrics, signals.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { buildGuardConfig, type GuardConfig, type GuardFlags } from '../guard/config.ts';
import { connectionCapacity, DescriptorSlots, fdsNeeded, openFds, readFdLimit } from '../guard/fd-limit.ts';
import { HelloMemoryBudget } from '../guard/hello-budget.ts';
import { GuardListener } from '../guard/listener.ts';
import { createLogger, LogObserver, type Logger } from '../guard/log.ts';
import { GuardMetrics, serveMetrics, type MetricsServer } from '../guard/metrics.ts';
import { fanOut, type GuardObserver } from '../guard/observer.ts';
import { MemoryReclaimer } from '../guard/reclaim.ts';
import { formatTarget } from './target.ts';
import { UsageError, describeSystemError } from './usage.ts';

export interface StartGuardOptions {
  /** Where JSON log lines go (default stdout). */
  readonly logDestination?: DestinationStream;
  /** More observers (tests). */
  readonly observers?: readonly GuardObserver[];
  /** Add Node process metrics (CPU, memory, event loop lag) to the registry. Default: when metrics are served. */
  readonly processMetrics?: boolean;
}

export interface RunningGuard {
  readonly config: GuardConfig;
  readonly logger: Logger;
  readonly metrics: GuardMetrics;
  /** The bound address of each listener, in configuration order (port 0 resolved). */
  readonly addresses: readonly AddressInfo[];
  readonly metricsAddress: AddressInfo | undefined;
  activeConnections(): number;
  /** Graceful: stop accepting, drain up to drainMs (default: the configured drain timeout), close the rest. */
  close(drainMs?: number): Promise<void>;
}

export async function startGuard(config: GuardConfig, options: StartGuardOptions = {}): Promise<RunningGuard> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const helloBudget = new HelloMemoryBudget(config.helloMemoryBytes);
  const slots = new DescriptorSlots();
  const metrics = new GuardMetrics({
    processMetrics: options.processMetrics ?? config.metrics !== undefined,
    helloBudget,
  });
  const logObserver = new LogObserver(logger, config.logLimits);
  const observer = fanOut([logObserver, metrics, ...(options.observers ?? [])]);
  const reclaimer = new MemoryReclaimer();
  const listeners = config.listeners.map((l) => new GuardListener(l, observer, helloBudget, slots, reclaimer));
  const addresses: AddressInfo[] = [];
  let metricsServer: MetricsServer | undefined;
  try {
    for (const l of listeners) {
      const address = await startupStep(`listen on ${formatTarget(l.config.listen)}`, () => l.listen());
      addresses.push(address);
      const { upstream, policy, name } = l.config;
      logger.info(
        {
          listener: name,
          listen: `${address.address}:${address.port}`,
          upstream: `${upstream.host}:${upstream.port}`,
          policy: policy.mode,
        },
        'listening',
      );
    }
    slots.capacity = checkFdLimit(config, logger);
    if (config.metrics !== undefined) {
      const where = config.metrics;
      metricsServer = await startupStep(`serve metrics on ${formatTarget(where)}`, () =>
        serveMetrics(metrics.registry, where),
      );
      logger.info(
        { metrics: `${metricsServer.address.address}:${metricsServer.address.port}` },
        'serving metrics on /metrics',
      );
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close(0)));
    await metricsServer?.close();
    logObserver.close();
    reclaimer.stop();
    throw e;
  }

  let closing: Promise<void> | undefined;
  const close = async (drainMs = config.drainTimeoutMs): Promise<void> => {
    logger.info(
      { drainMs, open: listeners.reduce((n, l) => n + l.activeConnections, 0) },
      'shutting down: draining connections',
    );
    await Promise.all(listeners.map((l) => l.close(drainMs)));
    await metricsServer?.close();
    logObserver.close();
    reclaimer.stop();
    logger.info('stopped');
  };
  return {
    config,
    logger,
    metrics,
    addresses,
    metricsAddress: metricsServer?.address,
    activeConnections: () => listeners.reduce((n, l) => n + l.activeConnections, 0),
    close: (drainMs) => (closing ??= close(drainMs)),
  };
}

/**
 * Warns when the soft RLIMIT_NOFILE cannot hold every listener at maxConnections (two descriptors
 * each), and answers how many connections the process has descriptors for (listeners open).
 */
function checkFdLimit(config: GuardConfig, logger: Logger): number {
  const maxConnections = config.listeners.reduce((n, l) => n + l.maxConnections, 0);
  const needed = fdsNeeded(config.listeners.map((l) => l.maxConnections));
  const limit = readFdLimit();
  const capacity = connectionCapacity(limit, openFds());
  if (limit === undefined) {
    logger.info(
      { maxConnections, needed },
      'file descriptor limit unknown (no /proc/self/limits): check ulimit -n against maxConnections × 2',
    );
    return capacity;
  }
  if (limit.soft >= needed) return capacity;
  logger.warn(
    { softLimit: limit.soft, hardLimit: limit.hard, maxConnections, needed, capacity },
    `file descriptor limit ${limit.soft} is below the ${needed} that maxConnections ${maxConnections} needs ` +
      `(2 per connection + margin), room for ${capacity} connections: ` +
      'raise ulimit -n (LimitNOFILE= under systemd) or lower maxConnections',
  );
  return capacity;
}

/** The CLI entry: flags (and the YAML file they name) to a running guard that stops on SIGTERM/SIGINT. */
export async function runGuard(flags: GuardFlags): Promise<RunningGuard> {
  const yamlText = flags.config === undefined ? undefined : await readFile(flags.config, 'utf8');
  const config = buildGuardConfig(flags, yamlText);
  const guard = await startGuard(config);
  const stop = (signal: NodeJS.Signals): void => {
    guard.logger.info({ signal }, 'signal received');
    void guard.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return guard;
}

/** A start-up step whose system error (an address in use, a name that does not resolve) is the user's to fix. */
async function startupStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    throw new UsageError(`cannot ${what}: ${describeSystemError(e)}`);
  }
}
