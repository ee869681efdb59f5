/**
 * The guard's configuration: listeners (each `listen → upstream` with its own policy), metrics,
 * logging and shutdown, from command-line flags, a YAML file, or both. Everything is validated
 * up front and every problem is reported at once, with the path of the offending value.
 *
 *   log: { level: info, connectionLines: 100/1s, warningLines: 50/1s, summaryInterval: 10s }
 *   metrics: { listen: "127.0.0.1:9464" }
 *   drainTimeout: 30s
 *   helloMemory: 64MiB
 *   listeners:
 *     - name: web
 *       listen: "[::]:8443"
 *       upstream: "127.0.0.1:443"
 *       policy: deny
 *       limits: { perConnection: 3, perClient: "10/60s" }
 *       allowNonTls: false
 *       proxyProtocol: v2
 *       maxConnections: 10000
 *       timeouts: { handshake: 10s, idle: 5m, connect: 5s }
 *     - name: host                         # transparent mode (docs/guard.md): no upstream,
 *       listen: "[::]:15001"               # each connection goes where it was going
 *       transparent: true
 *       destinations: { default: deny, rules: [{ name: certs, destination: 10.1.2.0/24, ports: [443], policy: deny-client-initiated }] }
 */
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_LOG_LIMITS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION,
  DEFAULT_TIMEOUTS,
} from './defaults.ts';
import { DEFAULT_HELLO_MEMORY_BYTES } from './hello-budget.ts';
import { EndpointError, parseEndpoint, type Endpoint } from '../syntax/endpoint.ts';
import { parseDuration } from '../syntax/duration.ts';
import { parseRate } from '../syntax/rate.ts';
import { parseWholeNumber } from '../syntax/whole-number.ts';
import type { RateLimit } from '../handshake/rate-limit.ts';
import { POLICY_MODES, type GuardPolicy, type PolicyMode } from './policy.ts';
import { destinationPolicies, DestinationPolicyError, type DestinationPolicies } from './destination-policy.ts';

export const PROXY_PROTOCOLS = ['none', 'v1', 'v2'] as const;
export type ProxyProtocol = (typeof PROXY_PROTOCOLS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Log volume: a connection flood must not fill the disk or slow the accept loop. Lines about one
 * connection and warnings (blocks, refusals, errors) each have a token bucket, so an attack's blocks
 * stay visible among its connection lines; what is dropped is counted in one summary line per kind
 * every summaryInterval.
 */
export interface LogLimits {
  readonly connectionLines: RateLimit;
  readonly warningLines: RateLimit;
  readonly summaryIntervalMs: number;
}

export interface Timeouts {
  /** From accept until both Finished (or TLS 1.3 / allowed non-TLS): slowloris-style clients are dropped. */
  readonly handshakeMs: number;
  /** No byte in either direction for this long closes the connection (half-open ones included). */
  readonly idleMs: number;
  /** TCP connect to the upstream. */
  readonly connectMs: number;
}

/** Transparent mode: each connection goes to its original destination (nftables REDIRECT). */
export const ORIGINAL_DESTINATION = 'original-destination';

export interface ListenerConfig {
  readonly name: string;
  readonly listen: Endpoint;
  readonly upstream: Endpoint | typeof ORIGINAL_DESTINATION;
  /** The policy (its mode the default one, in transparent mode). */
  readonly policy: GuardPolicy;
  /** Transparent mode: per-destination modes, first match wins (destination-policy.ts). */
  readonly destinations: DestinationPolicies | undefined;
  /** Send a PROXY protocol header (haproxy's proxy-protocol.txt) first, so the upstream sees the client's address. */
  readonly proxyProtocol: ProxyProtocol;
  readonly maxConnections: number;
  readonly timeouts: Timeouts;
}

export interface GuardConfig {
  readonly listeners: readonly ListenerConfig[];
  /** Serve Prometheus metrics on GET /metrics here; undefined: no metrics endpoint. */
  readonly metrics: Endpoint | undefined;
  readonly logLevel: LogLevel;
  readonly logLimits: LogLimits;
  /** On SIGTERM: stop accepting, wait this long for connections to end, then close the rest. */
  readonly drainTimeoutMs: number;
  /** Bytes all connections of the process may hold back while their hellos are collected (hello-budget.ts). */
  readonly helloMemoryBytes: number;
  /**
   * The group to switch to once listening: the transparent ruleset lets this group's connections
   * through (`meta skgid`), so the guard's own upstream connections are not intercepted again.
   */
  readonly gid: number | undefined;
}

/** The command-line flags, as strings the way commander hands them over. */
export interface GuardFlags {
  readonly config?: string;
  readonly listen?: string;
  readonly upstream?: string;
  readonly name?: string;
  readonly policy?: string;
  readonly maxRenegotiations?: string;
  readonly rateLimit?: string;
  readonly allowNonTls?: boolean;
  readonly proxyProtocol?: string;
  readonly maxConnections?: string;
  readonly handshakeTimeout?: string;
  readonly idleTimeout?: string;
  readonly connectTimeout?: string;
  readonly metrics?: string;
  readonly logLevel?: string;
  readonly logRate?: string;
  readonly drainTimeout?: string;
  readonly helloMemory?: string;
  readonly transparent?: boolean;
  readonly policyFile?: string;
  readonly gid?: string;
}

export class GuardConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid guard configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'GuardConfigError';
  }
}

