/**
 * Option values read with the syntaxes of src/syntax/, as commander's parsers, and the exit-code
 * footer of every --help. A bad value is reported by commander on one line, naming the option,
 * and the command exits with EXIT.usage.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ServerRenegotiationPolicy } from '../handshake/server-config.ts';
import { parseRateLimit, type Rate } from '../syntax/rate.ts';
import { parseWholeNumber, wholeNumberRange } from '../syntax/whole-number.ts';
import type { ScanCommandOptions, ScanIo } from '../tools/scan-options.ts';
import { EXIT } from '../tools/usage.ts';

/** Commander's parser for a whole number in [min, max] (src/syntax/whole-number.ts). */
export function wholeNumberArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = parseWholeNumber(value, min, max);
    if (n === undefined) throw new InvalidArgumentError(`want a whole number ${wholeNumberRange(min, max)}.`);
    return n;
  };
}

/** Commander's parser for a rate limit, COUNT/WINDOW or 0 for none (parseRateLimit, src/syntax/rate.ts). */
export function rateLimitArg(value: string): Rate {
  const rate = parseRateLimit(value);
  if (rate === undefined)
    throw new InvalidArgumentError(
      'want COUNT/WINDOW, the window in milliseconds or as a duration, e.g. 3/600000 or 3/10m.',
    );
  return rate;
}

/** The footer of a subcommand's --help: what each exit code means for it, then examples. */
export function helpFooter(codes: Partial<Record<keyof typeof EXIT, string>>, examples: readonly string[]): string {
  const lines = Object.entries(codes).map(([k, text]) => `  ${EXIT[k as keyof typeof EXIT]}  ${text}`);
  return `\nExit codes:\n${lines.join('\n')}\n\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`;
}

/**
 * The renegotiation policy a server runs with when no flag or preset changes it, one line per
 * switch, with the flag that changes it: `renego server --help` shows what a bare server does.
 */
export function serverPolicyHelp(p: ServerRenegotiationPolicy): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines = [
    ['renegotiation at all', yes(p.enabled), '--no-renegotiation'],
    ['RFC 5746 secure renegotiation', yes(p.rfc5746), '--no-rfc5746'],
    ['client-initiated accepted', yes(p.allowClientInitiated), '--client-renegotiation'],
    [
      'client-initiated limit',
      p.clientLimit.count === 0 ? 'none' : `${p.clientLimit.count}/${p.clientLimit.windowMs}`,
      '--client-reneg-limit',
    ],
    ['a refusal answers with', `${p.refuseWith}, fatal after ${p.maxRefusals}`, '--refuse-with'],
    ['legacy clients renegotiate', yes(p.allowUnsafeLegacy), '--legacy-renegotiation'],
    ['legacy clients refused', yes(p.requireSecureClients), '--strict'],
  ].map(([what, value, flag]) => `  ${`${what}:`.padEnd(31)}${value!.padEnd(23)}${flag}`);
  return `\nRenegotiation policy without flags or --preset:\n${lines.join('\n')}`;
}

/** How each target is probed: the options a local scan and a queued campaign share. */
export function probeOptions(command: Command): Command {
  return command
    .option('--starttls <protocol>', 'smtp, imap, pop3, ftp, xmpp, ldap or postgres, for every target')
    .option('--servername <name>', 'SNI and HTTP Host (default: the target host unless it is an IP address)')
    .option('-4, --ipv4', 'connect over IPv4 only')
    .option('-6, --ipv6', 'connect over IPv6 only')
    .option('--timeout <ms>', 'bound on every wait of every probe (default 5000)', wholeNumberArg(1))
    .option(
      '--max-renegotiations <n>',
      'client-initiated renegotiations tried in a row (default 10)',
      wholeNumberArg(1),
    )
    .option('--paths <paths>', 'HTTP paths to request for server-initiated renegotiation, comma-separated (default /)')
    .option('--no-http', 'not an HTTP service: skip the path and split-request checks')
    .option('--retries <n>', 'retries of a connection that fails before TLS starts (default 1)', wholeNumberArg(0))
    .option('--connections-per-target <n>', 'parallel connections to one target (default 6)', wholeNumberArg(1));
}

type ProbeFlags = Pick<
  ScanCommandOptions,
  | 'starttls'
  | 'servername'
  | 'ipv4'
  | 'ipv6'
  | 'timeout'
  | 'maxRenegotiations'
  | 'paths'
  | 'http'
  | 'retries'
  | 'connectionsPerTarget'
>;

/** The values of the flags `probeOptions` declares, as the scan tools take them. */
export function probeFlags(o: Record<string, unknown>): ProbeFlags {
  return {
    starttls: o.starttls as string | undefined,
    servername: o.servername as string | undefined,
    ipv4: o.ipv4 as boolean | undefined,
    ipv6: o.ipv6 as boolean | undefined,
    timeout: o.timeout as number | undefined,
    maxRenegotiations: o.maxRenegotiations as number | undefined,
    paths: (o.paths as string | undefined)?.split(',').map((p) => p.trim()),
    http: o.http as boolean | undefined,
    retries: o.retries as number | undefined,
    connectionsPerTarget: o.connectionsPerTarget as number | undefined,
  };
}

/** The process's streams and stdin, for the scan tools. */
export function processScanIo(): ScanIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
