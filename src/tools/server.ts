/**
 * `renego server`: the engine's s_server. Echo mode by default; `--www` answers HTTP with the
 * request line, the connection's renegotiation count and the client certificate, renegotiating
 * for a certificate on protected paths as IIS did. One log line per handshake and renegotiation.
 *
 * This file maps the flags to the server's options (files read, names looked up), starts it
 * (src/server/start.ts), prints its log on stdout, and wires s_server's console on stdin,
 * SIGUSR1 and the stopping signals.
 */
import { createInterface } from 'node:readline';
import { suiteByName } from '../crypto/suites.ts';
import type { ServerRenegotiationPolicy } from '../handshake/server-config.ts';
import { SERVER_PRESETS, isPresetName, type ServerPresetName } from '../handshake/server-presets.ts';
import { loadCertificate, type ServerCertificate } from '../pki/credentials.ts';
import type { KeyType } from '../pki/throwaway.ts';
import { trustStoreFromPem } from '../pki/verify.ts';
import { consoleCommand } from '../server/console.ts';
import { ServerListenError, startServer, type RunningServer, type StartServerOptions } from '../server/start.ts';
import { ProtocolVersion } from '../wire/enums.ts';
import { isTlsError } from '../wire/errors.ts';
import { versionFromName } from './versions.ts';
import { unusableCertificate, userPrivateKey } from './cert-files.ts';
import { UsageError, readUserFile } from './usage.ts';

/** The flags of `renego server`, as the command line gives them. */
export interface ServerFlags {
  host: string;
  port: number;
  cert?: string;
  key?: string;
  keyType?: KeyType;
  preset?: string;
  renegotiation?: Partial<ServerRenegotiationPolicy>;
  clientCert?: 'none' | 'initial' | 'renegotiate';
  requireClientCert?: boolean;
  clientCa?: string;
  protectedPath?: string;
  www?: boolean;
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
  alpn?: string;
  handshakeTimeoutMs?: number;
  json?: boolean;
}

/** The flags as the server's options: files read, names looked up, each failure a UsageError naming its flag. */
export function serverOptions(flags: ServerFlags): StartServerOptions {
  return {
    host: flags.host,
    port: flags.port,
    ...(flags.cert === undefined ? {} : { certificate: userCertificate(flags.cert, flags.key) }),
    keyType: flags.keyType,
    preset: flags.preset === undefined ? undefined : presetName(flags.preset),
    renegotiation: flags.renegotiation,
    clientCert: flags.clientCert,
    requireClientCert: flags.requireClientCert,
    clientTrust:
      flags.clientCa === undefined ? undefined : trustStoreFromPem(readUserFile('--client-ca', flags.clientCa)),
    www: flags.www,
    protectedPath: flags.protectedPath,
    minVersion: versionFromName(flags.minVersion, ProtocolVersion.TLSv1),
    maxVersion: versionFromName(flags.maxVersion, ProtocolVersion['TLSv1.2']),
    cipherSuites: flags.ciphers?.split(/[:,]/).map((n) => {
      const s = suiteByName(n.trim());
      if (!s)
        throw new UsageError(
          `unknown or unavailable cipher suite ${n} (IANA or OpenSSL names, e.g. ECDHE-RSA-AES128-GCM-SHA256)`,
        );
      return s;
    }),
    alpn: flags.alpn?.split(','),
    handshakeTimeoutMs: flags.handshakeTimeoutMs,
    json: flags.json,
    log: (line) => process.stdout.write(line + '\n'),
  };
}

/**
 * The CLI entry: starts the server, stops it on SIGINT or SIGTERM (a second signal exits at once),
 * and answers the console on stdin (`r`, `R`, `q`) and SIGUSR1 with a HelloRequest to every connection.
 */
export async function runServer(flags: ServerFlags): Promise<void> {
  const options = serverOptions(flags);
  // Handlers first: a signal during start-up must not kill the process before its throwaway
  // keys can be removed (the 'exit' hook does not run on death by signal).
  const state: { server?: RunningServer; stopping?: true } = {};
  // A second signal (a second Ctrl-C, or a supervisor that signals the group and the process)
  // exits at once instead of killing the process: process.exit still runs the hook that
  // removes the throwaway keys, which death by a signal's default action would not.
  const stop = (): void => {
    if (state.stopping) process.exit(0);
    state.stopping = true;
    void state.server?.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const server = await startServer(options).catch((e: unknown) => {
    if (!(e instanceof ServerListenError)) throw e;
    const hint = e.code === 'EADDRINUSE' ? ' (choose another --port, or 0 for any free port)' : '';
    throw new UsageError(`${e.message}${hint}`);
  });
  state.server = server;
  if (state.stopping) return stop();
  process.on('SIGUSR1', () => void server.renegotiateAll({ requestCert: false }));
  createInterface({ input: process.stdin }).on('line', (line) => {
    const command = consoleCommand(line);
    if (command === 'quit') stop();
    else if (command !== undefined) void server.renegotiateAll({ requestCert: command === 'renegotiate-cert' });
  });
}

/** --cert and --key (the key defaults to the --cert file), or a UsageError saying why they cannot be used. */
function userCertificate(certFile: string, keyFile: string | undefined): ServerCertificate {
  const certPem = readUserFile('--cert', certFile);
  const keyPem = keyFile === undefined ? certPem : readUserFile('--key', keyFile);
  try {
    return loadCertificate(certPem, keyPem);
  } catch (e) {
    // Not the engine's own refusal: the key may not decode, which userPrivateKey says in the user's terms.
    if (!isTlsError(e)) userPrivateKey(keyFile === undefined ? '--cert' : '--key', keyFile ?? certFile, keyPem);
    throw unusableCertificate(e);
  }
}

function presetName(name: string): ServerPresetName {
  if (!isPresetName(name))
    throw new UsageError(`unknown preset ${name}; known: ${Object.keys(SERVER_PRESETS).join(', ')}`);
  return name;
}
