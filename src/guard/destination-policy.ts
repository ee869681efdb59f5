/**
 * Per-destination policy for the transparent guard (`--policy-file`): an ordered list of rules,
 * each a destination network and ports with a policy mode; the first rule that matches a
 * connection's original destination decides, else the default. So an administrator can, as the
 * 2009 advice said, keep server-initiated renegotiation for the one internal service that asks for
 * client certificates by it, and deny it everywhere else:
 *
 *   default: deny
 *   rules:
 *     - name: intranet-client-certs
 *       destination: 10.1.2.0/24
 *       ports: [443]
 *       policy: deny-client-initiated
 *
 * Pure: text in, rules out, and matching over parsed addresses. The rule name is the metric label
 * (bounded by the file), never the address.
 */
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { POLICY_MODES, type PolicyMode } from './policy.ts';

/** An IPv4 or IPv6 network: the address as 4 or 16 bytes and a prefix length. */
export interface Network {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export interface DestinationRule {
  readonly name: string;
  /** Undefined: any address. */
  readonly network: Network | undefined;
  /** Empty: any port. */
  readonly ports: readonly number[];
  readonly mode: PolicyMode;
}

export interface DestinationPolicies {
  readonly rules: readonly DestinationRule[];
  /** The mode when no rule matches; undefined: the listener's --policy. */
  readonly defaultMode: PolicyMode | undefined;
}

/** The rule name used in logs and metrics when no rule matched. */
export const DEFAULT_RULE = 'default';

export class DestinationPolicyError extends Error {
  override readonly name = 'DestinationPolicyError';
}

/** `a.b.c.d`, `::1`, `::ffff:a.b.c.d` (taken as IPv4) → bytes; undefined when not an address. */
export function addressBytes(address: string): Uint8Array | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return addressBytes(mapped[1]!);
  switch (isIP(address)) {
    case 4:
      return Uint8Array.from(address.split('.').map(Number));
    case 6:
      return ipv6Bytes(address);
    default:
      return undefined;
  }
}

function ipv6Bytes(address: string): Uint8Array {
  // isIP said yes: at most one '::', groups of hex, maybe a dotted IPv4 tail.
  let text = address.split('%')[0]!;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -tail[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** `10.0.0.0/8`, `fd00::/8`, or one address (a /32 or /128). */
export function parseNetwork(text: string): Network {
  const [address, prefixText] = text.trim().split('/') as [string, string | undefined];
  const bytes = isIP(address) === 0 ? undefined : addressBytes(address);
  if (bytes === undefined) throw new DestinationPolicyError(`"${text}" is not an IP address or CIDR network`);
  const max = bytes.length * 8;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefixText !== undefined && (!/^\d+$/.test(prefixText) || prefix > max))
    throw new DestinationPolicyError(`"${text}": prefix length must be 0-${max}`);
  return { bytes, prefix };
}

export function inNetwork(address: Uint8Array, network: Network): boolean {
  if (address.length !== network.bytes.length) return false;
  let bits = network.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((address[i]! & mask) !== (network.bytes[i]! & mask)) return false;
  }
  return true;
}

/** The first rule that matches, or undefined (the default applies). */
export function matchDestination(
  policies: DestinationPolicies,
  address: string,
  port: number,
): DestinationRule | undefined {
  const bytes = addressBytes(address);
  return policies.rules.find(
    (r) =>
      (r.ports.length === 0 || r.ports.includes(port)) &&
      (r.network === undefined || (bytes !== undefined && inNetwork(bytes, r.network))),
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mode(value: unknown, path: string): PolicyMode {
  if (typeof value === 'string' && (POLICY_MODES as readonly string[]).includes(value)) return value as PolicyMode;
  throw new DestinationPolicyError(`${path}: expected one of ${POLICY_MODES.join(', ')}, got ${JSON.stringify(value)}`);
}

function ports(value: unknown, path: string): number[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535)
      throw new DestinationPolicyError(`${path}[${i}]: expected a TCP port (1-65535), got ${JSON.stringify(p)}`);
    return p;
  });
}

/** Rule names become metric label values: keep them short and plain. */
const RULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Reads a policy file (YAML, which includes JSON); `source` names it in errors. */
export function parseDestinationPolicies(text: string, source: string): DestinationPolicies {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new DestinationPolicyError(`${source}: not valid YAML or JSON: ${(e as Error).message}`);
  }
  return destinationPolicies(raw, source);
}

/** The same from an already parsed value (a guard configuration's `destinations`). */
export function destinationPolicies(raw: unknown, source: string): DestinationPolicies {
  if (!isRecord(raw)) throw new DestinationPolicyError(`${source}: expected a mapping with rules and default`);
  for (const key of Object.keys(raw))
    if (key !== 'rules' && key !== 'default')
      throw new DestinationPolicyError(`${source}.${key}: unknown setting (known: default, rules)`);
  const defaultMode = raw['default'] === undefined ? undefined : mode(raw['default'], `${source}.default`);
  const list = raw['rules'] ?? [];
  if (!Array.isArray(list)) throw new DestinationPolicyError(`${source}.rules: expected a list`);
  const names = new Set<string>([DEFAULT_RULE]);
  const rules = list.map((r: unknown, i): DestinationRule => {
    const path = `${source}.rules[${i}]`;
    if (!isRecord(r)) throw new DestinationPolicyError(`${path}: expected a mapping`);
    for (const key of Object.keys(r))
      if (!['name', 'destination', 'ports', 'policy'].includes(key))
        throw new DestinationPolicyError(`${path}.${key}: unknown setting (known: name, destination, ports, policy)`);
    const name = r['name'] ?? `rule-${i}`;
    if (typeof name !== 'string' || !RULE_NAME.test(name))
      throw new DestinationPolicyError(`${path}.name: expected 1-64 letters, digits, '.', '_' or '-'`);
    if (names.has(name)) throw new DestinationPolicyError(`${path}.name: "${name}" is used twice (or reserved)`);
    names.add(name);
    const destination = r['destination'];
    if (destination !== undefined && typeof destination !== 'string')
      throw new DestinationPolicyError(`${path}.destination: expected a CIDR network such as 10.0.0.0/8`);
    let network: Network | undefined;
    try {
      network = destination === undefined ? undefined : parseNetwork(destination);
    } catch (e) {
      throw new DestinationPolicyError(`${path}.destination: ${(e as Error).message}`);
    }
    return { name, network, ports: ports(r['ports'], `${path}.ports`), mode: mode(r['policy'], `${path}.policy`) };
  });
  return { rules, defaultMode };
}
