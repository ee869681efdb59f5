#!/usr/bin/env node
/**
 * The `renego` command line: one subcommand per tool. Each tool is imported when
 * its command runs, so start-up pays only for the command used (the scanner runs
 * in many short processes; the throwaway PKI's X.509 library is heavy).
 */
import { Command, CommanderError, Option } from 'commander';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_LOG_LIMITS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION,
  DEFAULT_TIMEOUTS,
} from '../guard/defaults.ts';
import { DEFAULT_HELLO_MEMORY_BYTES } from '../guard/hello-budget.ts';
import { SAFE_SERVER_RENEGOTIATION, type ServerRenegotiationPolicy } from '../handshake/server-config.ts';
import { SERVER_PRESETS } from '../handshake/server-presets.ts';
import { DEFENCES } from '../lab/defences.ts';
import { STARTTLS_PROTOCOLS } from '../scan/starttls.ts';
import type { ClientRunOptions } from '../tools/client.ts';
import { EXIT, UsageError } from '../tools/usage.ts';
import { describeSystemError } from '../text/system-error.ts';
import { formatDuration } from '../syntax/duration.ts';
import {
  helpFooter,
  probeFlags,
  probeOptions,
  processScanIo,
  rateLimitArg,
  serverPolicyHelp,
  wholeNumberArg,
} from './options.ts';
import { addQueueCommands } from './scan-queue.ts';

/** The subcommand running, for the one-line error prefix. */
let running = 'renego';

const program = new Command();
program
  .name('renego')
  .description('TLS renegotiation made safe to run and easy to audit')
  .version('0.1.0')
  .option('--debug', 'print the stack of an error')
  // Every subcommand inherits these: usage errors exit with EXIT.usage, on one line.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`${running}: ${text.replace(/^error: /, '')}`) })
  .hook('preSubcommand', (_root, command) => {
    running = `renego ${command.name()}`;
  });

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
  .option('--renegotiate <n>', 'client-initiated renegotiations after the handshake', wholeNumberArg(0), 0)
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
  .option('--timeout <ms>', 'per-handshake and per-read timeout', wholeNumberArg(1), 10_000)
  .option('--trace', 'print every record and handshake message on stderr (like s_client -msg)')
  .option('--showcerts', "report the server's whole chain as PEM (like s_client -showcerts)")
  .option('--reconnect', "connect a second time offering the first connection's session (like s_client -reconnect)")
  .addOption(
    new Option('--starttls <protocol>', 'speak the protocol in clear first, then TLS').choices(STARTTLS_PROTOCOLS),
  )
  .option('--json', 'print one JSON object')
  .addHelpText(
    'after',
    [
      '',
      'Interactive (no --json, --request, --renegotiate, --showcerts or --reconnect):',
      '  as s_client, lines typed go to the server and its answers are printed;',
      '  a line R alone renegotiates, a line Q alone closes the connection and quits.',
    ].join('\n'),
  )
  .addHelpText(
    'after',
    helpFooter(
      {
        ok: 'the handshake (and every renegotiation asked for) completed',
        failed: 'the handshake failed, or a renegotiation did not complete',
        usage: 'bad option or argument',
      },
      [
        'renego client 127.0.0.1:4433 -k --renegotiate 2 --json',
        "renego client example.test:443 --request 'GET / HTTP/1.0\\r\\n\\r\\n'",
        'renego client 127.0.0.1:4433 --ca ca.pem --legacy --allow-legacy-server',
      ],
    ),
  )
  .action(async (target: string, o) => {
    const { clientTarget } = await import('../tools/target.ts');
    target = clientTarget(target);
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
      trace: o.trace ? (line: string) => process.stderr.write(`${line}\n`) : undefined,
      showCerts: o.showcerts,
      reconnect: o.reconnect,
      starttls: o.starttls,
    };
    const { formatReport, runClient, runInteractive } = await import('../tools/client.ts');
    if (!o.json && o.request === undefined && o.renegotiate === 0 && !o.showcerts && !o.reconnect) {
      process.exitCode = await runInteractive(opts, (l) => process.stderr.write(l + '\n'));
      return;
    }
    const report = await runClient(opts);
    process.stdout.write((o.json ? JSON.stringify(report) : formatReport(report)) + '\n');
    process.exitCode = report.exitCode;
  });

