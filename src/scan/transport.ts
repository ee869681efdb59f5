/**
 * A probe's transport: TCP to the address resolved once per target, retries of
 * failures before anything TLS-related happened, the shared connection rate,
 * then the STARTTLS dialogue. Every wait is bounded by the probe timeout.
 */
import * as dns from 'node:dns/promises';
import * as net from 'node:net';
import { startTls } from './starttls.ts';
import type { ScanOptions, ScanTarget } from './types.ts';

/** Errors worth one more try: nothing TLS-related happened yet. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
]);

export class TransientError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Resolves the host once per family choice, so every probe of a target hits the same address. */
export async function resolveAddress(target: ScanTarget): Promise<string> {
  if (net.isIP(target.host)) return target.host;
  const r = await dns.lookup(target.host, target.family ? { family: target.family } : {});
  return r.address;
}

function tcpConnect(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransientError('ETIMEDOUT', `TCP connect to ${address}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const code = e.code ?? 'ERROR';
      reject(TRANSIENT.has(code) ? new TransientError(code, `${code}: ${e.message}`) : e);
    });
  });
}

/** A TCP connection ready for a ClientHello (STARTTLS done), retried on transient failures. */
export async function openTransport(target: ScanTarget, address: string, opts: ScanOptions): Promise<net.Socket> {
  for (let attempt = 0; ; attempt++) {
    await opts.limiter?.take();
    try {
      const socket = await tcpConnect(address, target.port, opts.timeoutMs);
      if (target.starttls) {
        try {
          await startTls(socket, target.starttls, target.serverName ?? target.host, opts.timeoutMs);
        } catch (e) {
          socket.destroy();
          throw e;
        }
      }
      return socket;
    } catch (e) {
      if (!(e instanceof TransientError) || attempt >= opts.retries) throw e;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}
