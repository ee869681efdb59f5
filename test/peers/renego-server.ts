/**
 * `renego server` (src/tools/server.ts startServer) run in the test process on a free port of
 * 127.0.0.1, for the server interop tests: its log lines are collected so a test can wait for
 * `handshake …`, `renegotiation …`, `renegotiation-refused …` or `error …`, and stop() closes
 * the listener and every connection still open, within a bounded time.
 */
import type { Socket } from 'node:net';
import { startServer, type RunningServer, type ServerRunOptions } from '../../src/tools/server.ts';
import type { PkiFiles } from '../../src/pki/throwaway.ts';
import { countMatches, OutputLog } from './peer-process.ts';

export interface RenegoServerPeer {
  readonly host: string;
  readonly port: number;
  readonly running: RunningServer;
  /** Every log line so far, newline-terminated. */
  output(): string;
  waitForOutput(re: RegExp, timeoutMs: number): Promise<string>;
  count(re: RegExp): number;
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 3_000;

/** Starts the server with the given PKI files (server certificate; client certificates checked against its CA). */
export async function startRenegoServer(
  files: PkiFiles,
  options: Omit<ServerRunOptions, 'host' | 'port' | 'log'> = {},
): Promise<RenegoServerPeer> {
  const log = new OutputLog('renego server');
  const running = await startServer({
    host: '127.0.0.1',
    port: 0,
    certFile: files.serverCert,
    keyFile: files.serverKey,
    clientCaFile: files.ca,
    ...options,
    log: (line) => log.append(`${line}\n`),
  });
  const sockets = new Set<Socket>();
  running.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      running.close(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    log.end('renego server stopped');
  };
  return {
    host: '127.0.0.1',
    port: running.port,
    running,
    output: () => log.text(),
    waitForOutput: (re, ms) => log.waitFor(re, ms),
    count: (re) => countMatches(log.text(), re),
    stop: () => (stopping ??= stop()),
  };
}
