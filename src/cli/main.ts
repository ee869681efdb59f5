#!/usr/bin/env node
/** The `renego` command line: one subcommand per tool. */
import { Command, Option } from 'commander';
import { formatReport, runClient, runInteractive, type ClientRunOptions } from '../tools/client.ts';
import { runDemo } from '../tools/demo.ts';

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
  .command('demo')
  .description('run the renego client against a local node:tls server: handshake and both kinds of renegotiation')
  .action(async () => {
    const steps = await runDemo();
    process.exitCode = steps.every((s) => s.ok) ? 0 : 1;
  });

await program.parseAsync();
