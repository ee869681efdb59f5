/**
 * A TCP proxy on 127.0.0.1 that holds every chunk `delayMs` before passing it on, each way,
 * so a local server looks `2 × delayMs` of round trip away. Order is kept (timers of one
 * delay fire in the order they were set); a close is passed on after the data before it.
 * For benchmarks and tests only: no backpressure, the data of one scan is small.
 */
import { listenLocal } from './local-server.ts';
import * as net from 'node:net';

export interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

function forward(from: net.Socket, to: net.Socket, delayMs: number): void {
  const later = (fn: () => void): void => {
    if (delayMs === 0) fn();
    else setTimeout(fn, delayMs);
  };
  from.on('data', (chunk: Buffer) => later(() => to.destroyed || to.write(chunk)));
  from.on('end', () => later(() => to.destroyed || to.end()));
  from.on('close', () => later(() => to.destroy()));
  from.on('error', () => undefined);
}

export async function startDelayProxy(upstreamPort: number, delayMs: number): Promise<DelayProxy> {
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    local.track(upstream);
    for (const s of [client, upstream]) s.setNoDelay(true);
    // The client's bytes wait for the upstream connection (net queues writes until connect).
    forward(client, upstream, delayMs);
    forward(upstream, client, delayMs);
  });
  const local = await listenLocal(server);
  return { port: local.port, close: local.close };
}
