/**
 * Running the `nft` command (package nftables): the transparent mode's ruleset is installed and
 * removed with it, and a transparent guard renews its fail-open heartbeat with it while it runs.
 */
import { spawn } from 'node:child_process';
import {
  ALIVE_SET,
  bypassScript,
  heartbeatScript,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_TIMEOUT_MS,
  TABLE_REF,
} from './nft-ruleset.ts';
import { GuardSetupError } from './setup-error.ts';

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
          ? new GuardSetupError('nft not found: install nftables (apt-get install nftables)')
          : new GuardSetupError(`cannot run nft: ${e.message}`),
      ),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(script ?? '');
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function nftOrFail(what: string, args: readonly string[], script?: string): Promise<string> {
  const r = await nft(args, script);
  if (r.code !== 0) {
    const first = r.stderr.trim().split('\n')[0] ?? '';
    const hint = /Operation not permitted/.test(r.stderr) ? ' (needs root or CAP_NET_ADMIN)' : '';
    throw new GuardSetupError(`cannot ${what}: nft said: ${first}${hint}`);
  }
  return r.stdout;
}

/**
 * While a transparent guard runs over a fail-open ruleset, it renews the heartbeat element; on a
 * clean stop it empties the set so connections bypass at once. Over a fail-closed ruleset (no
 * such set) it does nothing.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** When the last renewal was in place (Date.now() once nft answered): the element lives until this + HEARTBEAT_TIMEOUT_MS at most. */
  private renewedAt = Date.now();

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
    this.running = nftOrFail('renew the fail-open heartbeat', ['-f', '-'], heartbeatScript()).then(
      () => (this.renewedAt = Date.now()),
      (e: Error) => this.onError(e.message),
    );
    return this.running;
  }

  /**
   * Stops renewing and lets connections bypass now. Answers from when (Date.now()) the kernel
   * redirects no new connection for certain: now once the set is empty, or, when emptying it
   * failed, once the last renewed element has expired.
   */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.running;
    try {
      await nftOrFail('empty the fail-open heartbeat', ['-f', '-'], bypassScript());
      return Date.now();
    } catch (e) {
      this.onError((e as Error).message);
      return this.renewedAt + HEARTBEAT_TIMEOUT_MS;
    }
  }
}
