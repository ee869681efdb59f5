/**
 * Prometheus metrics (prom-client), in a registry of their own so several guards (tests) can live
 * in one process, served on GET /metrics of an optional HTTP listener.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Endpoint } from '../syntax/endpoint.ts';
import type { GuardEvent, Side } from './events.ts';
import type { HelloMemoryBudget } from './hello-budget.ts';
import { direction } from './log.ts';
import type { ConnectionInfo, ConnectionSummary, GuardObserver, RefusalReason } from './observer.ts';

const PREFIX = 'renego_guard_';

/**
 * Counts kept as plain numbers per label set and handed to prom-client only when scraped
 * (`collect`): the proxy counts bytes on every chunk, and prom-client hashes labels on every
 * `inc`, even through bound children.
 */
interface TallyEntry<L extends string> {
  readonly labels: Record<L, string>;
  value: number;
}

/** One level per label, in label order; the last level holds the entries. */
type TallyIndex<L extends string> = Map<string, TallyIndex<L> | TallyEntry<L>>;

class Tally<L extends string> {
  /**
   * Label values to entry, one Map per label: a count looks up values that are mostly string
   * constants (hashed once by V8), where a joined key would be a new string to build and hash on
   * every connection.
   */
  private readonly index: TallyIndex<L> = new Map();
  private readonly entries: TallyEntry<L>[] = [];

  constructor(private readonly labelNames: readonly L[]) {}

  add(labels: Record<L, string>, n = 1): void {
    this.entry(labels).value += n;
  }

  /** The count of one label set, to be added to directly on hot paths (no lookup at all). */
  entry(labels: Record<L, string>): TallyEntry<L> {
    const names = this.labelNames;
    let level = this.index;
    for (let i = 0; i < names.length - 1; i++) {
      const value = labels[names[i]!];
      let next = level.get(value) as TallyIndex<L> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const value = labels[names[names.length - 1]!];
    let entry = level.get(value) as TallyEntry<L> | undefined;
    if (entry === undefined) {
      entry = { labels, value: 0 };
      level.set(value, entry);
      this.entries.push(entry);
    }
    return entry;
  }

  get(labels: Record<L, string>): number {
    let found: TallyIndex<L> | TallyEntry<L> | undefined = this.index;
    for (const name of this.labelNames) found = (found as TallyIndex<L> | undefined)?.get(labels[name]);
    return (found as TallyEntry<L> | undefined)?.value ?? 0;
  }

  /** A counter (or a gauge) whose value is this tally's at every scrape. */
  register(registry: Registry, type: 'counter' | 'gauge', name: string, help: string): void {
    const entries = this.entries;
    const config = { name: PREFIX + name, help, labelNames: this.labelNames, registers: [registry] };
    if (type === 'counter') {
      new Counter<L>({
        ...config,
        collect(this: Counter<L>) {
          this.reset();
          for (const e of entries) if (e.value > 0) this.inc(e.labels, e.value);
        },
      });
    } else {
      new Gauge<L>({
        ...config,
        collect(this: Gauge<L>) {
          this.reset();
          for (const e of entries) this.set(e.labels, e.value);
        },
      });
    }
  }
}

/** The counts every connection or chunk of one listener touches, looked up once per listener. */
interface ListenerCounts {
  readonly connections: TallyEntry<'listener'>;
  readonly active: TallyEntry<'listener'>;
  readonly bytes: Record<Side, TallyEntry<'listener' | 'from'>>;
}

export class GuardMetrics implements GuardObserver {
  readonly registry = new Registry();
  private readonly listeners = new Map<string, ListenerCounts>();
  private readonly connections = new Tally(['listener'] as const);
  private readonly active = new Tally(['listener'] as const);
  private readonly refusedTotal = new Tally(['listener', 'reason'] as const);
  private readonly closedTotal = new Tally(['listener', 'reason'] as const);
  private readonly bytesTotal = new Tally(['listener', 'from'] as const);
  private readonly hellos = new Tally(['listener', 'side', 'rfc5746'] as const);
  private readonly passThrough = new Tally(['listener', 'why'] as const);
  private readonly renegotiationsSeen = new Tally(['listener', 'direction'] as const);
  private readonly renegotiationsBlocked = new Tally(['listener', 'direction', 'reason'] as const);
  private readonly renegotiationsCompleted = new Tally(['listener', 'direction'] as const);
  private readonly renegotiationsRefused = new Tally(['listener', 'direction'] as const);
  private readonly violations = new Tally(['listener', 'reason'] as const);
  /** Transparent mode, by destination port and policy rule: never by address, so the label sets stay few. */
  private readonly destinationConnections = new Tally(['listener', 'rule', 'port'] as const);
  private readonly destinationBlocked = new Tally(['listener', 'rule', 'port', 'reason'] as const);

