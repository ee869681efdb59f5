/**
 * A JSSE (Java 17) TLS client as a real peer: test/peers/java/RenegoClient.java, compiled with
 * javac on first use into os.tmpdir()/renego-cache-java-client-<hash>, reused while the source is
 * unchanged (the same scheme as java-server.ts).
 *
 * Facts about the JSSE client in OpenJDK 17 (Debian 12) that the server tests rely on:
 * - `--renegotiate` calls startHandshake() on the established connection: a client-initiated
 *   renegotiation (TLS 1.2), secure only (RFC 5746) unless
 *   -Dsun.security.ssl.allowUnsafeRenegotiation=true. The new handshake runs while the next
 *   step reads, so a `--line` after it shows whether it completed (`HANDSHAKE n=2`).
 * - A server's HelloRequest is answered with a renegotiation, sending the client certificate if
 *   one was given and the server asks for it.
 * - TLS 1.0/1.1 are disabled by jdk.tls.disabledAlgorithms; these tests use TLS 1.2.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, realpath, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { which } from './binaries.ts';
import { countMatches, startProcess } from './peer-process.ts';

const execFileAsync = promisify(execFile);

const SOURCE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'java', 'RenegoClient.java');
const MAIN_CLASS = 'RenegoClient';
const COMPILE_TIMEOUT_MS = 120_000;

export type JavaClientStep = { line: string } | { renegotiate: true } | { http: string };

export interface JavaClientOptions {
  readonly port: number;
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly protocols?: readonly string[];
  readonly steps: readonly JavaClientStep[];
  /** More -D properties, e.g. { 'sun.security.ssl.allowUnsafeRenegotiation': 'true' }. */
  readonly systemProperties?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface JavaClientResult {
  readonly output: string;
  /** Exited 0 after printing DONE. */
  readonly ok: boolean;
  readonly timedOut: boolean;
  /** HANDSHAKE lines seen: JSSE prints them from a listener thread, so a lower bound only. */
  readonly handshakes: number;
  readonly replies: readonly string[];
  /** The --http response lines. */
  readonly http: readonly string[];
}

let compiled: Promise<string> | undefined;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Compiles RenegoClient.java once per source version; returns the class directory. */
export function compileJavaClient(): Promise<string> {
  compiled ??= compile().catch((error: unknown) => {
    compiled = undefined;
    throw error;
  });
  return compiled;
}

async function compile(): Promise<string> {
  const javac = which('javac');
  if (javac === undefined) throw new Error('javac not installed (apt-get install default-jdk-headless)');
  const source = await readFile(SOURCE_FILE, 'utf8');
  const hash = createHash('sha256')
    .update(source)
    .update(await realpath(javac))
    .digest('hex')
    .slice(0, 16);
  const classDir = join(tmpdir(), `renego-cache-java-client-${hash}`);
  if (await exists(join(classDir, `${MAIN_CLASS}.class`))) return classDir;
  // Build aside and rename into place, so a concurrent test process never sees half a directory.
  const buildDir = await mkdtemp(join(tmpdir(), 'renego-java-client-build-'));
  try {
    await execFileAsync(javac, ['-d', buildDir, SOURCE_FILE], { timeout: COMPILE_TIMEOUT_MS });
    await rename(buildDir, classDir).catch(async (error: NodeJS.ErrnoException) => {
      if (!(await exists(join(classDir, `${MAIN_CLASS}.class`)))) throw error;
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`javac ${SOURCE_FILE} failed: ${(error as Error).message}\n${stderr}`);
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
  return classDir;
}

function stepArgs(steps: readonly JavaClientStep[]): string[] {
  return steps.flatMap((s) =>
    'line' in s ? ['--line', s.line] : 'http' in s ? ['--http', s.http] : ['--renegotiate'],
  );
}

/** Runs the client to the end (bounded by timeoutMs, then killed) and parses what it printed. */
export async function runJavaClient(options: JavaClientOptions): Promise<JavaClientResult> {
  const java = which('java');
  if (java === undefined) throw new Error('java not installed (apt-get install default-jdk-headless)');
  const classDir = await compileJavaClient();
  const properties = Object.entries(options.systemProperties ?? {}).map(([k, v]) => `-D${k}=${v}`);
  const args = [
    // Client compiler only and serial GC: the JVM starts noticeably faster for a short run.
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    ...properties,
    '-cp',
    classDir,
    MAIN_CLASS,
    '--port',
    String(options.port),
    '--ca',
    options.ca,
    ...(options.cert ? ['--cert', options.cert] : []),
    ...(options.key ? ['--key', options.key] : []),
    ...(options.protocols ? ['--protocols', options.protocols.join(',')] : []),
    ...stepArgs(options.steps),
  ];
  const client = await startProcess({
    name: 'java RenegoClient',
    command: java,
    args,
    host: '127.0.0.1',
    port: options.port,
  });
  try {
    client.endInput();
    const exited = await client.waitForExit(options.timeoutMs);
    const output = client.output();
    const lines = (prefix: string): string[] =>
      output
        .split('\n')
        .filter((l) => l.startsWith(prefix))
        .map((l) => l.slice(prefix.length).replace(/\r$/, ''));
    return {
      output,
      ok: exited && client.exitStatus()?.code === 0 && /^DONE$/m.test(output),
      timedOut: !exited,
      handshakes: countMatches(output, /^HANDSHAKE n=\d+ /m),
      replies: lines('REPLY '),
      http: lines('HTTP '),
    };
  } finally {
    await client.stop();
  }
}