program
  .command('server')
  .description('a TLS server on the renego engine (like openssl s_server), with every renegotiation switch')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'port (0: any free port)', wholeNumberArg(0, 65535), 4433)
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
  .option(
    '--client-reneg-limit <n/window>',
    'client-initiated renegotiations per window, e.g. 3/600000 (ms) or 3/10m; 0: no limit',
    rateLimitArg,
  )
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
  .option('--handshake-timeout <ms>', 'drop clients whose handshake takes longer', wholeNumberArg(1), 10_000)
  .option('--json', 'log JSON lines')
  .addHelpText('after', serverPolicyHelp(SAFE_SERVER_RENEGOTIATION))
  .addHelpText(
    'after',
    helpFooter(
      { ok: 'stopped by SIGINT or SIGTERM', usage: 'bad option, unreadable certificate or key, port in use' },
      [
        'renego server --preset rfc5746 --www --client-cert renegotiate --protected-path /secure',
        'renego server --port 0 --no-renegotiation',
        'renego server --cert chain.pem --key key.pem --legacy-renegotiation --client-renegotiation',
      ],
    ),
  )
  .action(async (o) => {
    const renegotiation: Partial<ServerRenegotiationPolicy> = {};
    if (o.renegotiation === false) renegotiation.enabled = false;
    if (o.clientRenegotiation !== undefined) renegotiation.allowClientInitiated = o.clientRenegotiation;
    if (o.legacyRenegotiation) renegotiation.allowUnsafeLegacy = true;
    if (o.rfc5746 === false) renegotiation.rfc5746 = false;
    if (o.strict) renegotiation.requireSecureClients = true;
    if (o.refuseWith) renegotiation.refuseWith = o.refuseWith;
    if (o.clientRenegLimit) renegotiation.clientLimit = o.clientRenegLimit;
    const { runServer } = await import('../tools/server.ts');
    await runServer({
      host: o.host,
      port: o.port,
      cert: o.cert,
      key: o.key,
      keyType: o.keyType,
      preset: o.preset,
      renegotiation,
      clientCert: o.clientCert,
      requireClientCert: o.requireClientCert,
      clientCa: o.clientCa,
      protectedPath: o.protectedPath,
      www: o.www,
      minVersion: o.minVersion,
      maxVersion: o.maxVersion,
      ciphers: o.ciphers,
      alpn: o.alpn,
      handshakeTimeoutMs: o.handshakeTimeout,
      json: o.json,
    });
  });

program
  .command('lab')
  .description('reproduce CVE-2009-3555 against each defence on 127.0.0.1 and print the matrix (npm start)')
  .option('--scenario <id>', 'one scenario: client-certificate, cookie-injection, redirect')
  .option(
    '--defence <id>',
    `one defence (with --scenario: a record-by-record transcript): ${DEFENCES.map((d) => d.id).join(', ')}`,
  )
  .option('--json', 'one JSON object per cell')
  .option('--html <file>', 'write a self-contained report with a ladder diagram per scenario')
  .addHelpText(
    'after',
    helpFooter(
      { ok: 'the matrix ran', failed: 'no cell ran', usage: 'unknown scenario or defence, unwritable --html' },
      ['renego lab', 'renego lab --scenario client-certificate --defence server-rfc5746', 'renego lab --html lab.html'],
    ),
  )
  .action(async (o) => {
    const { runLabTool } = await import('../tools/lab.ts');
    const cells = await runLabTool({ scenario: o.scenario, defence: o.defence, json: o.json, html: o.html });
    process.exitCode = cells.length > 0 ? 0 : 1;
  });

