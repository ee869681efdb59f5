#!/usr/bin/env node
/**
 * The `renego` command line: one subcommand per tool. Each tool is imported when
 * its command runs, so start-up pays only for the command used (the scanner runs
 * in many short processes; the throwaway PKI's X.509 library is heavy).
 */
import { Command, Option } from 'commander';
import { SERVER_PRESETS } from '../handshake/server-presets.ts';
import type { ClientRunOptions } from '../tools/client.ts';

const program = new Command();
program.name('renego').description('TLS renegotiation made safe to run and easy to audit').version('0.1.0');

program
  .command('client')
  .description('connect with the renego TLS engine (like openssl s_client)')
  .argument('<target>', 'HOST:PORT or [IPv6]:PORT')
  .option('--servername <name>', 'SNI and certificate name (default: the host)')
  .option('--min-version <v>', 'tls1, tls1.1 or tls1.2', 'tls1')
  .option('--max-version <v>', 'tls1, tls1.1 or tls1.2', 'tls1.2')
  .option('--ciphers <list>', 'cipher suites, IANA or OpenSSL names, colon-separated')
  .option('--ca <file>', 'trust these CA certificates instead of the system roots')
  .option('-k, --insecure', 'do not verify the server certificate (auditing self-signed servers)')
  .option('--cert <file>', 'client certificate chain (PEM)')
  .option('--key <file>', 'client private key (PEM)')
  .option('--renegotiate <n>', 'client-initiated renegotiations after the handshake', (v) => Number(v), 0)
  .option('--legacy', 'DANGER: signal no RFC 5746 at all, like a 2009 client (lab and scanning only)')
  .option('--scsv-only', 'signal RFC 5746 with TLS_EMPTY_RENEGOTIATION_INFO_SCSV instead of the extension')
  .option('--allow-legacy-server', 'complete handshakes with servers without RFC 5746 (no renegotiation with them)')
  .addOption(
    new Option('--accept-renegotiation <mode>', "answer to the server's HelloRequest").choices([
      'never',
      'once',
      'freely',
    ]),
  )
  .option('--request <text>', 'send this after each handshake and print the reply (\\r\\n escapes allowed)')
  .option('--alpn <protocols>', 'ALPN protocols, comma-separated')
  .option('--timeout <ms>', 'per-handshake and per-read timeout', (v) => Number(v), 10_000)
  .option('--json', 'print one JSON object')
  .action(async (target: string, o) => {
    const opts: ClientRunOptions = {
      target,
      serverName: o.servername,
      minVersion: o.minVersion,
      maxVersion: o.maxVersion,
      ciphers: o.ciphers,
      caFile: o.ca,
      insecure: o.insecure,
      certFile: o.cert,
      keyFile: o.key,
      renegotiate: o.renegotiate,
      legacy: o.legacy,
      scsvOnly: o.scsvOnly,
      allowLegacyServer: o.allowLegacyServer,
      acceptRenegotiation: o.acceptRenegotiation,
      request: o.request,
      alpn: o.alpn?.split(','),
      timeoutMs: o.timeout,
    };
    const { formatReport, runClient, runInteractive } = await import('../tools/client.ts');
    if (!o.json && o.request === undefined && o.renegotiate === 0) {
      process.exitCode = await runInteractive(opts, (l) => process.stderr.write(l + '\n'));
      return;
    }
    const report = await runClient(opts);
    process.stdout.write((o.json ? JSON.stringify(report) : formatReport(report)) + '\n');
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('server')
  .description('a TLS server on the renego engine (like openssl s_server), with every renegotiation switch')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'port (0: any free port)', (v) => Number(v), 4433)
  .option('--cert <file>', 'certificate chain (PEM); without it a throwaway CA and certificate are generated')
  .option('--key <file>', 'private key (PEM)')
  .addOption(new Option('--key-type <type>', 'throwaway key type').choices(['rsa', 'ecdsa']).default('rsa'))
  .addOption(new Option('--preset <name>', 'a named real-world configuration').choices(Object.keys(SERVER_PRESETS)))
  .option('--no-renegotiation', 'refuse every renegotiation and never send HelloRequest (DisableRenegoOnServer)')
  .option('--client-renegotiation', 'accept client-initiated renegotiation')
  .option('--no-client-renegotiation', 'refuse client-initiated renegotiation (OpenSSL 3 default)')
  .option('--legacy-renegotiation', 'DANGER: renegotiate with clients without RFC 5746 (AllowInsecureRenegoClients)')
  .option('--no-rfc5746', 'DANGER: ignore RFC 5746 entirely, like an unpatched 2009 server')
  .option('--strict', 'refuse clients that do not signal RFC 5746, even for the initial handshake')
  .addOption(
    new Option('--refuse-with <how>', 'answer to a refused renegotiation').choices(['warning', 'fatal', 'ignore']),
  )
  .option('--client-reneg-limit <n/ms>', 'client-initiated renegotiations per window, e.g. 3/600000 (0 = unlimited)')
  .addOption(
    new Option('--client-cert <when>', 'ask for a client certificate').choices(['none', 'initial', 'renegotiate']),
  )
  .option('--require-client-cert', 'refuse a handshake in which the client sends no certificate when asked')
  .option('--client-ca <file>', 'CA certificates for client certificates (default: the throwaway CA)')
  .option(
    '--protected-path <prefix>',
    'with --www: paths that need a client certificate (renegotiated for, as IIS did)',
  )
  .option('--www', 'answer HTTP: request line, renegotiations on the connection, client certificate')
  .option('--min-version <v>', 'tls1, tls1.1 or tls1.2', 'tls1')
  .option('--max-version <v>', 'tls1, tls1.1 or tls1.2', 'tls1.2')
  .option('--ciphers <list>', 'cipher suites in preference order, IANA or OpenSSL names')
  .option('--alpn <protocols>', 'ALPN protocols in preference order, comma-separated')
  .option('--handshake-timeout <ms>', 'drop clients whose handshake takes longer', (v) => Number(v), 10_000)
  .option('--json', 'log JSON lines')
  .action(async (o) => {
    const renegotiation: Record<string, unknown> = {};
    if (o.renegotiation === false) renegotiation.enabled = false;
    if (o.clientRenegotiation !== undefined) renegotiation.allowClientInitiated = o.clientRenegotiation;
    if (o.legacyRenegotiation) renegotiation.allowUnsafeLegacy = true;
    if (o.rfc5746 === false) renegotiation.rfc5746 = false;
    if (o.strict) renegotiation.requireSecureClients = true;
    if (o.refuseWith) renegotiation.refuseWith = o.refuseWith;
    if (o.clientRenegLimit) {
      const [count, windowMs] = String(o.clientRenegLimit).split('/').map(Number);
      renegotiation.clientLimit = { count: count ?? 0, windowMs: windowMs ?? 600_000 };
    }
    const { startServer } = await import('../tools/server.ts');
    const running = await startServer({
      host: o.host,
      port: o.port,
      certFile: o.cert,
      keyFile: o.key,
      keyType: o.keyType,
      preset: o.preset,
      renegotiation,
      clientCert: o.clientCert,
      requireClientCert: o.requireClientCert,
      clientCaFile: o.clientCa,
      protectedPath: o.protectedPath,
      www: o.www,
      minVersion: o.minVersion,
      maxVersion: o.maxVersion,
      ciphers: o.ciphers,
      alpn: o.alpn?.split(','),
      handshakeTimeoutMs: o.handshakeTimeout,
      json: o.json,
    });
    const stop = (): void => void running.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('lab')
  .description('reproduce CVE-2009-3555 against each defence on 127.0.0.1 and print the matrix (npm start)')
  .option('--scenario <id>', 'one scenario: client-certificate, cookie-injection, redirect')
  .option('--defence <id>', 'one defence (with --scenario: a record-by-record transcript)')
  .option('--json', 'one JSON object per cell')
  .option('--html <file>', 'write a self-contained report with a ladder diagram per scenario')
  .action(async (o) => {
    const { runLabTool } = await import('../tools/lab.ts');
    const cells = await runLabTool({ scenario: o.scenario, defence: o.defence, json: o.json, html: o.html });
    process.exitCode = cells.length > 0 ? 0 : 1;
  });

program
  .command('guard')
  .description('a TCP proxy that enforces a renegotiation policy on TLS passing through it (no keys, no termination)')
  .option('--config <file>', 'YAML file with listeners, metrics and logging (see docs/guard.md)')
  .option('--listen <address>', 'HOST:PORT or [IPv6]:PORT to accept connections on')
  .option('--upstream <address>', 'HOST:PORT or [IPv6]:PORT of the TLS server behind the guard')
  .option('--name <name>', 'listener name in logs and metrics')
  .option(
    '--policy <mode>',
    'allow, deny, deny-client-initiated, deny-server-initiated, secure-only or require-rfc5746',
  )
  .option('--max-renegotiations <n>', 'renegotiations let through per connection (0: no limit)')
  .option('--rate-limit <count/window>', 'renegotiations per client address per window, e.g. 10/60s')
  .option('--allow-non-tls', 'pass non-TLS traffic through instead of closing it')
  .option('--proxy-protocol <v>', 'send a PROXY protocol header to the upstream: v1 or v2')
  .option('--max-connections <n>', 'open connections per listener')
  .option('--handshake-timeout <duration>', 'close connections whose initial handshake takes longer, e.g. 10s')
  .option('--idle-timeout <duration>', 'close connections idle this long, e.g. 5m')
  .option('--connect-timeout <duration>', 'bound on the TCP connect to the upstream')
  .option('--metrics <address>', 'serve Prometheus metrics on http://ADDRESS/metrics')
  .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent')
  .option('--drain-timeout <duration>', 'on SIGTERM, wait this long for connections to end')
  .action(async (o) => {
    const { runGuard } = await import('../tools/guard.ts');
    const { GuardConfigError } = await import('../guard/config.ts');
    try {
      await runGuard(o);
    } catch (e) {
      process.stderr.write(`renego guard: ${(e as Error).message}\n`);
      process.exitCode = e instanceof GuardConfigError ? 2 : 1;
    }
  });

program
  .command('scan')
  .description('measure renegotiation on servers: do I need to switch it off, and what will break?')
  .argument(
    '[targets...]',
    'HOST[:PORT], [IPv6]:PORT, or SCHEME://HOST[:PORT] (https, smtp, imap, pop3, ftp, xmpp, ldap, postgres)',
  )
  .option('--targets-file <file>', 'one target per line (- for stdin; # comments)')
  .option('--json', 'one JSON object per target (JSON Lines), schema in docs/scan.md')
  .option('--html <file>', 'also write a self-contained HTML report')
  .option('--concurrency <n>', 'targets scanned at once (default 32)', (v) => Number(v))
  .option('--shard <K/N>', 'scan only the K-th of N slices of the target list')
  .option('--starttls <protocol>', 'smtp, imap, pop3, ftp, xmpp, ldap or postgres, for every target')
  .option('--servername <name>', 'SNI and HTTP Host (default: the target host unless it is an IP address)')
  .option('-4, --ipv4', 'connect over IPv4 only')
  .option('-6, --ipv6', 'connect over IPv6 only')
  .option('--timeout <ms>', 'bound on every wait of every probe (default 5000)', (v) => Number(v))
  .option('--max-renegotiations <n>', 'client-initiated renegotiations tried in a row (default 10)', (v) => Number(v))
  .option('--paths <paths>', 'HTTP paths to request for server-initiated renegotiation, comma-separated (default /)')
  .option('--no-http', 'not an HTTP service: skip the path and split-request checks')
  .option('--retries <n>', 'retries of a connection that fails before TLS starts (default 1)', (v) => Number(v))
  .option('--rate <n>', 'at most n new connections per second over the whole run', (v) => Number(v))
  .option('--connections-per-target <n>', 'parallel connections to one target (default 6)', (v) => Number(v))
  .option('--no-progress', 'no progress bar even on a terminal')
  .action(async (targets: string[], o) => {
    const { runScanCommand } = await import('../tools/scan.ts');
    process.exitCode = await runScanCommand(
      {
        targets,
        targetsFile: o.targetsFile,
        json: o.json,
        html: o.html,
        concurrency: o.concurrency,
        shard: o.shard,
        starttls: o.starttls,
        servername: o.servername,
        ipv4: o.ipv4,
        ipv6: o.ipv6,
        timeout: o.timeout,
        maxRenegotiations: o.maxRenegotiations,
        paths: o.paths?.split(',').map((p: string) => p.trim()),
        http: o.http,
        retries: o.retries,
        rate: o.rate,
        connectionsPerTarget: o.connectionsPerTarget,
        ...(o.progress === false ? { progress: false } : {}),
      },
      {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        readStdin: async () => {
          const chunks: Buffer[] = [];
          for await (const c of process.stdin) chunks.push(c as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        },
      },
    );
  });

await program.parseAsync();
