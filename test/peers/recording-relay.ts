/** A TCP relay on 127.0.0.1 that records every chunk with its direction, in arrival order. */
import { listenLocal } from './local-server.ts';
import * as net from 'node:net';

export type Direction = 'client' | 'server';

export interface RecordingRelay {
  readonly port: number;
  /** What each side sent through the relay; a test may empty it (`steps.length = 0`) between runs. */
  readonly steps: [Direction, Uint8Array][];
  stop(): Promise<void>;
}

/** Everything one side sent, in one buffer. */
export function sentBy(steps: readonly (readonly [Direction, Uint8Array])[], side: Direction): Buffer {
  return Buffer.concat(steps.flatMap(([from, bytes]) => (from === side ? [bytes] : [])));
}

/** Listens on a free port and relays each connection to targetPort on 127.0.0.1. */
export async function recordingRelay(targetPort: number): Promise<RecordingRelay> {
  const steps: [Direction, Uint8Array][] = [];
  const server = net.createServer((c) => {
    const u = net.connect(targetPort, '127.0.0.1');
    local.track(u);
    for (const s of [c, u]) s.on('error', () => undefined);
    c.on('data', (d: Buffer) => steps.push(['client', new Uint8Array(d)]));
    u.on('data', (d: Buffer) => steps.push(['server', new Uint8Array(d)]));
    c.pipe(u);
    u.pipe(c);
  });
  const local = await listenLocal(server);
  return { port: local.port, steps, stop: local.close };
}