/** Collects problems with the path where each was found. */
class Problems {
  readonly list: string[] = [];

  add(path: string, message: string): undefined {
    this.list.push(`${flagFor(path) ?? path}: ${message}`);
    return undefined;
  }
}

/** Where the listener the flags describe (listenerFromFlags) is parsed: its problems are named by flag. */
const FLAGS_LISTENER = '(flags)';

/** The flag that sets each field of that listener, in the YAML shape parseListener reads. */
const FLAG_OF_FIELD: readonly (readonly [string, string])[] = [
  ['listen', '--listen'],
  ['upstream', '--upstream'],
  ['transparent', '--transparent'],
  ['destinations', '--policy-file'],
  ['policy', '--policy'],
  ['limits.perConnection', '--max-renegotiations'],
  ['limits.perClient', '--rate-limit'],
  ['allowNonTls', '--allow-non-tls'],
  ['proxyProtocol', '--proxy-protocol'],
  ['maxConnections', '--max-connections'],
  ['timeouts.handshake', '--handshake-timeout'],
  ['timeouts.idle', '--idle-timeout'],
  ['timeouts.connect', '--connect-timeout'],
  ['name', '--name'],
];

/** `--upstream` for `(flags).upstream`, `--rate-limit (count)` for `(flags).limits.perClient.count`; undefined for a file's path. */
function flagFor(path: string): string | undefined {
  if (!path.startsWith(`${FLAGS_LISTENER}.`)) return path === FLAGS_LISTENER ? '--listen' : undefined;
  const field = path.slice(FLAGS_LISTENER.length + 1);
  for (const [key, flag] of FLAG_OF_FIELD) {
    if (field === key) return flag;
    if (field.startsWith(`${key}.`)) return `${flag} (${field.slice(key.length + 1)})`;
  }
  return '--listen';
}

/** A duration (src/syntax/duration.ts), or a number of milliseconds in YAML. */
function durationAt(value: unknown, path: string, problems: Problems): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms !== undefined) return ms;
  return problems.add(
    path,
    `expected a duration such as 500ms, 10s, 5m or a number of milliseconds, got ${show(value)}`,
  );
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** `512KiB`, `64MiB`, `1GiB`, or a plain number of bytes. */
export function parseSize(value: unknown, path: string, problems: Problems): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?\s*$/.exec(value);
    if (m) return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? '']!);
  }
  return problems.add(path, `expected a size such as 512KiB, 64MiB, 1GiB or a number of bytes, got ${show(value)}`);
}

/** `host:port` or `[v6]:port` (src/syntax/endpoint.ts), the port required; 0 lets the system choose. */
function endpointAt(value: unknown, path: string, problems: Problems): Endpoint | undefined {
  const expected = `expected "host:port" or "[v6]:port", got ${show(value)}`;
  if (typeof value !== 'string') return problems.add(path, expected);
  let endpoint: Endpoint;
  try {
    endpoint = parseEndpoint(value, { portZero: true });
  } catch (e) {
    if (!(e instanceof EndpointError)) throw e;
    if (e.problem === 'port' && /^\d+$/.test(e.portText ?? ''))
      return problems.add(path, `port ${e.portText} is out of range`);
    return problems.add(path, expected);
  }
  // A listener or upstream names its host: no empty host, and brackets hold an IPv6 address.
  if (endpoint.host === '' || /[[\]]/.test(endpoint.host)) return problems.add(path, expected);
  if (value.startsWith('[') && isIP(endpoint.host) !== 6)
    return problems.add(path, `"${endpoint.host}" is not an IPv6 address`);
  return endpoint;
}

