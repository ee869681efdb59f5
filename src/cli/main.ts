#!/usr/bin/env node
/** The `renego` command line: one subcommand per tool. */
import { Command, Option } from 'commander';
import { formatReport, runClient, runInteractive, type ClientRunOptions } from '../tools/client.ts';
import { runDemo } from '../tools/demo.ts';
import { SERVER_PRESETS } from '../handshake/server-presets.ts';
import { startServer } from '../tools/server.ts';

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
  .addOption(new Option('--accept-renegotiation <mode>', "answer to the server's HelloRequest").choices(['never', 'once', 'freely']))
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
  .addOption(new Option('--refuse-with <how>', 'answer to a refused renegotiation').choices(['warning', 'fatal']))
  .option('--client-reneg-limit <n/ms>', 'client-initiated renegotiations per window, e.g. 3/600000 (0 = unlimited)')
  .addOption(new Option('--client-cert <when>', 'ask for a client certificate').choices(['none', 'initial', 'renegotiate']))
  .option('--require-client-cert', 'refuse a handshake in which the client sends no certificate when asked')
  .option('--client-ca <file>', 'CA certificates for client certificates (default: the throwaway CA)')
  .option('--protected-path <prefix>', 'with --www: paths that need a client certificate (renegotiated for, as IIS did)')
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
  .command('demo')
  .description('run the renego client against a local node:tls server: handshake and both kinds of renegotiation')
  .action(async () => {
    const steps = await runDemo();
    process.exitCode = steps.every((s) => s.ok) ? 0 : 1;
  });

await program.parseAsync();
