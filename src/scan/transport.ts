/**
 * A probe's transport: TCP to the address resolved once per target, retries of
 * failures before anything TLS-related happened, the shared connection rate,
 * then the STARTTLS dialogue. Every wait is bounded by the probe timeout, and
 * every failure is a TransportError saying in the report's words (Reachability)
 * where the connection stopped.
 */
import * as dns from 'node:dns/promises';
import * as net from 'node:net';
import { startTls } from './starttls.ts';
import type { Reachability, ScanOptions, ScanTarget } from './types.ts';

/** The codes of a connection the peer reset (RST) after it was accepted. */
export const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/** Errors worth one more try within a scan: nothing TLS-related happened yet. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
]);

/** Why a connection failed before a ClientHello could be sent, in the report's words. */
export type TransportFailure = Exclude<
  Reachability,
  'reachable' | 'closed' | 'silent' | 'not-tls' | 'invalid-target' | 'unfinished'
>;

/** A connection that failed before TLS began: the name, TCP, or the STARTTLS dialogue. */
export class TransportError extends Error {
  constructor(
    readonly reach: TransportFailure,
    /** The system error code (ECONNREFUSED…), or STARTTLS. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A TCP error code as the report's reachability: refused (RST), timed out, reset; anything else is no way there. */
function tcpFailure(code: string): TransportFailure {
  if (RESET_CODES.has(code)) return 'reset';
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'connect-timeout';
    default:
      // EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT (no IPv6 here)…
      return 'unroutable';
  }
}

/** Resolves the host once per family choice, so every probe of a target hits the same address. */
export async function resolveAddress(target: ScanTarget): Promise<string> {
  if (net.isIP(target.host)) return target.host;
  try {
    const r = await dns.lookup(target.host, target.family ? { family: target.family } : {});
    return r.address;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ERROR';
    throw new TransportError('unresolvable', code, `cannot resolve ${target.host}: ${(e as Error).message}`);
  }
}

function tcpConnect(address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TransportError(
          'connect-timeout',
          'ETIMEDOUT',
          `TCP connect to ${address}:${port} timed out after ${timeoutMs} ms`,
        ),
      );
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
      reject(new TransportError(tcpFailure(code), code, `${code}: ${e.message}`));
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
          // The server answered TCP; whatever its dialogue said is its answer, not a connection error.
          throw new TransportError('starttls-failed', 'STARTTLS', (e as Error).message);
        }
      }
      return socket;
    } catch (e) {
      if (!(e instanceof TransportError) || !TRANSIENT.has(e.code) || attempt >= opts.retries) throw e;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}
