/**
 * `renego guard transparent install|uninstall`: puts the interception ruleset of
 * src/guard/nft-ruleset.ts in place, or removes it, with the `nft` command (package nftables);
 * and the fail-open heartbeat a transparent guard keeps while it runs. See docs/guard.md,
 * "Transparent mode".
 */
import { spawn } from 'node:child_process';
import {
  bypassScript,
  heartbeatScript,
  HEARTBEAT_INTERVAL_MS,
  installScript,
  parsePorts,
  RulesetError,
  ALIVE_SET,
  TABLE_REF,
  uninstallScript,
  DIRECTIONS,
  type Direction,
  type InterceptOptions,
} from '../guard/nft-ruleset.ts';
import { UsageError } from './usage.ts';

/** What nft answered: exit code, and its stderr for the error message. */
interface NftResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const NFT_TIMEOUT_MS = 10_000;

/** Runs `nft ARGS`, with `script` on its stdin when given. Rejects only when nft cannot be started. */
export function nft(args: readonly string[], script?: string): Promise<NftResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', [...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: NFT_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new UsageError('nft not found: install nftables (apt-get install nftables)')
          : new UsageError(`cannot run nft: ${e.message}`),
      ),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(script ?? '');
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function nftOrFail(what: string, args: readonly string[], script?: string): Promise<string> {
  const r = await nft(args, script);
  if (r.code !== 0) {
    const first = r.stderr.trim().split('\n')[0] ?? '';
    const hint = /Operation not permitted/.test(r.stderr) ? ' (needs root or CAP_NET_ADMIN)' : '';
    throw new UsageError(`cannot ${what}: nft said: ${first}${hint}`);
  }
  return r.stdout;
}

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

/**
 * While a transparent guard runs over a fail-open ruleset, it renews the heartbeat element; on a
 * clean stop it empties the set so connections bypass at once. Over a fail-closed ruleset (no
 * such set) it does nothing.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  private constructor(private readonly onError: (message: string) => void) {}

  /** Starts beating when the installed table has the heartbeat set; undefined otherwise. */
  static async start(onError: (message: string) => void): Promise<Heartbeat | undefined> {
    const r = await nft(['list', 'set', ...TABLE_REF.split(' '), ALIVE_SET]).catch(() => undefined);
    if (r === undefined || r.code !== 0) return undefined;
    const h = new Heartbeat(onError);
    await h.beat();
    h.timer = setInterval(() => void h.beat(), HEARTBEAT_INTERVAL_MS);
    h.timer.unref();
    return h;
  }

  private beat(): Promise<unknown> {
    this.running = nftOrFail('renew the fail-open heartbeat', ['-f', '-'], heartbeatScript()).catch((e: Error) =>
      this.onError(e.message),
    );
    return this.running;
  }

  /** Stops renewing and lets connections bypass now. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await nftOrFail('empty the fail-open heartbeat', ['-f', '-'], bypassScript()).catch((e: Error) =>
      this.onError(e.message),
    );
  }
}