const guard = program
  .command('guard')
  .description('a TCP proxy that enforces a renegotiation policy on TLS passing through it (no keys, no termination)')
  .option('--config <file>', 'YAML file with listeners, metrics and logging (see docs/guard.md)')
  .option('--listen <address>', 'HOST:PORT or [IPv6]:PORT to accept connections on')
  .option('--upstream <address>', 'HOST:PORT or [IPv6]:PORT of the TLS server behind the guard')
  .option('--name <name>', 'listener name in logs and metrics')
  .option(
    '--policy <mode>',
    'allow, deny, deny-client-initiated, deny-server-initiated, secure-only or require-rfc5746 (required)',
  )
  .option(
    '--max-renegotiations <n>',
    `renegotiations let through per connection, 0: no limit (default: ${DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION})`,
  )
  .option('--rate-limit <count/window>', 'renegotiations per client address per window, e.g. 10/60s (default: none)')
  .option('--allow-non-tls', 'pass non-TLS traffic through instead of closing it')
  .option('--proxy-protocol <v>', 'send a PROXY protocol header to the upstream: v1 or v2 (default: none)')
  .option('--max-connections <n>', `open connections per listener (default: ${DEFAULT_MAX_CONNECTIONS})`)
  .option(
    '--handshake-timeout <duration>',
    `close connections whose initial handshake takes longer (default: ${formatDuration(DEFAULT_TIMEOUTS.handshakeMs)})`,
  )
  .option(
    '--idle-timeout <duration>',
    `close connections idle this long (default: ${formatDuration(DEFAULT_TIMEOUTS.idleMs)})`,
  )
  .option(
    '--connect-timeout <duration>',
    `bound on the TCP connect to the upstream (default: ${formatDuration(DEFAULT_TIMEOUTS.connectMs)})`,
  )
  .option('--metrics <address>', 'serve Prometheus metrics on http://ADDRESS/metrics')
  .option('--log-level <level>', `trace, debug, info, warn, error, fatal or silent (default: ${DEFAULT_LOG_LEVEL})`)
  .option(
    '--log-rate <count/window>',
    `lines about connections per window, the rest counted (default: ${DEFAULT_LOG_LIMITS.connectionLines.count}/${formatDuration(DEFAULT_LOG_LIMITS.connectionLines.windowMs)})`,
  )
  .option(
    '--drain-timeout <duration>',
    `on SIGTERM, wait this long for connections to end (default: ${formatDuration(DEFAULT_DRAIN_TIMEOUT_MS)})`,
  )
  .option(
    '--hello-memory <size>',
    `bytes all connections may hold back while collecting hellos (default: ${DEFAULT_HELLO_MEMORY_BYTES / 1024 / 1024}MiB)`,
  )
  .option(
    '--transparent',
    'no --upstream: each connection goes to its original destination (after renego guard transparent install)',
  )
  .option('--policy-file <file>', 'with --transparent: per-destination policies (YAML/JSON, see docs/guard.md)')
  .option('--gid <n>', 'switch to this group once listening (the transparent ruleset lets its connections through)')
  .addHelpText(
    'after',
    helpFooter({ ok: 'stopped by SIGINT or SIGTERM (after draining)', usage: 'invalid configuration or flags' }, [
      'renego guard --listen 127.0.0.1:8443 --upstream 127.0.0.1:443 --policy deny',
      'renego guard --config guard.yaml --metrics 127.0.0.1:9464',
      'renego guard --transparent --listen [::]:15001 --gid 15001 --policy deny --policy-file destinations.yaml',
    ]),
  )
  .action(async (o) => {
    const { runGuard } = await import('../tools/guard.ts');
    await runGuard(o);
  });

const transparent = guard
  .command('transparent')
  .description("install or remove the nftables ruleset that sends this host's TLS connections through the guard");

