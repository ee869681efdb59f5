/**
 * A campaign on the queue: its name, the Redis keys that hold it, the job id
 * of each target, and the settings every worker scans it with. One BullMQ
 * queue per campaign (so counts, draining and deletion are per campaign), plus
 * a few keys of our own: the targets in input order, the results, and the
 * counters BullMQ does not keep.
 */
import { createHash } from 'node:crypto';
import type { TargetDefaults } from '../targets.ts';
import type { ScanOptions, ScanTarget } from '../types.ts';

/** Letters, digits, dot, dash, underscore: safe in a Redis key and a BullMQ queue name (which refuses ':'). */
const CAMPAIGN_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export class CampaignNameError extends Error {
  override readonly name = 'CampaignNameError';
}

export function checkCampaignName(name: string): string {
  if (!CAMPAIGN_NAME.test(name)) {
    throw new CampaignNameError(
      `a campaign name is 1-64 letters, digits, '.', '-' or '_', got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** BullMQ's key prefix: its keys are `renego:scan.NAME:…`. */
export const BULL_PREFIX = 'renego';

/** Every campaign ever enqueued and not deleted: workers without --campaign serve all of them. */
export const CAMPAIGNS_KEY = 'renego:campaigns';

export function queueName(campaign: string): string {
  return `scan.${campaign}`;
}

/** Our own keys for one campaign (BullMQ's live under `renego:scan.NAME:`). */
export function campaignKeys(campaign: string): {
  /** Hash: the settings every worker scans with (JSON under `settings`). */
  meta: string;
  /** Hash: job id → target line; HSETNX here is what makes enqueueing idempotent. */
  targets: string;
  /** List: job ids in input order, each once. */
  order: string;
  /** Hash: job id → the report, deflated JSON; a rerun overwrites, so each target has one. */
  results: string;
  /** Set: job ids whose report says the target could not be scanned. */
  failed: string;
  /** Counter: runs retried after a connection error. */
  retried: string;
  /** Counter: runs taken back from a worker that stopped renewing its lock. */
  stalled: string;
} {
  const base = `renego:c:${campaign}`;
  return {
    meta: `${base}:meta`,
    targets: `${base}:targets`,
    order: `${base}:order`,
    results: `${base}:results`,
    failed: `${base}:failed`,
    retried: `${base}:retried`,
    stalled: `${base}:stalled`,
  };
}

/**
 * What makes two target lines the same target: the protocol, the host (case
 * folded: DNS names are case-insensitive), the port and the server name.
 * `example.test`, `EXAMPLE.test:443` and `https://example.test/` are one target.
 */
export function normalizedTarget(t: ScanTarget): string {
  return JSON.stringify([t.starttls ?? 'tls', t.host.toLowerCase(), t.port, t.serverName?.toLowerCase() ?? null]);
}

/**
 * The job id of a target in a campaign: a hash, because BullMQ refuses ':' in
 * custom ids and a target line may hold one ([::1]:443). 128 bits: no two
 * targets of one campaign collide in practice.
 */
export function jobIdFor(campaign: string, normalized: string): string {
  return createHash('sha256').update(`${campaign}\n${normalized}`).digest('hex').slice(0, 32);
}

/** How every worker scans a campaign, fixed when it is first enqueued. */
export interface CampaignSettings {
  /** ScanOptions without the process-local rate limiter. */
  scan: Omit<ScanOptions, 'limiter'>;
  defaults: TargetDefaults;
  /** Runs of one target at most: 1 + retries after a connection error. */
  attempts: number;
  /** First retry delay; each next one doubles (BullMQ's exponential backoff). */
  backoffMs: number;
  /** Wall-clock limit on one target's scan. */
  targetTimeoutMs: number;
  createdAt: string;
}

export function parseSettings(json: string | null | undefined, campaign: string): CampaignSettings {
  if (json === null || json === undefined) throw new CampaignNameError(`no campaign ${campaign} on this queue`);
  return JSON.parse(json) as CampaignSettings;
}

/** What a job carries: the target line as enqueued (parsed again by the worker with the campaign's defaults). */
export interface ScanJobData {
  line: string;
}
