/**
 * The timeouts of a listener's connections (connect, handshake, idle, linger), checked by one
 * sweep every SWEEP_MS instead of a timer per wait per connection.
 *
 * A Node timer per wait costs every connection a Timeout object, a timer-list insertion and a
 * removal for each of its three or four waits, and the idle timeout a list move on every read
 * and write of the client socket (docs/benchmarks.md, "Guard CPU per connection", has what it
 * measured). Here a connection keeps its deadlines as numbers and the moment of its last
 * activity as one number written per chunk; the sweep reads them. Each timeout therefore fires
 * between its duration and SWEEP_MS (plus event-loop delay) after it started, never before.
 * The sweep runs only while the listener has connections; with 10,000 idle connections it is
 * 100,000 comparisons a second. Memory: one timer per listener.
 */
import { performance } from 'node:perf_hooks';

/** How often deadlines are checked: the most a timeout fires late. */
export const SWEEP_MS = 100;

/** What the sweep checks. */
export interface HasDeadlines {
  /** Closes the connection for the earliest of its waits that has run out by `now` (performance.now()), if any. */
  expire(now: number): void;
}

function onSweep(sweep: DeadlineSweep): void {
  sweep.sweep();
}

export class DeadlineSweep {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly connections: ReadonlySet<HasDeadlines>) {}

  /** A connection with deadlines was added: the sweep runs from now on. */
  wake(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(onSweep, SWEEP_MS, this);
    // The connections' sockets keep the process alive while there is anything to check.
    this.timer.unref();
  }

  sweep(): void {
    if (this.connections.size === 0) return this.stop();
    const now = performance.now();
    for (const c of this.connections) c.expire(now);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
