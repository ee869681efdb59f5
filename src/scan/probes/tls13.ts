/**
 * TLS 1.3 detection, through node:tls (after STARTTLS when asked): renegotiation
 * does not exist there (RFC 8446 §4.1.2 leaves no place for it), so a server
 * that speaks only TLS 1.3 is answered "nothing to renegotiate" rather than
 * "could not scan". Needs no other probe.
 */
import * as tls from 'node:tls';
import { openTransport } from '../transport.ts';
import type { Tri } from '../types.ts';
import type { ProbeContext } from './context.ts';
import type { Probe } from './probe.ts';

export interface Tls13Probe {
  value: Tri;
  note: string;
}

declare module './probe.ts' {
  interface ProbeOutputs {
    tls13: Tls13Probe;
  }
}

/** TLS 1.3 alone: true, false, or null when the connection itself failed. */
export async function detectTls13(cx: ProbeContext): Promise<Tls13Probe> {
  const release = await cx.gate.acquire();
  try {
    return await tls13Handshake(cx);
  } finally {
    release();
  }
}

async function tls13Handshake(cx: ProbeContext): Promise<Tls13Probe> {
  let raw;
  try {
    raw = await openTransport(cx.target, cx.address, cx.opts);
  } catch (e) {
    return { value: null, note: `TLS 1.3: ${(e as Error).message}` };
  }
  return new Promise((resolve) => {
    const s = tls.connect({
      socket: raw,
      ...(cx.target.serverName ? { servername: cx.target.serverName } : {}),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false,
    });
    const done = (value: Tri, note: string): void => {
      clearTimeout(timer);
      s.destroy();
      raw.destroy();
      resolve({ value, note });
    };
    const timer = setTimeout(() => done(null, `TLS 1.3: no answer within ${cx.opts.timeoutMs} ms`), cx.opts.timeoutMs);
    s.once('secureConnect', () =>
      done(true, `TLS 1.3 handshake completed (${s.getCipher()?.standardName ?? 'unknown suite'})`),
    );
    s.once('error', (e: NodeJS.ErrnoException) => {
      // An alert or a close in answer to a TLS 1.3-only hello is a "no"; a reset before anything is too.
      done(false, `TLS 1.3 refused: ${e.code ?? ''} ${e.message}`.trim());
    });
  });
}

export const tls13Probe: Probe<'tls13'> = {
  id: 'tls13',
  needs: [],
  informs: ['no-renegotiation'],
  run: (r) => detectTls13(r.cx),
  contribute(e, out) {
    e.versions['TLSv1.3'] = out.value;
    e.baseline?.evidence.push(out.note);
  },
  // TCP, then a ClientHello answered by a ServerHello or an alert.
  roundTrips: (out) => (out.value === null ? 1 : 2),
};
