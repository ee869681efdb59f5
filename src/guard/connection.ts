/**
 * One proxied connection: the accepted client socket, a TCP connection to the upstream, and the
 * RenegotiationWatch between them. Bytes go on as the watch releases them; backpressure pauses
 * the reading side while the writing side's buffer is full, so nothing is buffered without bound.
 * Every wait is bounded (connect, handshake, idle, and the linger after a block).
 *
 * Fairness: libuv reads a readable socket up to 32 times per event-loop turn, and each read costs
 * the guard a watch feed and a write; a client that streams without pause (1-byte writes
 * included) would take a core while the other connections wait. Each reading side therefore
 * yields after READS_PER_TURN (16 chunks or 256 KiB): it pauses and resumes on setImmediate,
 * after the other sockets' I/O of this turn. Memory: Node buffers at most one readable
 * high-water mark for the paused socket.
 */
import * as net from 'node:net';
import type { Endpoint } from '../syntax/endpoint.ts';
import type { ListenerConfig } from './config.ts';
import type { Block, Judge, Side } from './events.ts';
import type { HelloMemoryBudget } from './hello-budget.ts';
import { isFdExhaustion, type CloseReason, type ConnectionInfo, type GuardObserver } from './observer.ts';
import { proxyV1Header, proxyV2Header } from './proxy-protocol.ts';
import { RenegotiationWatch } from './watch.ts';

/**
 * After a block both sockets get a FIN at once, and after a clean close of one side the other
 * gets its FIN; whatever has not closed this long after is destroyed.
 */
export const LINGER_MS = 2_000;

/** What one side of a connection may read before it yields the event loop to the others. */
export const READS_PER_TURN = { chunks: 16, bytes: 256 * 1024 } as const;

/** Chunks and bytes read since the side last yielded. */
export class TurnBudget {
  private chunks = 0;
  private bytes = 0;

  /** Counts one chunk; false once the side has had its share and must yield. */
  spend(bytes: number): boolean {
    this.chunks++;
    this.bytes += bytes;
    return this.chunks < READS_PER_TURN.chunks && this.bytes < READS_PER_TURN.bytes;
  }

  reset(): void {
    this.chunks = 0;
    this.bytes = 0;
  }
}

export class GuardedConnection {
  readonly info: ConnectionInfo;
  private readonly watch: RenegotiationWatch;
  private readonly upstream: net.Socket;
  private readonly startedAt = Date.now();
  private readonly bytesFrom: Record<Side, number> = { client: 0, server: 0 };
  private handshakeTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private connected = false;
  /** Set once the connection is on its way out: no byte is read or forwarded after. */
  private ending: CloseReason | undefined;
  private finished = false;
  private error: string | undefined;
  /** The side whose socket was reset: the other one is reset too, not closed. */
  private resetBy: Side | undefined;
  private block: Block | undefined;
  private readonly closedSockets = new Set<net.Socket>();
  /** Bytes of the hello budget this connection holds (what its watch has allocated to held bytes). */
  private helloShare = 0;

  constructor(
    private readonly client: net.Socket,
    private readonly config: ListenerConfig,
    private readonly observer: GuardObserver,
    judge: Judge,
    /** Who it is, and (transparent mode) where it was going. */
    info: ConnectionInfo,
    /** Where to connect: the listener's upstream, or the original destination. */
    private readonly target: Endpoint,
    private readonly helloBudget: HelloMemoryBudget,
    private readonly onFinished: (c: GuardedConnection) => void,
  ) {
    this.info = info;
    this.watch = new RenegotiationWatch(judge);
    this.upstream = new net.Socket({ allowHalfOpen: true });
  }

  /** Starts the upstream connect; the client socket was accepted paused and is resumed once it is up. */
  start(): void {
    const { client, upstream, config } = this;
    this.observer.accepted(this.info);
    client.setNoDelay(true);
    this.watchSocket(client, 'client');
    this.watchSocket(upstream, 'server');
    client.setTimeout(config.timeouts.idleMs, () => this.shutdown('idle-timeout'));
    this.handshakeTimer = setTimeout(() => this.shutdown('handshake-timeout'), config.timeouts.handshakeMs);
    this.connectTimer = setTimeout(() => this.shutdown('upstream-connect-timeout'), config.timeouts.connectMs);
    upstream.once('connect', () => this.onUpstreamConnected());
    upstream.connect({ host: this.target.host, port: this.target.port, noDelay: true });
  }

  /** Closes the connection now (graceful shutdown gave up waiting). */
  close(reason: CloseReason): void {
    this.shutdown(reason);
  }

  private onUpstreamConnected(): void {
    clearTimeout(this.connectTimer);
    // Dropped, not only cleared: a cleared Timeout still holds its callback for the connection's life.
    this.connectTimer = undefined;
    if (this.ending !== undefined) return;
    this.connected = true;
    const header = this.proxyHeader();
    if (header !== undefined) this.upstream.write(header);
    this.pipe(this.client, this.upstream, 'client');
    this.pipe(this.upstream, this.client, 'server');
    this.client.resume();
  }