/** `count/window` (src/syntax/rate.ts), e.g. `10/60s`, or `{ count, window }`. */
function parseRateLimit(value: unknown, path: string, problems: Problems): RateLimit | undefined {
  let count: unknown;
  let window: unknown;
  if (typeof value === 'string' && value.includes('/')) {
    const rate = parseRate(value);
    if (rate.ok) return rate.rate;
    // Report each side's problem, as for the object form (the count as written when it is not one).
    count = parseWholeNumber(rate.countText ?? '', 1) ?? rate.countText;
    window = rate.windowText;
  } else if (isRecord(value)) {
    count = value['count'];
    window = value['window'] ?? value['windowMs'];
  } else {
    return problems.add(path, `expected "count/window" such as "10/60s", got ${show(value)}`);
  }
  const windowMs = durationAt(window, `${path}.window`, problems);
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    return problems.add(`${path}.count`, `expected a whole number of at least 1, got ${show(count)}`);
  }
  if (windowMs === undefined) return undefined;
  if (windowMs <= 0) return problems.add(`${path}.window`, 'must be longer than 0');
  return { count, windowMs };
}

/** A whole number of at least min: a YAML number, or a flag's text in the syntax of src/syntax/whole-number.ts. */
function parseCount(value: unknown, path: string, problems: Problems, min: number): number | undefined {
  const n = typeof value === 'string' ? parseWholeNumber(value, min) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min) return n;
  return problems.add(path, `expected a whole number of at least ${min}, got ${show(value)}`);
}

function parseChoice<T extends string>(
  value: unknown,
  choices: readonly T[],
  path: string,
  problems: Problems,
): T | undefined {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  return problems.add(path, `expected one of ${choices.join(', ')}, got ${show(value)}`);
}