transparent
  .command('install')
  .description(
    'intercept TCP ports, inbound and/or outbound, in the nftables table inet renego_guard (replaced if present)',
  )
  .option('--ports <list>', 'destination ports, comma-separated, e.g. 443,465,636,993,995,8443')
  .option('--direction <d>', 'inbound (to this host), outbound (from its programs) or both', 'both')
  .option('--guard-port <n>', 'the port the transparent guard listens on ([::]:PORT)', '15001')
  .option('--gid <n>', 'the group the guard runs as (renego guard --gid): its own connections are not intercepted')
  .option('--fail-open', 'when no guard runs, connections bypass it (default: they are refused)')
  .option('--dry-run', 'print the ruleset, change nothing')
  .addHelpText(
    'after',
    helpFooter({ ok: 'installed (or printed)', usage: 'bad option, nft missing or refused the ruleset' }, [
      'renego guard transparent install --ports 443,8443 --direction both --gid 15001 --dry-run',
      'renego guard transparent install --ports 443 --direction inbound --fail-open',
      'renego guard transparent install --ports 443,993 --direction outbound --gid 15001 --guard-port 15001',
    ]),
  )
  .action(async (_o, command: Command) => {
    const { installInterception } = await import('../tools/guard-transparent.ts');
    // `guard` has a --gid of its own, which commander gives the parent wherever it stands.
    process.stdout.write(await installInterception(command.optsWithGlobals()));
  });

transparent
  .command('uninstall')
  .description('delete the nftables table inet renego_guard, and nothing else')
  .addHelpText(
    'after',
    helpFooter({ ok: 'removed, or nothing was installed', usage: 'nft missing or refused' }, [
      'renego guard transparent uninstall',
    ]),
  )
  .action(async () => {
    const { uninstallInterception } = await import('../tools/guard-transparent.ts');
    process.stdout.write(await uninstallInterception());
  });

const scan = probeOptions(
  program
    .command('scan')
    .description('measure renegotiation on servers: do I need to switch it off, and what will break?')
    .argument(
      '[targets...]',
      'HOST[:PORT], [IPv6]:PORT, or SCHEME://HOST[:PORT] (https, smtp, imap, pop3, ftp, xmpp, ldap, postgres)',
    )
    .option('--targets-file <file>', 'one target per line (- for stdin; # comments)')
    .option(
      '--quick',
      'RFC 5746 (extension and SCSV), one secure and one insecure client renegotiation, TLS 1.3 only: no run, paths or split',
    )
    .option('--json', 'one JSON object per target (JSON Lines), schema in docs/scan.md')
    .option('--html <file>', 'also write a self-contained HTML report (as --html-file)')
    .option('--html-file <file>', 'write a self-contained HTML report to FILE, beside the output on stdout')
    .option('--json-file <file>', 'write JSON Lines to FILE, beside the output on stdout')
    .option('-q, --quiet', 'findings only: no progress bar, no summary, nothing for a clean target')
    .option('--no-color', 'no colours (also when NO_COLOR is set, or stdout is not a terminal)')
    .option(
      '--fail-on <severity>',
      'exit 1 when a finding reaches: high (CVE-2009-3555), medium (also CVE-2011-1473 without limit, triple handshake; the default) or any (also renegotiation limited)',
    )
    .option('--concurrency <n>', 'targets scanned at once (default 32)', wholeNumberArg(1))
    .option('--shard <K/N>', 'scan only the K-th of N slices of the target list'),
)
  .option('--rate <n>', 'at most n new connections per second over the whole run', wholeNumberArg(1))
  .option('--no-progress', 'no progress bar even on a terminal')
  .addHelpText(
    'after',
    [
      '',
      'Severities (--fail-on, --quiet):',
      '  high    CVE-2009-3555: insecure renegotiation (plaintext injection)',
      '  medium  CVE-2011-1473 with no limit met; triple handshake (no EMS)',
      '  low     CVE-2011-1473 limited: client renegotiation accepted, then stopped',
    ].join('\n'),
  )
  .addHelpText(
    'after',
    helpFooter(
      {
        ok: 'every target scanned, nothing vulnerable',
        failed: 'a finding at or above --fail-on (default medium) on at least one target',
        usage: 'bad option or argument, or a target could not be scanned (see its reachability) and no finding',
      },
      [
        'renego scan example.test:443',
        'renego scan --quick --targets-file hosts.txt --json > report.jsonl',
        'renego scan smtp://mail.example.test --quiet --fail-on high --html-file report.html',
      ],
    ),
  )
  .action(async (targets: string[], o) => {
    const { runScanCommand } = await import('../tools/scan.ts');
    process.exitCode = await runScanCommand(
      {
        targets,
        targetsFile: o.targetsFile,
        quick: o.quick,
        json: o.json,
        html: o.htmlFile ?? o.html,
        htmlOption: o.htmlFile !== undefined ? '--html-file' : '--html',
        jsonFile: o.jsonFile,
        quiet: o.quiet,
        color: o.color,
        failOn: o.failOn,
        concurrency: o.concurrency,
        shard: o.shard,
        ...probeFlags(o),
        rate: o.rate,
        ...(o.progress === false ? { progress: false } : {}),
      },
      processScanIo(),
    );
  });

