/**
 * Starting `renego guard` from its configuration: listeners, logs, metrics, the fail-open
 * heartbeat of transparent mode, the group switch and the descriptor check, and a graceful stop.
 * The CLI (src/tools/guard.ts), the lab and the tests start a guard with startGuard.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { ORIGINAL_DESTINATION, type GuardConfig } from './config.ts';
import { connectionCapacity, DescriptorSlots, fdsNeeded, openFds, readFdLimit } from './fd-limit.ts';
import { HelloMemoryBudget } from './hello-budget.ts';
import { GuardListener } from './listener.ts';
import { createLogger, LogObserver, type Logger } from './log.ts';
import { GuardMetrics, serveMetrics, type MetricsServer } from './metrics.ts';
import { fanOut, type GuardObserver } from './observer.ts';
import { loadOriginalDestinationLookup, type OriginalDestinationLookup } from './original-destination.ts';
import { Heartbeat } from './nft.ts';
import { BYPASS_GRACE_MS } from './nft-ruleset.ts';
import { MemoryReclaimer } from './reclaim.ts';
import { GuardSetupError } from './setup-error.ts';
import { formatEndpoint } from '../syntax/endpoint.ts';
import { describeSystemError } from '../text/system-error.ts';

export interface StartGuardOptions {
  /** Where JSON log lines go (default stdout). */
  readonly logDestination?: DestinationStream;
  /** More observers (tests). */
  readonly observers?: readonly GuardObserver[];
  /** Add Node process metrics (CPU, memory, event loop lag) to the registry. Default: when metrics are served. */
  readonly processMetrics?: boolean;
  /**
   * Resolves an upstream host name once at start-up (default: the system resolver, as
   * net.connect uses). Tests pass their own so that no name is ever looked up on the network.
   */
  readonly lookup?: (host: string) => Promise<unknown>;
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
  await checkUpstreamNames(config, options.lookup ?? ((host) => dnsLookup(host)));
  const logger = createLogger(config.logLevel, options.logDestination);
  const helloBudget = new HelloMemoryBudget(config.helloMemoryBytes);
  const slots = new DescriptorSlots();
  const metrics = new GuardMetrics({
    processMetrics: options.processMetrics ?? config.metrics !== undefined,
    helloBudget,
  });
  const logObserver = new LogObserver(logger, config.logLimits);
  const observer = fanOut([logObserver, metrics, ...(options.observers ?? [])]);
  const transparent = config.listeners.some((l) => l.upstream === ORIGINAL_DESTINATION);
  const lookup = transparent ? await originalDestinationLookup() : undefined;
  const reclaimer = new MemoryReclaimer();
  const listeners = config.listeners.map((l) => new GuardListener(l, observer, helloBudget, slots, reclaimer, lookup));
  const addresses: AddressInfo[] = [];
  let metricsServer: MetricsServer | undefined;
  let heartbeat: Heartbeat | undefined;
  try {
    for (const l of listeners) {
      const address = await startupStep(`listen on ${formatEndpoint(l.config.listen)}`, () => l.listen());
      addresses.push(address);
      const { upstream, policy, name } = l.config;
      logger.info(
        {
          listener: name,
          listen: `${address.address}:${address.port}`,
          upstream: upstream === ORIGINAL_DESTINATION ? upstream : formatEndpoint(upstream),
          policy: policy.mode,
          ...(l.config.destinations === undefined ? {} : { rules: l.config.destinations.rules.length }),
        },
        'listening',
      );
    }
    if (config.gid !== undefined) switchGroup(config.gid, logger);
    if (transparent) {
      heartbeat = await Heartbeat.start((message) => logger.error(message));
      if (heartbeat !== undefined) logger.info('fail-open ruleset: renewing its heartbeat while running');
    }
    slots.capacity = checkFdLimit(config, logger);
    if (config.metrics !== undefined) {
      const where = config.metrics;
      metricsServer = await startupStep(`serve metrics on ${formatEndpoint(where)}`, () =>
        serveMetrics(metrics.registry, where),
      );
      logger.info(
        { metrics: `${metricsServer.address.address}:${metricsServer.address.port}` },
        'serving metrics on /metrics',
      );
    }
  } catch (e) {
    await heartbeat?.stop();
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
    // Fail-closed: new connections are refused from now on (the listening sockets close).
    // Fail-open: they bypass the guard instead of meeting a closed port. Those redirected before
    // the bypass began are still on their way to the listening sockets, which therefore accept
    // (and serve) until the kernel redirects for certain no more, and a grace for the handshakes.
    let acceptMs = 0;
    if (heartbeat !== undefined) {
      const bypassAt = await heartbeat.stop();
      acceptMs = Math.max(0, bypassAt - Date.now()) + BYPASS_GRACE_MS;
      logger.info({ acceptMs }, 'fail-open: new connections bypass the guard');
    }
    await Promise.all(listeners.map((l) => l.close(drainMs, acceptMs)));
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
 * A typo in an upstream name would otherwise show only when the first client connects, as one
 * upstream-unreachable close after another; like haproxy and nginx, refuse to start instead.
 * Connections still resolve the name each time (net.connect), so a later DNS change is followed.
 */
async function checkUpstreamNames(config: GuardConfig, lookup: (host: string) => Promise<unknown>): Promise<void> {
  for (const { name, upstream } of config.listeners) {
    if (upstream === 'original-destination' || isIP(upstream.host) !== 0) continue;
    try {
      await lookup(upstream.host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === undefined) throw e;
      throw new GuardSetupError(
        `cannot resolve upstream ${formatEndpoint(upstream)} of listener ${name}: ${describeSystemError(e)} ` +
          '(correct the name, or give an IP address)',
      );
    }
  }
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

async function originalDestinationLookup(): Promise<OriginalDestinationLookup> {
  try {
    return await loadOriginalDestinationLookup();
  } catch (e) {
    throw new GuardSetupError(`transparent mode cannot read original destinations: ${(e as Error).message}`);
  }
}

/**
 * Switches the process to its own group once its listeners are bound: the transparent ruleset
 * returns this group's connections before redirecting (`meta skgid`), so the upstream connections
 * the guard opens are not sent back to it. Supplementary groups go too (root's among them).
 */
function switchGroup(gid: number, logger: Logger): void {
  // Started as that group already (systemd Group=): nothing to switch, and no CAP_SETGID needed.
  if (process.getegid?.() === gid && process.getgroups?.().every((g) => g === gid)) {
    logger.info({ gid }, 'running as group');
    return;
  }
  try {
    process.setgroups?.([gid]);
    process.setgid?.(gid);
  } catch (e) {
    throw new GuardSetupError(
      `cannot switch to group ${gid} (--gid): ${describeSystemError(e)} (needs root or CAP_SETGID)`,
    );
  }
  logger.info({ gid }, 'running as group');
}

/** A start-up step whose system error (an address in use, a name that does not resolve) is the operator's to fix. */
async function startupStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    throw new GuardSetupError(`cannot ${what}: ${describeSystemError(e)}`);
  }
}