function parseBoolean(value: unknown, path: string, problems: Problems): boolean | undefined {
  if (typeof value === 'boolean') return value;
  return problems.add(path, `expected true or false, got ${show(value)}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function rejectUnknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  path: string,
  problems: Problems,
): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) problems.add(`${path}.${key}`, `unknown setting (known: ${known.join(', ')})`);
  }
}

/** One listener, from a YAML mapping or from flags turned into the same shape. */
interface RawListener {
  name?: unknown;
  listen?: unknown;
  upstream?: unknown;
  policy?: unknown;
  limits?: unknown;
  allowNonTls?: unknown;
  proxyProtocol?: unknown;
  maxConnections?: unknown;
  timeouts?: unknown;
  transparent?: unknown;
  destinations?: unknown;
}

const LISTENER_KEYS = [
  'transparent',
  'destinations',
  'name',
  'listen',
  'upstream',
  'policy',
  'limits',
  'allowNonTls',
  'proxyProtocol',
  'maxConnections',
  'timeouts',
];

function parseListener(raw: RawListener, path: string, problems: Problems, index: number): ListenerConfig | undefined {
  const listen =
    raw.listen === undefined
      ? problems.add(`${path}.listen`, 'required')
      : endpointAt(raw.listen, `${path}.listen`, problems);
  const transparent =
    raw.transparent === undefined ? false : parseBoolean(raw.transparent, `${path}.transparent`, problems);
  let upstream: ListenerConfig['upstream'] | undefined;
  if (transparent) {
    upstream =
      raw.upstream === undefined
        ? ORIGINAL_DESTINATION
        : problems.add(
            `${path}.upstream`,
            'a transparent listener has no upstream: connections go where they were going',
          );
  } else {
    upstream =
      raw.upstream === undefined
        ? problems.add(`${path}.upstream`, 'required')
        : endpointAt(raw.upstream, `${path}.upstream`, problems);
    if (raw.destinations !== undefined)
      problems.add(`${path}.destinations`, 'per-destination policies need a transparent listener');
  }
  let destinations: DestinationPolicies | undefined;
  if (transparent && raw.destinations !== undefined) {
    try {
      destinations = destinationPolicies(raw.destinations, `${path}.destinations`);
    } catch (e) {
      if (!(e instanceof DestinationPolicyError)) throw e;
      problems.add(`${path}.destinations`, e.message);
    }
  }
  const mode: PolicyMode | undefined =
    raw.policy === undefined
      ? (destinations?.defaultMode ??
        problems.add(
          `${path}.policy`,
          `required${transparent ? ' (or a default in the policy file)' : ''}: one of ${POLICY_MODES.join(', ')}`,
        ))
      : parseChoice(raw.policy, POLICY_MODES, `${path}.policy`, problems);
  let perConnection = DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION;
  let perClient: RateLimit | undefined;
  if (raw.limits !== undefined) {
    if (!isRecord(raw.limits)) {
      problems.add(`${path}.limits`, 'expected a mapping with perConnection and/or perClient');
    } else {
      rejectUnknownKeys(raw.limits, ['perConnection', 'perClient'], `${path}.limits`, problems);
      if (raw.limits['perConnection'] !== undefined) {
        perConnection = parseCount(raw.limits['perConnection'], `${path}.limits.perConnection`, problems, 0) ?? 0;
      }
      if (raw.limits['perClient'] !== undefined)
        perClient = parseRateLimit(raw.limits['perClient'], `${path}.limits.perClient`, problems);
    }
  }
  const allowNonTls =
    raw.allowNonTls === undefined ? false : parseBoolean(raw.allowNonTls, `${path}.allowNonTls`, problems);
  const proxyProtocol =
    raw.proxyProtocol === undefined
      ? 'none'
      : parseChoice(raw.proxyProtocol, PROXY_PROTOCOLS, `${path}.proxyProtocol`, problems);
  const maxConnections =
    raw.maxConnections === undefined
      ? DEFAULT_MAX_CONNECTIONS
      : parseCount(raw.maxConnections, `${path}.maxConnections`, problems, 1);
  const timeouts = parseTimeouts(raw.timeouts, `${path}.timeouts`, problems);
  const name =
    raw.name === undefined
      ? `listener-${index}`
      : typeof raw.name === 'string' && raw.name !== ''
        ? raw.name
        : problems.add(`${path}.name`, 'expected a non-empty string');
  if (
    !listen ||
    !upstream ||
    transparent === undefined ||
    !mode ||
    allowNonTls === undefined ||
    !proxyProtocol ||
    !maxConnections ||
    !timeouts ||
    !name
  ) {
    return undefined;
  }
  return {
    name,
    listen,
    upstream,
    policy: { mode, maxRenegotiationsPerConnection: perConnection, perClientLimit: perClient, allowNonTls },
    destinations,
    proxyProtocol,
    maxConnections,
    timeouts,
  };
}

function parseTimeouts(raw: unknown, path: string, problems: Problems): Timeouts | undefined {
  if (raw === undefined) return DEFAULT_TIMEOUTS;
  if (!isRecord(raw)) return problems.add(path, 'expected a mapping with handshake, idle and/or connect');
  rejectUnknownKeys(raw, ['handshake', 'idle', 'connect'], path, problems);
  const one = (key: string, fallback: number): number | undefined => {
    if (raw[key] === undefined) return fallback;
    const ms = durationAt(raw[key], `${path}.${key}`, problems);
    if (ms === 0) return problems.add(`${path}.${key}`, 'must be longer than 0');
    return ms;
  };
  const handshakeMs = one('handshake', DEFAULT_TIMEOUTS.handshakeMs);
  const idleMs = one('idle', DEFAULT_TIMEOUTS.idleMs);
  const connectMs = one('connect', DEFAULT_TIMEOUTS.connectMs);
  if (handshakeMs === undefined || idleMs === undefined || connectMs === undefined) return undefined;
  return { handshakeMs, idleMs, connectMs };
}

/** The listener the flags describe, in the YAML shape; undefined when no --listen was given. */
function listenerFromFlags(
  flags: GuardFlags,
  problems: Problems,
  policyFileText: string | undefined,
): RawListener | undefined {
  const given = flags.listen !== undefined || flags.upstream !== undefined;
  if (!given) {
    for (const key of [
      'transparent',
      'policyFile',
      'policy',
      'maxRenegotiations',
      'rateLimit',
      'proxyProtocol',
      'maxConnections',
      'handshakeTimeout',
      'idleTimeout',
      'connectTimeout',
    ] as const) {
      if (flags[key] !== undefined)
        problems.add(
          `--${kebab(key)}`,
          'applies to the --listen listener; give --listen and --upstream (or --transparent) too',
        );
    }
    return undefined;
  }
  const timeouts: Record<string, unknown> = {};
  if (flags.handshakeTimeout !== undefined) timeouts['handshake'] = flags.handshakeTimeout;
  if (flags.idleTimeout !== undefined) timeouts['idle'] = flags.idleTimeout;
  if (flags.connectTimeout !== undefined) timeouts['connect'] = flags.connectTimeout;
  const limits: Record<string, unknown> = {};
  if (flags.maxRenegotiations !== undefined) limits['perConnection'] = flags.maxRenegotiations;
  if (flags.rateLimit !== undefined) limits['perClient'] = flags.rateLimit;
  let destinations: unknown;
  if (flags.policyFile !== undefined) {
    if (flags.transparent !== true)
      problems.add('--policy-file', 'applies to a transparent listener: give --transparent');
    else if (policyFileText !== undefined) {
      try {
        destinations = parseYaml(policyFileText);
      } catch (e) {
        problems.add(flags.policyFile, `not valid YAML or JSON: ${(e as Error).message}`);
      }
    }
  }
  return {
    name: flags.name,
    listen: flags.listen,
    upstream: flags.upstream,
    transparent: flags.transparent ?? false,
    destinations,
    policy: flags.policy,
    limits,
    allowNonTls: flags.allowNonTls ?? false,
    proxyProtocol: flags.proxyProtocol,
    maxConnections: flags.maxConnections,
    timeouts,
  };
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Builds the configuration from flags and, when `--config` was given, the YAML text of that
 * file. Flags for one listener (`--listen`, `--upstream`, `--policy`, …) add a listener to those
 * of the file; global flags (`--metrics`, `--log-level`, `--drain-timeout`, `--hello-memory`)
 * override the file.
 */
export function buildGuardConfig(
  flags: GuardFlags,
  yamlText?: string,
  source = flags.config ?? 'config',
  policyFileText?: string,
): GuardConfig {
  const problems = new Problems();
  let file: Record<string, unknown> = {};
  if (yamlText !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(yamlText);
    } catch (e) {
      throw new GuardConfigError([`${source}: not valid YAML: ${(e as Error).message}`]);
    }
    if (parsed === null || parsed === undefined) parsed = {};
    if (!isRecord(parsed)) throw new GuardConfigError([`${source}: expected a mapping at the top level`]);
    file = parsed;
    rejectUnknownKeys(file, ['listeners', 'metrics', 'log', 'drainTimeout', 'helloMemory', 'gid'], source, problems);
  }

  const rawListeners: { raw: RawListener; path: string }[] = [];
  const fileListeners = file['listeners'];
  if (fileListeners !== undefined) {
    if (!Array.isArray(fileListeners)) {
      problems.add(`${source}.listeners`, 'expected a list');
    } else {
      fileListeners.forEach((raw: unknown, i) => {
        const path = `${source}.listeners[${i}]`;
        if (!isRecord(raw)) return problems.add(path, 'expected a mapping');
        rejectUnknownKeys(raw, LISTENER_KEYS, path, problems);
        rawListeners.push({ raw, path });
        return undefined;
      });
    }
  }
  const fromFlags = listenerFromFlags(flags, problems, policyFileText);
  if (fromFlags) rawListeners.push({ raw: fromFlags, path: FLAGS_LISTENER });
  if (rawListeners.length === 0)
    problems.add(
      'listeners',
      'none given: use --listen HOST:PORT --upstream HOST:PORT --policy MODE, or --config FILE',
    );

  const listeners = rawListeners.map(({ raw, path }, i) => parseListener(raw, path, problems, i));
  const names = new Set<string>();
  for (const l of listeners) {
    if (l === undefined) continue;
    if (names.has(l.name)) problems.add(`listeners`, `two listeners are named "${l.name}"`);
    names.add(l.name);
  }

  const metrics = globalMetrics(flags, file, source, problems);
  const logLevel = globalLogLevel(flags, file, source, problems);
  const logLimits = globalLogLimits(flags, file, source, problems);
  const drainRaw = flags.drainTimeout ?? file['drainTimeout'];
  const drainTimeoutMs =
    drainRaw === undefined
      ? DEFAULT_DRAIN_TIMEOUT_MS
      : durationAt(drainRaw, flags.drainTimeout !== undefined ? '--drain-timeout' : `${source}.drainTimeout`, problems);

  const helloRaw = flags.helloMemory ?? file['helloMemory'];
  const helloMemoryBytes =
    helloRaw === undefined
      ? DEFAULT_HELLO_MEMORY_BYTES
      : parseSize(helloRaw, flags.helloMemory !== undefined ? '--hello-memory' : `${source}.helloMemory`, problems);

  const gidRaw = flags.gid ?? file['gid'];
  const gid =
    gidRaw === undefined
      ? undefined
      : parseCount(gidRaw, flags.gid !== undefined ? '--gid' : `${source}.gid`, problems, 1);

  if (problems.list.length > 0) throw new GuardConfigError(problems.list);
  return {
    listeners: listeners as ListenerConfig[],
    metrics,
    logLevel: logLevel ?? 'info',
    logLimits,
    drainTimeoutMs: drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    helloMemoryBytes: helloMemoryBytes ?? DEFAULT_HELLO_MEMORY_BYTES,
    gid,
  };
}

function globalMetrics(
  flags: GuardFlags,
  file: Record<string, unknown>,
  source: string,
  problems: Problems,
): Endpoint | undefined {
  if (flags.metrics !== undefined) return endpointAt(flags.metrics, '--metrics', problems);
  const m = file['metrics'];
  if (m === undefined) return undefined;
  if (!isRecord(m)) return problems.add(`${source}.metrics`, 'expected a mapping with listen');
  rejectUnknownKeys(m, ['listen'], `${source}.metrics`, problems);
  return endpointAt(m['listen'], `${source}.metrics.listen`, problems);
}

function globalLogLevel(
  flags: GuardFlags,
  file: Record<string, unknown>,
  source: string,
  problems: Problems,
): LogLevel | undefined {
  if (flags.logLevel !== undefined) return parseChoice(flags.logLevel, LOG_LEVELS, '--log-level', problems);
  const log = file['log'];
  if (log === undefined) return DEFAULT_LOG_LEVEL;
  if (!isRecord(log)) return problems.add(`${source}.log`, 'expected a mapping with level');
  rejectUnknownKeys(log, ['level', ...LOG_LIMIT_KEYS], `${source}.log`, problems);
  return log['level'] === undefined
    ? DEFAULT_LOG_LEVEL
    : parseChoice(log['level'], LOG_LEVELS, `${source}.log.level`, problems);
}

const LOG_LIMIT_KEYS = ['connectionLines', 'warningLines', 'summaryInterval'];

function globalLogLimits(
  flags: GuardFlags,
  file: Record<string, unknown>,
  source: string,
  problems: Problems,
): LogLimits {
  const log = isRecord(file['log']) ? file['log'] : {};
  const d = DEFAULT_LOG_LIMITS;
  const connectionLines =
    flags.logRate !== undefined
      ? parseRateLimit(flags.logRate, '--log-rate', problems)
      : log['connectionLines'] === undefined
        ? d.connectionLines
        : parseRateLimit(log['connectionLines'], `${source}.log.connectionLines`, problems);
  const warningLines =
    log['warningLines'] === undefined
      ? d.warningLines
      : parseRateLimit(log['warningLines'], `${source}.log.warningLines`, problems);
  let summaryIntervalMs =
    log['summaryInterval'] === undefined
      ? d.summaryIntervalMs
      : durationAt(log['summaryInterval'], `${source}.log.summaryInterval`, problems);
  if (summaryIntervalMs === 0)
    summaryIntervalMs = problems.add(`${source}.log.summaryInterval`, 'must be longer than 0');
  return {
    connectionLines: connectionLines ?? d.connectionLines,
    warningLines: warningLines ?? d.warningLines,
    summaryIntervalMs: summaryIntervalMs ?? d.summaryIntervalMs,
  };
}