  private proxyHeader(): Uint8Array | undefined {
    if (this.config.proxyProtocol === 'none') return undefined;
    // Transparent mode: the destination the client asked for, not the guard's redirected port.
    const destination = this.info.destination;
    const pair = {
      sourceAddress: this.client.remoteAddress ?? '',
      sourcePort: this.client.remotePort ?? 0,
      destinationAddress: destination?.host ?? this.client.localAddress ?? '',
      destinationPort: destination?.port ?? this.client.localPort ?? 0,
    };
    return this.config.proxyProtocol === 'v1' ? proxyV1Header(pair) : proxyV2Header(pair);
  }

  private pipe(from: net.Socket, to: net.Socket, side: Side): void {
    const listener = this.config.name;
    // A side reads again only when neither its writer's backpressure nor its turn holds it.
    const held = { drain: false, turn: false };
    const budget = new TurnBudget();
    const resume = (): void => {
      if (this.ending === undefined && !held.drain && !held.turn) from.resume();
    };
    from.on('data', (chunk: Buffer) => {
      if (this.ending !== undefined) return;
      this.bytesFrom[side] += chunk.length;
      this.observer.bytes(listener, side, chunk.length);
      const verdict = this.watch.feed(side, chunk);
      for (const e of verdict.events) this.observer.event(this.info, e);
      if (!this.accountHello()) {
        this.shutdown('hello-memory-budget');
        return;
      }
      let writable = true;
      // Held-back bytes and the rest of the chunk go out in one writev, not one syscall each.
      const cork = verdict.forward.length > 1;
      if (cork) to.cork();
      for (const part of verdict.forward) writable = to.write(part);
      if (cork) to.uncork();
      if (verdict.block !== undefined) {
        this.enforce(verdict.block);
        return;
      }
      if (this.handshakeTimer !== undefined && this.watch.handshakeDone) {
        clearTimeout(this.handshakeTimer);
        this.handshakeTimer = undefined;
      }
      if (!writable && !held.drain) {
        held.drain = true;
        from.pause();
        to.once('drain', () => {
          held.drain = false;
          resume();
        });
      }
      if (!budget.spend(chunk.length) && !held.turn) {
        held.turn = true;
        from.pause();
        setImmediate(() => {
          held.turn = false;
          budget.reset();
          resume();
        });
      }
    });
    // TCP half-close passes through: a client that shuts down its sending side still gets the reply.
    from.on('end', () => {
      if (this.ending === undefined) to.end();
    });
  }

  /** Brings this connection's share of the hello budget up to date; false when it does not fit. */
  private accountHello(): boolean {
    const now = this.watch.retainedBytes('client') + this.watch.retainedBytes('server');
    if (now === this.helloShare) return true;
    if (!this.helloBudget.resize(this.helloShare, now)) return false;
    this.helloShare = now;
    return true;
  }

  private watchSocket(socket: net.Socket, side: Side): void {
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error ??= `${side}: ${e.code ?? e.message}`;
      if (e.code === 'ECONNRESET') this.resetBy ??= side;
      // EMFILE is not the upstream's fault: say what ran out.
      if (side === 'server' && !this.connected)
        this.ending ??= isFdExhaustion(e.code) ? 'out-of-file-descriptors' : 'upstream-unreachable';
    });
    socket.on('close', (hadError: boolean) => {
      this.closedSockets.add(socket);
      if (hadError || this.closedSockets.size === 2 || !this.connected) {
        this.finish(this.ending ?? 'closed');
        return;
      }
      // One side closed cleanly: the other has been sent its FIN (see pipe) and may still be
      // flushing what was forwarded to it. Give it a bounded time to close by itself.
      this.lingerTimer ??= setTimeout(() => this.finish(this.ending ?? 'closed'), LINGER_MS);
    });
  }

  /**
   * Holds back the offending record (the watch never released it), lets what came before it go
   * out, and closes both sides at once.
   */
  private enforce(block: Block): void {
    this.block = block;
    this.ending = 'blocked';
    this.clearTimers();
    for (const s of [this.client, this.upstream]) {
      s.pause();
      s.end();
    }
    this.lingerTimer = setTimeout(() => this.finish('blocked'), LINGER_MS);
  }

  /** Closes both sides now, for a timeout or shutdown. */
  private shutdown(reason: CloseReason): void {
    this.ending ??= reason;
    this.finish(this.ending);
  }

  private clearTimers(): void {
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.connectTimer);
    clearTimeout(this.lingerTimer);
    this.handshakeTimer = undefined;
    this.lingerTimer = undefined;
  }

  private finish(reason: CloseReason): void {
    if (this.finished) return;
    this.finished = true;
    this.ending ??= reason;
    this.clearTimers();
    this.helloBudget.resize(this.helloShare, 0);
    this.helloShare = 0;
    // A reset goes on as a reset (RST, SO_LINGER 0), as on a direct connection: a FIN would tell
    // the other side the stream ended completely, and with non-TLS traffic let through it cannot
    // tell a truncated stream from a whole one.
    if (this.resetBy === 'server') this.client.resetAndDestroy();
    else this.client.destroy();
    if (this.resetBy === 'client') this.upstream.resetAndDestroy();
    else this.upstream.destroy();
    this.observer.closed(this.info, {
      reason: this.ending,
      block: this.block,
      bytesFrom: { ...this.bytesFrom },
      renegotiations: this.watch.renegotiations,
      durationMs: Date.now() - this.startedAt,
      error: this.error,
    });
    this.onFinished(this);
  }
}
