/**
 * A renego server (src/server/start.ts startServer, as `renego server` starts it) run in the test process on a free port of
 * 127.0.0.1, for the server interop tests: its log lines are collected so a test can wait for
 * `handshake …`, `renegotiation …`, `renegotiation-refused …` or `error …`, and stop() closes
 * the listener and every connection still open, within a bounded time.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server/start.ts';
import { loadCertificate, type ServerCertificate } from '../../src/pki/credentials.ts';
import type { PkiFiles } from '../../src/pki/throwaway.ts';
import { trustStoreFromPem } from '../../src/pki/verify.ts';
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
  options: Omit<StartServerOptions, 'host' | 'port' | 'log'> = {},
): Promise<RenegoServerPeer> {
  const log = new OutputLog('renego server');
  const running = await startServer({
    host: '127.0.0.1',
    port: 0,
    certificate: serverCertificate(files),
    clientTrust: trustStoreFromPem(readFileSync(files.ca)),
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

/** The server certificate and key of these PKI files, as `renego server --cert --key` loads them. */
export function serverCertificate(files: PkiFiles): ServerCertificate {
  return loadCertificate(readFileSync(files.serverCert), readFileSync(files.serverKey));
}
