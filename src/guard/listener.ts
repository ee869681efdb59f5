/**
 * A guard listener: accepts TCP connections on one address and proxies each to the upstream
 * through a GuardedConnection, with a cap on open connections and a graceful close (stop
 * accepting, let connections drain, then close what is left).
 */
import * as net from 'node:net';
import type { ListenerConfig } from './config.ts';
import { GuardedConnection, type ConnectionOwner } from './connection.ts';
import type { DescriptorSlots } from './fd-limit.ts';
import type { HelloMemoryBudget } from './hello-budget.ts';
import { isFdExhaustion, type GuardObserver } from './observer.ts';
import { judgeFor } from './policy.ts';
import type { MemoryReclaimer } from './reclaim.ts';
import { RenegotiationRateLimiter } from '../handshake/rate-limit.ts';

let nextConnectionId = 1;

/** A reset before the connection looks at the socket must not become an uncaught error. */
function ignoreError(): void {}

export class GuardListener implements ConnectionOwner {
  private readonly server: net.Server;
  private readonly connections = new Set<GuardedConnection>();
  private readonly limiter: RenegotiationRateLimiter | undefined;
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(
    readonly config: ListenerConfig,
    private readonly observer: GuardObserver,
    /** Shared by every listener of the process. */
    private readonly helloBudget: HelloMemoryBudget,
    private readonly slots: DescriptorSlots,
    /** Shared by every listener of the process. */
    private readonly reclaimer: MemoryReclaimer,
  ) {
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
        resolve(this.server.address() as net.AddressInfo);
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
    const judge = judgeFor(this.config.policy, this.limiter, socket.remoteAddress ?? '');
    const conn = new GuardedConnection(
      socket,
      this.config,
      this.observer,
      judge,
      nextConnectionId++,
      this.helloBudget,
      this,
    );
    // The connection has its own error listener now: one listener per event and socket.
    socket.off('error', ignoreError);
    this.connections.add(conn);
    this.reclaimer.opened();
    conn.start();
  }

  forget(conn: GuardedConnection): void {
    this.connections.delete(conn);
    this.slots.give();
    this.reclaimer.closed();
    if (this.draining && this.connections.size === 0) this.drained?.();
  }

  /**
   * Stops accepting, waits up to drainMs for open connections to end by themselves, then closes
   * the rest. Resolves once the listening socket and every connection are closed.
   */
  async close(drainMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, drainMs);
      });
      clearTimeout(timer);
      for (const conn of [...this.connections]) conn.close('shutdown');
    }
    await closed;
  }
}
