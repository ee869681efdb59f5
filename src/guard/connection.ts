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
 *
 * Memory and accept cost: a guard holds thousands of idle connections, and every closure, timer
 * and object made per connection is paid by each. The event handlers are therefore shared by
 * all connections (module functions that find their Direction through a symbol on the socket),
 * the waits are deadlines the listener's sweep checks (deadlines.ts), not timers, and each
 * socket has one listener per event. Measured per idle TLS connection: see docs/benchmarks.md
 * (Guard).
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Endpoint } from '../syntax/endpoint.ts';
import type { ListenerConfig } from './config.ts';
import type { Block, Judge, Side } from './events.ts';
import type { HasDeadlines } from './deadlines.ts';
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

/** What a connection tells its listener. */
export interface ConnectionOwner {
  /** The connection has deadlines from now on (its listener's sweep must run). */
  watchDeadlines(): void;
  /** It is over. */
  forget(conn: GuardedConnection): void;
}

/** A wait that is not running. */
const NEVER = Number.POSITIVE_INFINITY;

/** The Direction that reads from a socket, set on the socket itself. */
const READER = Symbol('guard.reader');
type TaggedSocket = net.Socket & { [READER]?: Direction };

/** One side's socket and the bytes read from it, on their way to the other side. */
class Direction {
  /** The other direction: its socket is the one this one writes to. */
  peer!: Direction;
  bytesIn = 0;
  closed = false;
  /** Paused because the writer's buffer is full (until 'drain'). */
  heldByDrain = false;
  /** Paused to let other sockets have their turn (until setImmediate). */
  heldByTurn = false;
  readonly budget = new TurnBudget();

  constructor(
    readonly conn: GuardedConnection,
    readonly socket: TaggedSocket,
    readonly side: Side,
  ) {
    socket[READER] = this;
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /** Starts forwarding (once the upstream is connected). */
  pipe(): void {
    this.socket.on('data', onSocketData);
    // TCP half-close passes through: a client that shuts down its sending side still gets the reply.
    this.socket.on('end', onSocketEnd);
  }

  /** A side reads again only when neither its writer's backpressure nor its turn holds it. */
  resume(): void {
    if (this.conn.open && !this.heldByDrain && !this.heldByTurn) this.socket.resume();
  }
}

function readerOf(socket: net.Socket): Direction {
  return (socket as TaggedSocket)[READER]!;
}

function onSocketData(this: net.Socket, chunk: Buffer): void {
  readerOf(this).conn.onData(readerOf(this), chunk);
}

function onSocketEnd(this: net.Socket): void {
  const d = readerOf(this);
  // Reading the client's FIN is activity on it, as every read is.
  if (d.side === 'client') d.conn.touch();
  if (d.conn.open) d.peer.socket.end();
}

function onSocketError(this: net.Socket, e: NodeJS.ErrnoException): void {
  const d = readerOf(this);
  d.conn.onError(d.side, e);
}

function onSocketClose(this: net.Socket, hadError: boolean): void {
  const d = readerOf(this);
  d.closed = true;
  d.conn.onClose(hadError);
}

/** 'drain' on a socket: the direction writing to it (its reader's peer) may read again. */
function onDrain(this: net.Socket): void {
  const d = readerOf(this).peer;
  // The client took what was queued for it: activity, as each write handed to the kernel is.
  if (d.side === 'server') d.conn.touch();
  d.heldByDrain = false;
  d.resume();
}

function endTurn(d: Direction): void {
  d.heldByTurn = false;
  d.budget.reset();
  d.resume();
}

function onUpstreamConnect(this: net.Socket): void {
  readerOf(this).conn.onUpstreamConnected();
}

export class GuardedConnection implements HasDeadlines {
  readonly info: ConnectionInfo;
  private readonly watch: RenegotiationWatch;
  private readonly client: Direction;
  private readonly upstream: Direction;
  private readonly startedAt = Date.now();
  /*
   * The waits, as deadlines in performance.now() milliseconds (NEVER when not running), checked
   * by the listener's sweep. Idle is measured on the client socket, from its last read or write.
   */
  private handshakeDeadline = NEVER;
  private connectDeadline = NEVER;
  private lingerDeadline = NEVER;
  private idleFrom = NEVER;
  private connected = false;
  /** Set once the connection is on its way out: no byte is read or forwarded after. */
  private ending: CloseReason | undefined;
  private finished = false;
  private error: string | undefined;
  /** The side whose socket was reset: the other one is reset too, not closed. */
  private resetBy: Side | undefined;
  private block: Block | undefined;
  /** Bytes of the hello budget this connection holds (what its watch has allocated to held bytes). */
  private helloShare = 0;

