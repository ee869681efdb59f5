/**
 * Parsers for option values and the exit-code footer of every --help. A bad value is reported by
 * commander on one line, naming the option, and the command exits with EXIT.usage.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ServerRenegotiationPolicy } from '../handshake/server-config.ts';
import { parseRate, type Rate } from '../syntax/rate.ts';
import { EXIT } from '../tools/usage.ts';

/** A whole number in [min, max]: "abc", "1.5", "-3" (with min 0) and "" are refused. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`want a whole number ${range}.`);
    }
    return n;
  };
}

/**
 * COUNT/WINDOW (src/syntax/rate.ts), e.g. 3/600000 or 3/10m: at most COUNT in any WINDOW, in
 * milliseconds or as a duration (COUNT 0: no limit).
 */
export function countPerWindow(value: string): Rate {
  // A count of 0 is no limit, whatever the window; "0" alone says so as the help does.
  if (value.trim() === '0') return { count: 0, windowMs: 0 };
  const rate = parseRate(value.trim(), 0);
  if (!rate.ok)
    throw new InvalidArgumentError(
      'want COUNT/WINDOW, the window in milliseconds or as a duration, e.g. 3/600000 or 3/10m.',
    );
  return rate.rate;
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
    .option('--timeout <ms>', 'bound on every wait of every probe (default 5000)', integer(1))
    .option('--max-renegotiations <n>', 'client-initiated renegotiations tried in a row (default 10)', integer(1))
    .option('--paths <paths>', 'HTTP paths to request for server-initiated renegotiation, comma-separated (default /)')
    .option('--no-http', 'not an HTTP service: skip the path and split-request checks')
    .option('--retries <n>', 'retries of a connection that fails before TLS starts (default 1)', integer(0))
    .option('--connections-per-target <n>', 'parallel connections to one target (default 6)', integer(1));
}
