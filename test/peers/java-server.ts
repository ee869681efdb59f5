/**
 * A JSSE (Java 17) TLS server as a real peer: test/peers/java/RenegoServer.java, compiled with
 * javac on first use into os.tmpdir()/renego-cache-java-<hash>, reused while the source is unchanged.
 *
 * Facts about JSSE in OpenJDK 17 (Debian 12) that the renegotiation tests rely on:
 * - TLS 1.0 and 1.1 are in jdk.tls.disabledAlgorithms: even when enabled on the socket, a TLS 1.0
 *   ClientHello gets a fatal protocol_version alert. `legacyVersions: true` points
 *   -Djava.security.properties at a file that takes TLSv1, TLSv1.1 and 3DES_EDE_CBC off that list
 *   and enables TLSv1..TLSv1.2 on the socket.
 * - Client-initiated renegotiation (TLS 1.2) is accepted by default, secure (RFC 5746) only.
 *   With rejectClientInitiatedRenegotiation the server answers the ClientHello with a fatal
 *   handshake_failure alert and logs "Client initiated renegotiation is not allowed".
 *   allowUnsafeRenegotiation / allowLegacyHelloMessages map to the sun.security.ssl properties.
 * - Server-initiated renegotiation works in TLS 1.2: the client line `renegotiate` makes the server
 *   call startHandshake() again (requiring a client certificate when ca is set), which sends a
 *   HelloRequest; `whoami` then reports the client certificate subject.
 * - Every completed handshake, the first and each renegotiation, prints
 *   `HANDSHAKE conn=C n=K protocol=… cipher=… peer=…` (countHandshakes).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { which } from './binaries.ts';
import { countMatches, spawnPeer, withFreePort, type TlsPeer } from './peer-process.ts';

const execFileAsync = promisify(execFile);

const SOURCE_FILE = join(dirname(fileURLToPath(import.meta.url)), 'java', 'RenegoServer.java');
const MAIN_CLASS = 'RenegoServer';
const COMPILE_TIMEOUT_MS = 120_000;
/** Java takes a second or two to start; more on a loaded CI machine. */
const JAVA_READY_TIMEOUT_MS = 30_000;
const LEGACY_PROTOCOLS = ['TLSv1.2', 'TLSv1.1', 'TLSv1'];

/** OpenJDK 17's jdk.tls.disabledAlgorithms without TLSv1, TLSv1.1, 3DES_EDE_CBC and ECDH. */
const LEGACY_SECURITY_PROPERTIES = [
  '# Written by renego test/peers/java-server.ts for TLS 1.0/1.1 interop tests.',
  'jdk.tls.disabledAlgorithms=SSLv3, RC4, DES, MD5withRSA, DH keySize < 1024, EC keySize < 224, anon, NULL',
  '',
].join('\n');
const LEGACY_SECURITY_FILE = 'legacy-tls.security';

