/**
 * A guard listener: accepts TCP connections on one address and proxies each to the upstream
 * through a GuardedConnection, with a cap on open connections and a graceful close (stop
 * accepting, let connections drain, then close what is left).
 */
import * as net from 'node:net';
import type { Endpoint } from '../syntax/endpoint.ts';
import { ORIGINAL_DESTINATION, type ListenerConfig } from './config.ts';
import { addressBytes, DEFAULT_RULE, matchDestination } from './destination-policy.ts';
import type { OriginalDestinationLookup } from './original-destination.ts';
import { GuardedConnection, type ConnectionOwner } from './connection.ts';
import { DeadlineSweep } from './deadlines.ts';
import type { DescriptorSlots } from './fd-limit.ts';
import type { HelloMemoryBudget } from './hello-budget.ts';
import { isFdExhaustion, type ConnectionInfo, type DestinationInfo, type GuardObserver } from './observer.ts';
import { judgeFor, type GuardPolicy } from './policy.ts';
import type { MemoryReclaimer } from './reclaim.ts';
import { RenegotiationRateLimiter } from '../handshake/rate-limit.ts';

let nextConnectionId = 1;

/** A reset before the connection looks at the socket must not become an uncaught error. */
function ignoreError(): void {}

export class GuardListener implements ConnectionOwner {
  private readonly server: net.Server;
  private readonly connections = new Set<GuardedConnection>();
  /** Checks the connections' timeouts (connect, handshake, idle, linger). */
  private readonly deadlines = new DeadlineSweep(this.connections);
  private readonly limiter: RenegotiationRateLimiter | undefined;
  private draining = false;
  /** The port the listening socket is bound to (port 0 resolved), once it listens. */
  private port = 0;
  private drained: (() => void) | undefined;

  constructor(
    readonly config: ListenerConfig,
    private readonly observer: GuardObserver,
    /** Shared by every listener of the process. */
    private readonly helloBudget: HelloMemoryBudget,
    private readonly slots: DescriptorSlots,
    /** Shared by every listener of the process. */
    private readonly reclaimer: MemoryReclaimer,
    /** Transparent mode: reads each accepted connection's original destination. */
    private readonly originalDestination?: OriginalDestinationLookup,
  ) {
    if (config.upstream === ORIGINAL_DESTINATION && originalDestination === undefined)
      throw new Error(`listener ${config.name} is transparent but has no original-destination lookup`);
    const limit = config.policy.perClientLimit;
    this.limiter = limit === undefined ? undefined : new RenegotiationRateLimiter(limit);
    // Paused on accept: nothing is read from the client until the upstream is connected.
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    // libuv answers EMFILE/ENFILE on accept by accepting and closing the pending connections with
    // a descriptor it keeps in reserve (usually without reporting it: see fd-limit.ts); accepting
    // resumes by itself once descriptors are free, without a busy loop.
    this.server.on('error', (e: NodeJS.ErrnoException) => {
      if (isFdExhaustion(e.code)) this.observer.refused(this.config.name, 'out-of-file-descriptors', undefined);
    });
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  listen(): Promise<net.AddressInfo> {
    const { host, port } = this.config.listen;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen({ host, port, backlog: 4096 }, () => {
        this.server.off('error', onError);
        const address = this.server.address() as net.AddressInfo;
        this.port = address.port;
        resolve(address);
      });
    });
  }

  private accept(socket: net.Socket): void {
    socket.on('error', ignoreError);
    if (this.draining || this.connections.size >= this.config.maxConnections) {
      this.observer.refused(
        this.config.name,
        this.draining ? 'shutting-down' : 'max-connections',
        socket.remoteAddress,
      );
      socket.destroy();
      return;
    }
    if (!this.slots.take()) {
      this.observer.refused(this.config.name, 'out-of-file-descriptors', socket.remoteAddress);
      socket.destroy();
      return;
    }
    const route = this.route(socket);
    if (route === undefined) {
      this.observer.refused(this.config.name, 'not-intercepted', socket.remoteAddress);
      this.slots.give();
      socket.destroy();
      return;
    }
    const info: ConnectionInfo = {
      id: nextConnectionId++,
      listener: this.config.name,
      clientAddress: socket.remoteAddress ?? 'unknown',
      clientPort: socket.remotePort ?? 0,
      ...(route.destination === undefined ? {} : { destination: route.destination }),
    };
    const judge = judgeFor(route.policy, this.limiter, socket.remoteAddress ?? '');
    const conn = new GuardedConnection(
      socket,
      this.config,
      this.observer,
      judge,
      info,
      route.target,
      this.helloBudget,
      this,
    );
    // The connection has its own error listener now: one listener per event and socket.
    socket.off('error', ignoreError);
    this.connections.add(conn);
    this.reclaimer.opened();
    conn.start();
  }

  /**
   * Where a connection goes and under which policy: the listener's upstream and policy, or in
   * transparent mode its original destination and the first per-destination rule that matches.
   * Undefined when a transparent connection has no original destination other than the guard.
   */
  private route(
    socket: net.Socket,
  ): { target: Endpoint; policy: GuardPolicy; destination: DestinationInfo | undefined } | undefined {
    const { upstream, policy, destinations } = this.config;
    if (upstream !== ORIGINAL_DESTINATION) return { target: upstream, policy, destination: undefined };
    const found = this.originalDestination!(socket);
    if (!found.ok) return undefined;
    const target = found.destination;
    // A connection made straight to the guard's port keeps its own address as the "original"
    // destination; following it would connect the guard to itself.
    // The bound port, not socket.localPort: that would cost a getsockname per connection, and the
    // address is compared (with one) only in the rare case the ports are equal.
    if (target.port === this.port && sameAddress(target.host, socket.localAddress)) return undefined;
    const rule = destinations === undefined ? undefined : matchDestination(destinations, target.host, target.port);
    return {
      target,
      policy: rule === undefined ? policy : { ...policy, mode: rule.mode },
      destination: { host: target.host, port: target.port, rule: rule?.name ?? DEFAULT_RULE },
    };
  }

  watchDeadlines(): void {
    this.deadlines.wake();
  }

  forget(conn: GuardedConnection): void {
    this.connections.delete(conn);
    this.slots.give();
    this.reclaimer.closed();
    if (this.draining && this.connections.size === 0) this.drained?.();
  }

  /**
   * Stops accepting (after acceptMs, during which connections are still accepted and served),
   * waits up to drainMs from now for open connections to end by themselves, then closes the rest.
   * Resolves once the listening socket and every connection are closed.
   */
  async close(drainMs: number, acceptMs = 0): Promise<void> {
    const deadline = Date.now() + drainMs;
    const accepting = Math.min(acceptMs, drainMs);
    if (accepting > 0) await new Promise((resolve) => setTimeout(resolve, accepting));
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      });
      clearTimeout(timer);
      for (const conn of [...this.connections]) conn.close('shutdown');
    }
    this.deadlines.stop();
    await closed;
  }
}

function sameAddress(a: string, b: string | undefined): boolean {
  const x = addressBytes(a);
  const y = b === undefined ? undefined : addressBytes(b);
  return x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]);
}
