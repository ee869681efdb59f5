/**
 * `renego guard transparent install|uninstall`: puts the interception ruleset of
 * src/guard/nft-ruleset.ts in place, or removes it, with the `nft` command (package nftables,
 * run by src/guard/nft.ts). See docs/guard.md, "Transparent mode".
 */
import {
  installScript,
  parsePorts,
  RulesetError,
  TABLE_REF,
  uninstallScript,
  DIRECTIONS,
  type Direction,
  type InterceptOptions,
} from '../guard/nft-ruleset.ts';
import { nft, nftOrFail } from '../guard/nft.ts';
import { UsageError } from './usage.ts';

export interface InstallFlags {
  readonly ports?: string;
  readonly direction?: string;
  readonly guardPort?: string;
  readonly gid?: string;
  readonly failOpen?: boolean;
  readonly dryRun?: boolean;
}

export function interceptOptions(flags: InstallFlags): InterceptOptions {
  const direction = flags.direction ?? 'both';
  if (!(DIRECTIONS as readonly string[]).includes(direction))
    throw new UsageError(`--direction must be one of ${DIRECTIONS.join(', ')}, got "${direction}"`);
  const number = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value.trim())) throw new UsageError(`${flag} wants a whole number, got "${value}"`);
    return Number(value);
  };
  if (flags.ports === undefined) throw new UsageError('--ports is required, e.g. --ports 443,465,636,993,995,8443');
  try {
    const options: InterceptOptions = {
      ports: parsePorts(flags.ports),
      direction: direction as Direction,
      guardPort: number('--guard-port', flags.guardPort) ?? DEFAULT_GUARD_PORT,
      gid: number('--gid', flags.gid),
      failOpen: flags.failOpen === true,
    };
    if (options.guardPort < 1 || options.guardPort > 65535)
      throw new UsageError(`--guard-port ${options.guardPort} is out of range`);
    installScript(options); // validates
    return options;
  } catch (e) {
    if (e instanceof RulesetError) throw new UsageError(e.message);
    throw e;
  }
}

/** The port `install` redirects to unless told otherwise (and the one in docs/guard.md's unit). */
export const DEFAULT_GUARD_PORT = 15001;

/** Prints (dry run) or applies the ruleset; returns what to print on stdout. */
export async function installInterception(flags: InstallFlags): Promise<string> {
  const options = interceptOptions(flags);
  const script = installScript(options);
  if (flags.dryRun === true) return script;
  // nft -c: check the whole script against this kernel first, so a missing module (nat, fib) is
  // reported before anything changes; the transaction itself is atomic too.
  await nftOrFail(`check the ruleset`, ['-c', '-f', '-'], script);
  await nftOrFail(`install table ${TABLE_REF}`, ['-f', '-'], script);
  return (
    `installed table ${TABLE_REF}: ${options.direction} TCP ports ${options.ports.join(',')} → :${options.guardPort}` +
    `${options.failOpen ? ' (fail-open)' : ' (fail-closed)'}\n`
  );
}

export async function tableInstalled(): Promise<boolean> {
  return (await nft(['list', 'table', ...TABLE_REF.split(' ')])).code === 0;
}

/** Deletes the table, and nothing else; says so when there was none. */
export async function uninstallInterception(): Promise<string> {
  if (!(await tableInstalled())) return `table ${TABLE_REF} is not installed: nothing to remove\n`;
  await nftOrFail(`delete table ${TABLE_REF}`, ['-f', '-'], uninstallScript());
  return `removed table ${TABLE_REF}\n`;
}
