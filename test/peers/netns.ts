/**
 * Two network namespaces joined by a veth pair, for tests that change a host's packet filter
 * (the transparent guard): nothing they do reaches the machine's own namespace, and no packet
 * leaves the pair. Names are unique per test process; remove() deletes both namespaces (which
 * takes the veth pair, the rulesets and any socket in them along) and is safe to call twice.
 *
 *   client 198.18.0.1/24, fd52:e9e0::1/64  <-- veth -->  server 198.18.0.2/24, fd52:e9e0::2/64
 *
 * 198.18.0.0/15 is set aside for benchmarking (RFC 2544) and fd52:e9e0::/64 is a unique local
 * prefix (RFC 4193): neither is routed anywhere, and both exist only inside the pair.
 */
import { spawn, spawnSync } from 'node:child_process';
import { which } from './binaries.ts';

export const CLIENT_ADDRESS = '198.18.0.1';
export const SERVER_ADDRESS = '198.18.0.2';
export const CLIENT_ADDRESS6 = 'fd52:e9e0::1';
export const SERVER_ADDRESS6 = 'fd52:e9e0::2';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface NetnsPair {
  readonly client: string;
  readonly server: string;
  /** Runs a command in a namespace and waits for it, at most timeoutMs (then it is killed). */
  exec(ns: string, args: readonly string[], options?: { stdin?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** `ip netns exec NS` + args: a prefix for commands run by other helpers. */
  prefix(ns: string): string[];
  remove(): Promise<void>;
}

let counter = 0;

/** Why namespace tests must be skipped here, or undefined when they can run. */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and nftables)';
  if (which('ip') === undefined) return 'ip not installed (apt-get install iproute2)';
  if (which('nft') === undefined) return 'nft not installed (apt-get install nftables)';
  const probe = `rgprobe${process.pid}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 5000 });
  if (added.status !== 0) return `ip netns add failed: ${added.stderr.trim()}`;
  spawnSync('ip', ['netns', 'delete', probe], { timeout: 5000 });
  return undefined;
}

export function run(
  args: readonly string[],
  options: { stdin?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function must(args: readonly string[]): Promise<void> {
  const r = await run(args);
  if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
}

export async function createNetnsPair(): Promise<NetnsPair> {
  const id = `${process.pid.toString(36)}${(counter++).toString(36)}`;
  const client = `rgc${id}`;
  const server = `rgs${id}`;
  // Interface names: at most 15 bytes.
  const vc = `rgvc${id}`.slice(0, 15);
  const vs = `rgvs${id}`.slice(0, 15);
  let removed = false;
  const remove = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    // Deleting a namespace kills nothing, but its last reference going away takes its interfaces,
    // ruleset and conntrack table with it; processes the tests started there are stopped by them.
    await run(['ip', 'netns', 'delete', client]);
    await run(['ip', 'netns', 'delete', server]);
    await run(['ip', 'link', 'delete', vc]); // only if it never moved into the namespace
  };
  try {
    await must(['ip', 'netns', 'add', client]);
    await must(['ip', 'netns', 'add', server]);
    await must(['ip', 'link', 'add', vc, 'type', 'veth', 'peer', 'name', vs]);
    await must(['ip', 'link', 'set', vc, 'netns', client]);
    await must(['ip', 'link', 'set', vs, 'netns', server]);
    for (const [ns, dev, v4, v6] of [
      [client, vc, CLIENT_ADDRESS, CLIENT_ADDRESS6],
      [server, vs, SERVER_ADDRESS, SERVER_ADDRESS6],
    ] as const) {
      await must(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      await must(['ip', '-n', ns, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      await must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    await remove();
    throw e;
  }
  const prefix = (ns: string): string[] => ['ip', 'netns', 'exec', ns];
  return {
    client,
    server,
    prefix,
    exec: (ns, args, options) => run([...prefix(ns), ...args], options),
    remove,
  };
}