  constructor(options: { processMetrics?: boolean; helloBudget?: HelloMemoryBudget } = {}) {
    const r = this.registry;
    const budget = options.helloBudget;
    if (budget !== undefined) {
      new Gauge({
        name: `${PREFIX}hello_buffered_bytes`,
        help: 'Bytes held back by all connections while their initial hellos are collected',
        registers: [r],
        collect(this: Gauge) {
          this.set(budget.bytes);
        },
      });
      new Gauge({
        name: `${PREFIX}hello_buffered_bytes_limit`,
        help: 'The hello memory budget (helloMemory)',
        registers: [r],
        collect(this: Gauge) {
          this.set(budget.limit);
        },
      });
    }
    this.connections.register(r, 'counter', 'connections_total', 'Connections accepted');
    this.active.register(r, 'gauge', 'connections_active', 'Connections open now');
    this.refusedTotal.register(r, 'counter', 'connections_refused_total', 'Connections closed on accept');
    this.closedTotal.register(r, 'counter', 'connections_closed_total', 'Connections closed, by why');
    this.bytesTotal.register(r, 'counter', 'bytes_total', 'Bytes received from each side');
    this.hellos.register(r, 'counter', 'hellos_total', 'Initial hellos, by RFC 5746 signalling');
    this.passThrough.register(
      r,
      'counter',
      'pass_through_total',
      'Connections no longer inspected (TLS 1.3, allowed non-TLS)',
    );
    this.renegotiationsSeen.register(
      r,
      'counter',
      'renegotiations_seen_total',
      'Renegotiations started (let through or blocked)',
    );
    this.renegotiationsBlocked.register(r, 'counter', 'renegotiations_blocked_total', 'Renegotiations blocked');
    this.renegotiationsCompleted.register(r, 'counter', 'renegotiations_completed_total', 'Renegotiations completed');
    this.renegotiationsRefused.register(
      r,
      'counter',
      'renegotiations_refused_total',
      'Renegotiations the other endpoint refused',
    );
    this.violations.register(r, 'counter', 'policy_violations_total', 'Connections closed by the guard, by reason');
    this.destinationConnections.register(
      r,
      'counter',
      'destination_connections_total',
      'Transparent mode: connections by original destination port and policy rule',
    );
    this.destinationBlocked.register(
      r,
      'counter',
      'destination_blocked_total',
      'Transparent mode: connections closed by the policy, by original destination port and policy rule',
    );
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Bytes received so far from one side of a listener's connections. */
  bytesFrom(listener: string, from: Side): number {
    return this.bytesTotal.get({ listener, from });
  }

  private countsOf(listener: string): ListenerCounts {
    let counts = this.listeners.get(listener);
    if (counts === undefined) {
      counts = {
        connections: this.connections.entry({ listener }),
        active: this.active.entry({ listener }),
        bytes: {
          client: this.bytesTotal.entry({ listener, from: 'client' }),
          server: this.bytesTotal.entry({ listener, from: 'server' }),
        },
      };
      this.listeners.set(listener, counts);
    }
    return counts;
  }

  accepted(c: ConnectionInfo): void {
    const counts = this.countsOf(c.listener);
    counts.connections.value++;
    counts.active.value++;
    const d = c.destination;
    if (d !== undefined) this.destinationConnections.add({ listener: c.listener, rule: d.rule, port: String(d.port) });
  }

  refused(listener: string, reason: RefusalReason): void {
    this.refusedTotal.add({ listener, reason });
  }

  bytes(listener: string, from: Side, n: number): void {
    this.countsOf(listener).bytes[from].value += n;
  }

  event(c: ConnectionInfo, e: GuardEvent): void {
    const listener = c.listener;
    switch (e.type) {
      case 'client-hello':
        this.hellos.add({ listener, side: 'client', rfc5746: e.hello.rfc5746 });
        return;
      case 'server-hello':
        this.hellos.add({
          listener,
          side: 'server',
          rfc5746: e.hello.tls13 ? 'tls13' : e.hello.rfc5746 ? 'extension' : 'none',
        });
        return;
      case 'pass-through':
        this.passThrough.add({ listener, why: e.why });
        return;
      case 'renegotiation':
        this.renegotiationsSeen.add({ listener, direction: direction(e.initiator) });
        return;
      case 'renegotiation-complete':
        this.renegotiationsCompleted.add({ listener, direction: direction(e.initiator) });
        return;
      case 'renegotiation-refused':
        this.renegotiationsRefused.add({ listener, direction: direction(e.initiator) });
        return;
      case 'blocked': {
        const { reason, initiator } = e.block;
        this.violations.add({ listener, reason });
        const d = c.destination;
        if (d !== undefined) this.destinationBlocked.add({ listener, rule: d.rule, port: String(d.port), reason });
        if (initiator === undefined) return;
        this.renegotiationsSeen.add({ listener, direction: direction(initiator) });
        this.renegotiationsBlocked.add({ listener, direction: direction(initiator), reason });
        return;
      }
      case 'renegotiation-answered':
      case 'handshake-complete':
        return;
    }
  }

  closed(c: ConnectionInfo, s: ConnectionSummary): void {
    this.countsOf(c.listener).active.value--;
    this.closedTotal.add({ listener: c.listener, reason: s.reason });
  }
}

export interface MetricsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** GET /metrics in the Prometheus text format; anything else is a 404. */
export function serveMetrics(registry: Registry, at: Endpoint): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(`${String(e)}\n`),
    );
  });
  // Scrapes are short; a stalled one must not hold a socket forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off('error', reject);
      resolve({
        address: server.address() as AddressInfo,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