export interface JavaServerOptions {
  /** PEM certificate chain file, leaf first. */
  readonly cert: string;
  /** PKCS#8 PEM private key file (RSA or EC). */
  readonly key: string;
  /** PEM CA file to verify client certificates (needed by clientAuth and `renegotiate`). */
  readonly ca?: string;
  /** e.g. ['TLSv1.2']; JSSE defaults to TLSv1.3,TLSv1.2. */
  readonly protocols?: readonly string[];
  /** JSSE cipher suite names, e.g. ['TLS_RSA_WITH_AES_128_CBC_SHA']. */
  readonly ciphers?: readonly string[];
  readonly clientAuth?: 'none' | 'want' | 'need';
  /** -Djdk.tls.rejectClientInitiatedRenegotiation=true */
  readonly rejectClientInitiatedRenegotiation?: boolean;
  /** -Dsun.security.ssl.allowUnsafeRenegotiation=… (JSSE default false) */
  readonly allowUnsafeRenegotiation?: boolean;
  /** -Dsun.security.ssl.allowLegacyHelloMessages=… (JSSE default true) */
  readonly allowLegacyHelloMessages?: boolean;
  /** Re-enable TLS 1.0/1.1 and 3DES (see the file comment); protocols default to TLSv1..TLSv1.2. */
  readonly legacyVersions?: boolean;
  /** A security properties file of your own, passed as -Djava.security.properties=FILE. */
  readonly securityPropertiesFile?: string;
  /** More -D properties, e.g. { 'javax.net.debug': 'ssl:handshake' } (debug goes to stdout). */
  readonly systemProperties?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

export interface JavaServer extends TlsPeer {
  readonly pid: number;
  /** Completed handshakes so far over all connections, or on connection conn (1-based). */
  countHandshakes(conn?: number): number;
}

let compiled: Promise<string> | undefined;

/** Compiles RenegoServer.java once per source version; returns the class directory. */
export function compileJavaServer(): Promise<string> {
  compiled ??= compile().catch((error: unknown) => {
    compiled = undefined;
    throw error;
  });
  return compiled;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function compile(): Promise<string> {
  const javac = which('javac');
  if (javac === undefined) throw new Error('javac not installed (apt-get install default-jdk-headless)');
  const source = await readFile(SOURCE_FILE, 'utf8');
  const hash = createHash('sha256')
    .update(source)
    .update(LEGACY_SECURITY_PROPERTIES)
    .update(await realpath(javac))
    .digest('hex')
    .slice(0, 16);
  const classDir = join(tmpdir(), `renego-cache-java-${hash}`);
  if (await exists(join(classDir, `${MAIN_CLASS}.class`))) return classDir;

  // Build aside and rename into place, so a concurrent test process never sees half a directory.
  const buildDir = await mkdtemp(join(tmpdir(), 'renego-java-build-'));
  try {
    await execFileAsync(javac, ['-d', buildDir, SOURCE_FILE], { timeout: COMPILE_TIMEOUT_MS });
    await writeFile(join(buildDir, LEGACY_SECURITY_FILE), LEGACY_SECURITY_PROPERTIES);
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

function systemProperties(options: JavaServerOptions, classDir: string): string[] {
  const properties: Record<string, string> = {};
  if (options.rejectClientInitiatedRenegotiation !== undefined) {
    properties['jdk.tls.rejectClientInitiatedRenegotiation'] = String(options.rejectClientInitiatedRenegotiation);
  }
  if (options.allowUnsafeRenegotiation !== undefined) {
    properties['sun.security.ssl.allowUnsafeRenegotiation'] = String(options.allowUnsafeRenegotiation);
  }
  if (options.allowLegacyHelloMessages !== undefined) {
    properties['sun.security.ssl.allowLegacyHelloMessages'] = String(options.allowLegacyHelloMessages);
  }
  const securityFile =
    options.securityPropertiesFile ??
    (options.legacyVersions === true ? join(classDir, LEGACY_SECURITY_FILE) : undefined);
  if (securityFile !== undefined) properties['java.security.properties'] = securityFile;
  Object.assign(properties, options.systemProperties);
  return Object.entries(properties).map(([name, value]) => `-D${name}=${value}`);
}

function serverArgs(options: JavaServerOptions, port: number): string[] {
  const protocols = options.protocols ?? (options.legacyVersions === true ? LEGACY_PROTOCOLS : undefined);
  const args = ['--port', String(port), '--cert', options.cert, '--key', options.key];
  if (options.ca !== undefined) args.push('--ca', options.ca);
  if (protocols !== undefined) args.push('--protocols', protocols.join(','));
  if (options.ciphers !== undefined) args.push('--ciphers', options.ciphers.join(','));
  if (options.clientAuth === 'need') args.push('--need-client-auth');
  if (options.clientAuth === 'want') args.push('--want-client-auth');
  return args;
}

export async function startJavaServer(options: JavaServerOptions): Promise<JavaServer> {
  const java = which('java');
  if (java === undefined) throw new Error('java not installed (apt-get install default-jdk-headless)');
  if (options.clientAuth !== undefined && options.clientAuth !== 'none' && options.ca === undefined) {
    throw new Error(`clientAuth '${options.clientAuth}' needs a ca file`);
  }
  const classDir = await compileJavaServer();
  const host = '127.0.0.1';
  return withFreePort(host, async (port) => {
    const peer = await spawnPeer({
      name: 'java RenegoServer',
      command: java,
      // Client compiler only and serial GC: the JVM starts noticeably faster for a short-lived server.
      args: [
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        ...systemProperties(options, classDir),
        '-cp',
        classDir,
        MAIN_CLASS,
        ...serverArgs(options, port),
      ],
      host,
      port,
      readyPattern: /^READY port=\d+/m,
      readyTimeoutMs: options.readyTimeoutMs ?? JAVA_READY_TIMEOUT_MS,
    });
    return {
      host,
      port,
      pid: peer.pid,
      stop: peer.stop,
      output: peer.output,
      waitForOutput: peer.waitForOutput,
      countHandshakes: (conn) => countMatches(peer.output(), new RegExp(`^HANDSHAKE conn=${conn ?? '\\d+'} `, 'm')),
    };
  });
}