  constructor(
    client: net.Socket,
    private readonly config: ListenerConfig,
    private readonly observer: GuardObserver,
    judge: Judge,
    /** Who it is, and (transparent mode) where it was going. */
    info: ConnectionInfo,
    /** Where to connect: the listener's upstream, or the original destination. */
    private readonly target: Endpoint,
    private readonly helloBudget: HelloMemoryBudget,
    private readonly owner: ConnectionOwner,
  ) {
    this.info = info;
    this.watch = new RenegotiationWatch(judge);
    this.client = new Direction(this, client, 'client');
    this.upstream = new Direction(this, new net.Socket({ allowHalfOpen: true }), 'server');
    this.client.peer = this.upstream;
    this.upstream.peer = this.client;
  }

  /** Neither ending nor over: bytes are still read and forwarded. */
  get open(): boolean {
    return this.ending === undefined;
  }

  /** Starts the upstream connect; the client socket was accepted paused and is resumed once it is up. */
  start(): void {
    const { config } = this;
    const client = this.client.socket;
    const upstream = this.upstream.socket;
    this.observer.accepted(this.info);
    client.setNoDelay(true);
    const now = performance.now();
    this.idleFrom = now;
    this.handshakeDeadline = now + config.timeouts.handshakeMs;
    this.connectDeadline = now + config.timeouts.connectMs;
    this.owner.watchDeadlines();
    upstream.on('connect', onUpstreamConnect);
    upstream.connect({ host: this.target.host, port: this.target.port, noDelay: true });
  }

  /** Closes the connection now (a timeout, or graceful shutdown gave up waiting). */
  close(reason: CloseReason): void {
    this.ending ??= reason;
    this.finish(this.ending);
  }

  /** A read from or a write to the client: the idle wait starts again. */
  touch(): void {
    this.idleFrom = performance.now();
  }

  /**
   * The sweep: the wait that ran out first ends the connection. Idle goes on after a block or a
   * one-sided close (as a socket timeout would), the others stop when what they wait for happens.
   */
  expire(now: number): void {
    if (this.finished) return;
    const idle = this.idleFrom + this.config.timeouts.idleMs;
    const first = Math.min(this.connectDeadline, this.handshakeDeadline, idle, this.lingerDeadline);
    if (first > now) return;
    if (first === this.lingerDeadline) this.finish('closed');
    else if (first === this.connectDeadline) this.close('upstream-connect-timeout');
    else if (first === this.handshakeDeadline) this.close('handshake-timeout');
    else this.close('idle-timeout');
  }

  onUpstreamConnected(): void {
    this.connectDeadline = NEVER;
    if (this.ending !== undefined) return;
    // TCP self-connect: an upstream on this host whose port is in the ephemeral range, with nothing
    // listening, can be "reached" by a connect whose source port the kernel picked equal to it
    // (a simultaneous open with itself). The guard would then read back its own client's bytes as
    // the server's; it is an unreachable upstream. The remote port is the target's: one
    // getsockname per connection, and a getpeername only when the ports are equal.
    const up = this.upstream.socket;
    if (up.localPort === this.target.port && up.localAddress === up.remoteAddress)
      return this.close('upstream-unreachable');
    this.connected = true;
    const header = this.proxyHeader();
    if (header !== undefined) this.upstream.socket.write(header);
    this.client.pipe();
    this.upstream.pipe();
    this.client.socket.resume();
  }

  private proxyHeader(): Uint8Array | undefined {
    if (this.config.proxyProtocol === 'none') return undefined;
    // Transparent mode: the destination the client asked for, not the guard's redirected port.
    const destination = this.info.destination;
    const client = this.client.socket;
    const pair = {
      sourceAddress: client.remoteAddress ?? '',
      sourcePort: client.remotePort ?? 0,
      destinationAddress: destination?.host ?? client.localAddress ?? '',
      destinationPort: destination?.port ?? client.localPort ?? 0,
    };
    return this.config.proxyProtocol === 'v1' ? proxyV1Header(pair) : proxyV2Header(pair);
  }

