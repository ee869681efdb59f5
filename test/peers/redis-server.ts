/**
 * A real redis-server for the queue's tests and benchmark: 127.0.0.1, a free
 * port, its own temporary directory, no persistence (`--save '' --appendonly
 * no`), stopped and its directory removed by stop(). Never a Redis already
 * running on the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from './binaries.ts';
import { freePort } from './ports.ts';

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT/0 */
  url: string;
  stop(): Promise<void>;
}

const READY_MS = 15_000;

export async function startRedisServer(): Promise<RedisServer> {
  const binary = which('redis-server');
  if (binary === undefined) throw new Error('redis-server not installed (apt-get install redis-server)');
  const dir = await mkdtemp(join(tmpdir(), 'renego-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await ready(child);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, url: `redis://127.0.0.1:${port}/0`, stop };
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`redis-server not ready after ${READY_MS} ms:\n${output}`)),
      READY_MS,
    );
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
