/**
 * What the guard benchmark measures against a port (a proxy, or the upstream itself), with the
 * scripted TLS conversations of guard-script.ts. Every wait is bounded by STEP_TIMEOUT_MS.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

const HOST = '127.0.0.1';
export const STEP_TIMEOUT_MS = 10_000;
/** The first part of a bulk sample is not counted: the windows of TCP and the proxy are opening. */
const BULK_WARMUP_FRACTION = 0.2;

export interface Scripts {
  readonly client: Uint8Array;
  readonly serverLength: number;
}

function connect(port: number, host = HOST): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${port} timed out`));
    }, STEP_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export interface Measurement {
  /** Units per second over the counted part of the sample. */
  readonly rate: number;
  /** Units over the whole sample (what the proxy's CPU time is divided by). */
  readonly units: number;
}

/**
 * One connection to a `source` upstream: the scripted handshake, then bytes received per second
 * (MB/s, 10^6 bytes) over the sample after a warm-up; units are MB.
 */
export async function bulkThroughput(port: number, scripts: Scripts, ms: number, host = HOST): Promise<Measurement> {
  const s = await connect(port, host);
  try {
    return await new Promise<Measurement>((resolve, reject) => {
      let received = 0;
      let countFrom = Number.NaN;
      let startedAt = 0;
      const guard = setTimeout(() => reject(new Error('bulk sample never started')), STEP_TIMEOUT_MS + ms);
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (startedAt !== 0 || received < scripts.serverLength) return;
        startedAt = performance.now();
        setTimeout(() => (countFrom = received), ms * BULK_WARMUP_FRACTION);
        setTimeout(() => {
          clearTimeout(guard);
          const seconds = (ms * (1 - BULK_WARMUP_FRACTION)) / 1000;
          resolve({ rate: (received - countFrom) / seconds / 1e6, units: received / 1e6 });
        }, ms);
      });
      s.once('error', reject);
      s.once('close', () => reject(new Error(`connection closed after ${received} bytes`)));
      s.write(scripts.client);
    });
  } finally {
    s.destroy();
  }
}

/** One connection to a `close` upstream: send the script, receive the reply and the FIN. */
async function oneConnection(port: number, scripts: Scripts, host: string): Promise<void> {
  const s = await connect(port, host);
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    const timer = setTimeout(() => reject(new Error(`no reply within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    s.on('data', (d: Buffer) => (received += d.length));
    s.once('end', () => {
      clearTimeout(timer);
      if (received === scripts.serverLength) resolve();
      else reject(new Error(`got ${received} of ${scripts.serverLength} bytes`));
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write(scripts.client);
  }).finally(() => s.destroy());
}

/** New connections per second with `concurrency` clients connecting one after another; units are connections. */
export async function connectionRate(
  port: number,
  scripts: Scripts,
  ms: number,
  concurrency: number,
  host = HOST,
): Promise<Measurement> {
  const deadline = performance.now() + ms;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await oneConnection(port, scripts, host);
        done++;
      }
    }),
  );
  return { rate: done / ((performance.now() - started) / 1000), units: done };
}

/**
 * Round trips of one small application-data record through an `echo` upstream on one connection,
 * in microseconds, for `ms` (at most maxSamples).
 */
export async function roundTrips(
  port: number,
  scripts: Scripts,
  request: Uint8Array,
  ms: number,
  maxSamples: number,
): Promise<number[]> {
  const s = await connect(port);
  const times: number[] = [];
  try {
    let received = 0;
    let want = scripts.serverLength;
    let wake: (() => void) | undefined;
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= want) wake?.();
    });
    s.once('error', () => wake?.());
    const until = (n: number): Promise<void> =>
      new Promise((resolve, reject) => {
        want = n;
        if (received >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`echo stalled at ${received} of ${n} bytes`)), STEP_TIMEOUT_MS);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    s.write(scripts.client);
    await until(scripts.serverLength);
    const deadline = performance.now() + ms;
    while (performance.now() < deadline && times.length < maxSamples) {
      const t0 = performance.now();
      s.write(request);
      await until(received + request.length);
      times.push((performance.now() - t0) * 1000);
    }
    return times;
  } finally {
    s.destroy();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