addQueueCommands(scan);

program
  .command('audit')
  .description(
    'judge renegotiation settings from configuration: SChannel registry, netsh sslcert, IIS, OpenSSL, GnuTLS, Java, Apache, nginx, HAProxy, stunnel, Node',
  )
  .argument(
    '<files...>',
    'configuration files (kind recognised from the content; includes followed; see docs/audit.md)',
  )
  .option(
    '--kind <kind>',
    'schannel-reg, netsh-sslcert, iis-config, openssl-conf, gnutls-priority, java-properties, apache-conf, nginx-conf, haproxy-conf, stunnel-conf or node-source',
  )
  .option('--openssl-version <v>', 'OpenSSL whose defaults apply to absent options: 3 (default) or 1.1.1')
  .option('--scan <targets...>', 'also scan these HOST:PORT servers and put measured beside configured')
  .option('--servername <name>', 'SNI and certificate name for --scan (default: the host)')
  .option('--timeout <ms>', 'per-wait timeout of --scan', wholeNumberArg(100))
  .option('--json', 'one JSON object per configured stack (JSON Lines), schema in docs/audit.md')
  .option('--html <file>', 'also write a self-contained HTML report')
  .addHelpText(
    'after',
    helpFooter(
      {
        ok: 'nothing vulnerable and nothing broken',
        failed:
          'a setting leaves renegotiation insecure, breaks something the inputs show in use, or (--scan) is not in effect',
        usage: 'bad option, unreadable or unrecognised file (too large, binary, truncated)',
      },
      [
        'renego audit schannel.reg sslcert.txt applicationHost.config',
        'renego audit /etc/ssl/openssl.cnf --openssl-version 1.1.1 --json',
        'renego audit /etc/nginx/nginx.conf --scan 127.0.0.1:443',
      ],
    ),
  )
  .action(async (files: string[], o) => {
    const { runAuditCommand } = await import('../tools/audit.ts');
    process.exitCode = await runAuditCommand(
      {
        files,
        kind: o.kind,
        json: o.json,
        html: o.html,
        opensslVersion: o.opensslVersion,
        scan: o.scan,
        servername: o.servername,
        timeout: o.timeout,
      },
      { stdout: process.stdout },
    );
  });

/** One line on stderr, the stack only with --debug; returns the exit code. */
function report(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
  const debug = program.opts<{ debug?: boolean }>().debug === true || process.argv.includes('--debug');
  const error = e instanceof Error ? e : new Error(String(e));
  // The guard's configuration and set-up errors are the operator's to fix, like a bad flag.
  const usage = error instanceof UsageError || error.name === 'GuardConfigError' || error.name === 'GuardSetupError';
  const system = (error as NodeJS.ErrnoException).code !== undefined;
  const text = usage ? error.message : system ? describeSystemError(error) : `internal error: ${error.message}`;
  process.stderr.write(`${running}: ${text}\n`);
  if (debug) process.stderr.write(`${error.stack ?? ''}\n`);
  else if (!usage && !system) process.stderr.write(`${running}: run again with --debug for the stack, and report it\n`);
  return usage || system ? EXIT.usage : EXIT.internal;
}

try {
  await program.parseAsync();
} catch (e) {
  process.exitCode = report(e);
}
