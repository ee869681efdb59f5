/**
 * The queue's address (`redis://[USER:PASSWORD@]HOST:PORT/DB`, or `rediss://`
 * for TLS) and a first connection that fails fast: ioredis retries forever by
 * default, which would make a mistyped port hang instead of saying so.
 */
import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

export class QueueUnreachableError extends Error {
  override readonly name = 'QueueUnreachableError';
}

export class QueueAddressError extends Error {
  override readonly name = 'QueueAddressError';
}

export interface QueueAddress {
  /** The address without its password, for messages. */
  shown: string;
  options: RedisOptions;
}

export function parseQueueAddress(text: string): QueueAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new QueueAddressError(`--queue wants redis://HOST:PORT/DB, got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new QueueAddressError(`--queue wants redis:// or rediss://, got ${url.protocol}//`);
  }
  if (url.hostname === '') throw new QueueAddressError(`--queue names no host: ${text}`);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || db > 15) {
    throw new QueueAddressError(`--queue: the database is a number 0-15 after the port, got /${dbText}`);
  }
  const port = url.port === '' ? 6379 : Number(url.port);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: RedisOptions = { host, port, db };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = { servername: host };
  return { shown: `${url.protocol}//${url.host}/${db}`, options };
}

/** Connection options for BullMQ's long-lived connections: reconnect, and block without a per-request limit. */
export function bullConnection(a: QueueAddress): BullRedisOptions {
  const { host, port, db, username, password, tls } = a.options;
  return { host, port, db, username, password, tls, maxRetriesPerRequest: null, enableOfflineQueue: true };
}

/**
 * Connects once, without retries, within `timeoutMs`, and checks the server
 * answers; a failure is one sentence naming the address.
 */
export async function connectOnce(a: QueueAddress, timeoutMs = 5000): Promise<Redis> {
  const redis = new Redis({
    ...a.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // connect() rejects with "Connection is closed"; the socket's own error (ECONNREFUSED…) comes as an event.
  let cause: unknown;
  redis.on('error', (e) => (cause ??= e));
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new QueueUnreachableError(`cannot reach the queue at ${a.shown}: ${describeRedisError(cause ?? e)}`);
  }
  return redis;
}

/** A Redis or socket error as a short phrase. */
export function describeRedisError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const phrases: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is redis-server running there?)',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENOTFOUND: 'host name not found',
    ECONNRESET: 'connection reset',
  };
  if (err.code !== undefined && phrases[err.code] !== undefined) return phrases[err.code]!;
  const message = (err.message ?? String(e)).split('\n')[0]!;
  if (/NOAUTH|WRONGPASS/.test(message)) return `authentication failed (${message})`;
  return message;
}