  onData(d: Direction, chunk: Buffer): void {
    // Every read from the client is activity on it, even one that is no longer forwarded.
    if (d.side === 'client') this.touch();
    if (this.ending !== undefined) return;
    const to = d.peer.socket;
    d.bytesIn += chunk.length;
    this.observer.bytes(this.info.listener, d.side, chunk.length);
    const verdict = this.watch.feed(d.side, chunk);
    for (const e of verdict.events) this.observer.event(this.info, e);
    if (!this.accountHello()) {
      this.close('hello-memory-budget');
      return;
    }
    let writable = true;
    // Held-back bytes and the rest of the chunk go out in one writev, not one syscall each.
    const cork = verdict.forward.length > 1;
    if (cork) to.cork();
    for (const part of verdict.forward) writable = to.write(part);
    if (cork) to.uncork();
    if (d.side === 'server' && verdict.forward.length > 0) this.touch();
    if (verdict.block !== undefined) {
      this.enforce(verdict.block);
      return;
    }
    if (this.handshakeDeadline !== NEVER && this.watch.handshakeDone) this.handshakeDeadline = NEVER;
    if (!writable && !d.heldByDrain) {
      d.heldByDrain = true;
      d.socket.pause();
      to.once('drain', onDrain);
    }
    if (!d.budget.spend(chunk.length) && !d.heldByTurn) {
      d.heldByTurn = true;
      d.socket.pause();
      setImmediate(endTurn, d);
    }
  }

  /** Brings this connection's share of the hello budget up to date; false when it does not fit. */
  private accountHello(): boolean {
    const now = this.watch.retainedBytes('client') + this.watch.retainedBytes('server');
    if (now === this.helloShare) return true;
    if (!this.helloBudget.resize(this.helloShare, now)) return false;
    this.helloShare = now;
    return true;
  }

  onError(side: Side, e: NodeJS.ErrnoException): void {
    this.error ??= `${side}: ${e.code ?? e.message}`;
    if (e.code === 'ECONNRESET') this.resetBy ??= side;
    // EMFILE is not the upstream's fault: say what ran out.
    if (side === 'server' && !this.connected)
      this.ending ??= isFdExhaustion(e.code) ? 'out-of-file-descriptors' : 'upstream-unreachable';
  }

  onClose(hadError: boolean): void {
    if (hadError || (this.client.closed && this.upstream.closed) || !this.connected) {
      this.finish(this.ending ?? 'closed');
      return;
    }
    // One side closed cleanly: the other has been sent its FIN (see onSocketEnd) and may still
    // be flushing what was forwarded to it. Give it a bounded time to close by itself.
    if (this.lingerDeadline === NEVER) this.lingerDeadline = performance.now() + LINGER_MS;
  }

  /**
   * Holds back the offending record (the watch never released it), lets what came before it go
   * out, and closes both sides at once.
   */
  private enforce(block: Block): void {
    this.block = block;
    this.ending = 'blocked';
    this.handshakeDeadline = NEVER;
    this.connectDeadline = NEVER;
    for (const d of [this.client, this.upstream]) {
      d.socket.pause();
      d.socket.end();
    }
    this.lingerDeadline = performance.now() + LINGER_MS;
  }

  finish(reason: CloseReason): void {
    if (this.finished) return;
    this.finished = true;
    this.ending ??= reason;
    this.helloBudget.resize(this.helloShare, 0);
    this.helloShare = 0;
    // A reset goes on as a reset (RST, SO_LINGER 0), as on a direct connection: a FIN would tell
    // the other side the stream ended completely, and with non-TLS traffic let through it cannot
    // tell a truncated stream from a whole one.
    const client = this.client.socket;
    const upstream = this.upstream.socket;
    if (this.resetBy === 'server') client.resetAndDestroy();
    else client.destroy();
    if (this.resetBy === 'client') upstream.resetAndDestroy();
    else upstream.destroy();
    this.observer.closed(this.info, {
      reason: this.ending,
      block: this.block,
      bytesFrom: { client: this.client.bytesIn, server: this.upstream.bytesIn },
      renegotiations: this.watch.renegotiations,
      durationMs: Date.now() - this.startedAt,
      error: this.error,
    });
    this.owner.forget(this);
  }
}
