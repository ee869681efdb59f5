/** Where a benchmark ran: enough to tell whether two results are comparable. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';

export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  /** The OpenSSL inside node (node:tls runs on it, and so does renego's node:crypto). */
  readonly nodeOpenssl: string;
  /** The `openssl` binary the server runs on. */
  readonly openssl: string;
  /** The commit measured, and whether src/ had uncommitted changes (other work in progress). */
  readonly source: string;
}

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) return match[1]!.trim();
  } catch {
    // not Linux: fall through to os.cpus()
  }
  return cpus()[0]?.model ?? 'unknown';
}

function opensslVersion(): string {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return 'unknown';
  }
}

function git(args: readonly string[]): string | undefined {
  try {
    return execFileSync('git', [...args], {
      encoding: 'utf8',
      timeout: 5_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** Read-only git queries: the commit, and whether src/ differs from it. */
function sourceState(): string {
  const commit = git(['rev-parse', '--short', 'HEAD']);
  if (commit === undefined) return 'unknown (not a git checkout)';
  const dirty = git(['status', '--porcelain', '--', 'src']);
  return dirty ? `${commit} with uncommitted changes in src/` : commit;
}

export function describeMachine(now = new Date()): Machine {
  return {
    date: now.toISOString().slice(0, 10),
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    nodeOpenssl: process.versions.openssl ?? 'unknown',
    openssl: opensslVersion(),
    source: sourceState(),
  };
}
