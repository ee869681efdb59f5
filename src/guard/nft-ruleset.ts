/**
 * The nftables ruleset of `renego guard --transparent`: which TCP connections the kernel sends to
 * the guard, as text for `nft -f`. Pure: options in, ruleset out; src/tools/guard-transparent.ts
 * applies it. Everything lives in one table of its own (TABLE), so installing replaces only that
 * table and uninstalling is `delete table`, whatever else the host's ruleset holds.
 *
 * Interception is by REDIRECT (nat): the connection's destination becomes the guard's port on this
 * host and conntrack keeps the original one, which the guard reads back with
 * getsockopt(SO_ORIGINAL_DST) (original-destination.ts). Why REDIRECT and not TPROXY, and what each
 * choice below prevents, is in docs/guard.md, "Transparent mode".
 *
 * - inbound: the nat prerouting hook, for connections arriving at one of this host's own
 *   addresses (`fib daddr type local`; traffic the host only forwards is left alone).
 * - outbound: the nat output hook, for connections this host's programs start. The guard's own
 *   upstream connections would come back to it for ever; they are told apart by the group the
 *   guard runs as (`meta skgid`, the socket's owner group), which it switches to at start.
 * - fail-closed (default): with no guard listening, a redirected SYN finds a closed port and is
 *   answered with a reset, so nothing reaches an intercepted port uninspected.
 * - fail-open: the redirect applies only while the set ALIVE_SET holds `tcp`, an element with a
 *   timeout that a running guard renews every HEARTBEAT_INTERVAL_MS. When the guard dies the
 *   kernel lets the element expire and connections go straight to their destination: no process
 *   is needed for the bypass.
 */

/** The one table the guard installs and removes; nothing outside it is ever touched. */
export const TABLE = { family: 'inet', name: 'renego_guard' } as const;
export const TABLE_REF = `${TABLE.family} ${TABLE.name}`;

/** The fail-open heartbeat set: `tcp` while a guard is alive. */
export const ALIVE_SET = 'alive';
/** How often a guard renews the heartbeat, and how long the element outlives the last renewal. */
export const HEARTBEAT_INTERVAL_MS = 1_000;
export const HEARTBEAT_TIMEOUT_MS = 3_000;
/**
 * After the bypass begins, how long a stopping fail-open guard still accepts: a connection whose
 * SYN was redirected just before it completes its handshake with the guard's listening socket
 * within a round trip, or after a retransmitted SYN-ACK (1 s, the initial RTO of RFC 6298 §2.1);
 * closing the listening socket earlier would reset it, a refusal fail-open promised not to make.
 */
export const BYPASS_GRACE_MS = 1_000;

export const DIRECTIONS = ['inbound', 'outbound', 'both'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface InterceptOptions {
  /** Destination TCP ports to intercept (443, 465, 636, 993, 995, 8443 …). */
  readonly ports: readonly number[];
  readonly direction: Direction;
  /** The port the guard listens on (all addresses: `[::]:PORT`). */
  readonly guardPort: number;
  /** The group the guard runs as; needed for outbound, where its own connections must pass. */
  readonly gid: number | undefined;
  readonly failOpen: boolean;
}

export class RulesetError extends Error {
  override readonly name = 'RulesetError';
}

/** `443,8443` → [443, 8443]: whole numbers 1–65535, no duplicates. */
export function parsePorts(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(',')) {
    const t = part.trim();
    const n = Number(t);
    if (!/^\d+$/.test(t) || n < 1 || n > 65535) throw new RulesetError(`"${t}" is not a TCP port (1-65535)`);
    if (ports.includes(n)) throw new RulesetError(`port ${n} is listed twice`);
    ports.push(n);
  }
  return ports;
}

function validate(o: InterceptOptions): void {
  if (o.ports.length === 0) throw new RulesetError('no port to intercept: give --ports');
  if (o.ports.includes(o.guardPort))
    throw new RulesetError(`the guard's own port ${o.guardPort} cannot be an intercepted port`);
  if (o.direction !== 'inbound' && o.gid === undefined)
    throw new RulesetError(
      `--direction ${o.direction} intercepts this host's own connections, the guard's included: give --gid, the group the guard runs as`,
    );
  if (o.gid !== undefined && (!Number.isInteger(o.gid) || o.gid < 1 || o.gid > 0xfffffffe))
    throw new RulesetError(`--gid ${o.gid} is not a group id other than root (1-4294967294)`);
}

/** The ruleset as `nft -f` reads it. */
export function ruleset(o: InterceptOptions): string {
  validate(o);
  const alive = o.failOpen ? `meta l4proto @${ALIVE_SET} ` : '';
  const redirect = `tcp dport @ports ${alive}redirect to :${o.guardPort}`;
  const lines = [
    `table ${TABLE_REF} {`,
    '\tset ports {',
    '\t\ttype inet_service',
    `\t\telements = { ${o.ports.join(', ')} }`,
    '\t}',
  ];
  if (o.failOpen) lines.push(`\tset ${ALIVE_SET} {`, '\t\ttype inet_proto', '\t\tflags timeout', '\t}');
  if (o.direction !== 'outbound') {
    lines.push(
      '\tchain inbound {',
      '\t\ttype nat hook prerouting priority dstnat; policy accept;',
      `\t\tfib daddr type local ${redirect}`,
      '\t}',
    );
  }
  if (o.direction !== 'inbound') {
    lines.push(
      '\tchain outbound {',
      // -100 is dstnat's value; nft 1.0.6 (Debian 12) accepts the name only in prerouting.
      '\t\ttype nat hook output priority -100; policy accept;',
      // The guard's own upstream connections: without this they would be redirected to itself.
      `\t\tmeta skgid ${o.gid} return`,
      `\t\t${redirect}`,
      '\t}',
    );
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/**
 * The `nft -f` script that installs the ruleset in one transaction: the table is created (a no-op
 * when present), deleted and written anew, so a second install replaces the first and a failure
 * leaves the ruleset as it was.
 */
export function installScript(o: InterceptOptions): string {
  return `table ${TABLE_REF}\ndelete table ${TABLE_REF}\n${ruleset(o)}`;
}

export function uninstallScript(): string {
  return `delete table ${TABLE_REF}\n`;
}

/** One heartbeat: flush and re-add in one transaction, since `add element` leaves an existing element's timer alone. */
export function heartbeatScript(): string {
  return `flush set ${TABLE_REF} ${ALIVE_SET}\nadd element ${TABLE_REF} ${ALIVE_SET} { tcp timeout ${HEARTBEAT_TIMEOUT_MS}ms }\n`;
}

/** On a clean stop in fail-open mode: bypass at once instead of after the timeout. */
export function bypassScript(): string {
  return `flush set ${TABLE_REF} ${ALIVE_SET}\n`;
}
