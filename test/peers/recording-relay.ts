/** A TCP relay on 127.0.0.1 that records every chunk with its direction, in arrival order. */
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
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const u = net.connect(targetPort, '127.0.0.1');
    for (const s of [c, u]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => sockets.delete(s));
    }
    c.on('data', (d: Buffer) => steps.push(['client', new Uint8Array(d)]));
    u.on('data', (d: Buffer) => steps.push(['server', new Uint8Array(d)]));
    c.pipe(u);
    u.pipe(c);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    steps,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
