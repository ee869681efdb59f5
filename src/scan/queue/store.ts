/**
 * A campaign's life on the queue, seen from outside the workers: enqueue its
 * targets (idempotently), read its results in input order, count where it
 * stands, delete it. Results are the same ScanReport objects a local scan
 * gives, kept deflated in one hash per campaign until the campaign is deleted.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { notScannedLine } from '../scan.ts';
import { parseScanTarget } from '../targets.ts';
import type { ScanReport, ScanTarget } from '../types.ts';
import {
  BULL_PREFIX,
  CAMPAIGNS_KEY,
  campaignKeys,
  jobIdFor,
  normalizedTarget,
  parseSettings,
  queueName,
  type CampaignSettings,
  type ScanJobData,
} from './campaign.ts';
import { bullConnection, type QueueAddress } from './redis.ts';

/** Targets added per round trip: big enough to amortise it, small enough to keep each script short. */
const BATCH = 500;

export function openQueue(address: QueueAddress, campaign: string): Queue<ScanJobData> {
  return new Queue<ScanJobData>(queueName(campaign), { connection: bullConnection(address), prefix: BULL_PREFIX });
}

export function encodeReport(r: ScanReport): Buffer {
  return deflateRawSync(JSON.stringify(r));
}

export function decodeReport(b: Buffer): ScanReport {
  return JSON.parse(inflateRawSync(b).toString('utf8')) as ScanReport;
}

/** Records each new id with its line and appends it to the input order; returns which were new. */
const ADD_TARGETS = `
local fresh = {}
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    fresh[#fresh + 1] = ARGV[i]
  end
end
return fresh
`;

export interface EnqueueSummary {
  /** Targets new to the campaign, queued now. */
  added: number;
  /** Targets already in the campaign (or repeated in this input): not queued again. */
  existing: number;
  /** Lines that name no target: recorded at once as not scanned, with the reason. */
  unparsable: number;
  /** The settings in force: an existing campaign keeps the ones it was created with. */
  settings: CampaignSettings;
  created: boolean;
}

/**
 * Adds one job per target not yet in the campaign. Idempotent: a target's job
 * id is derived from the campaign and the normalized target, and the targets
 * hash admits each id once. The job is added before the id is recorded, so an
 * enqueue that dies half-way loses nothing: running it again re-adds what was
 * not recorded (at worst scanning a target twice; its report is overwritten).
 */
export async function enqueueTargets(
  redis: Redis,
  queue: Queue<ScanJobData>,
  campaign: string,
  lines: readonly string[],
  settings: CampaignSettings,
): Promise<EnqueueSummary> {
  const keys = campaignKeys(campaign);
  const created = (await redis.hsetnx(keys.meta, 'settings', JSON.stringify(settings))) === 1;
  await redis.sadd(CAMPAIGNS_KEY, campaign);
  const inForce = created ? settings : parseSettings(await redis.hget(keys.meta, 'settings'), campaign);
  const summary: EnqueueSummary = { added: 0, existing: 0, unparsable: 0, settings: inForce, created };
  const seen = new Set<string>();
  for (let start = 0; start < lines.length; start += BATCH) {
    const batch: { id: string; line: string; target?: ScanTarget; error?: string }[] = [];
    for (const line of lines.slice(start, start + BATCH)) {
      let item: (typeof batch)[number];
      try {
        const target = parseScanTarget(line, inForce.defaults);
        item = { id: jobIdFor(campaign, normalizedTarget(target)), line, target };
      } catch (e) {
        item = { id: jobIdFor(campaign, `unparsable ${line.trim()}`), line, error: (e as Error).message };
      }
      if (seen.has(item.id)) summary.existing++;
      else batch.push(item);
      seen.add(item.id);
    }
    const present = await redis.hmget(keys.targets, ...batch.map((b) => b.id));
    const fresh = batch.filter((_, i) => present[i] === null);
    summary.existing += batch.length - fresh.length;
    const jobs = fresh.filter((b) => b.target !== undefined);
    if (jobs.length > 0) {
      await queue.addBulk(
        jobs.map((b) => ({
          name: 'scan',
          data: { line: b.line },
          opts: {
            jobId: b.id,
            attempts: inForce.attempts,
            backoff: { type: 'exponential', delay: inForce.backoffMs },
            // The report is kept in the results hash; the job itself is no longer needed.
            removeOnComplete: true,
            // A job fails only when BullMQ gives up on it (stalled too often): kept so `results` can say so.
            removeOnFail: false,
          },
        })),
      );
    }
    if (fresh.length === 0) continue;
    const recorded = (await redis.eval(
      ADD_TARGETS,
      2,
      keys.targets,
      keys.order,
      ...fresh.flatMap((b) => [b.id, b.line]),
    )) as string[];
    const isNew = new Set(recorded);
    summary.existing += fresh.length - isNew.size;
    for (const b of fresh) {
      if (!isNew.has(b.id)) continue;
      if (b.error === undefined) {
        summary.added++;
        continue;
      }
      summary.unparsable++;
      await storeReport(redis, campaign, b.id, notScannedLine(b.line, 'invalid-target', b.error));
    }
  }
  return summary;
}

/** Whether a report says the target could not be scanned at all. */
export function isNotScanned(r: ScanReport): boolean {
  return !r.ok;
}

/** Keeps a target's report, replacing any earlier one (a rerun after a stall reports the same target once). */
export async function storeReport(redis: Redis, campaign: string, id: string, r: ScanReport): Promise<void> {
  const keys = campaignKeys(campaign);
  const m = redis.multi().hset(keys.results, id, encodeReport(r));
  if (isNotScanned(r)) m.sadd(keys.failed, id);
  else m.srem(keys.failed, id);
  await m.exec();
}

export interface CampaignResult {
  line: string;
  /** undefined: not done yet. */
  report: ScanReport | undefined;
}

/**
 * Every target of the campaign in input order, with its report when done. A
 * job BullMQ gave up on (stalled more often than allowed) gets a not-scanned
 * report with BullMQ's reason, so each target is reported once either way.
 * Reads a page at a time: memory is bounded by the page, not the campaign.
 */
export async function* campaignResults(
  redis: Redis,
  queue: Queue<ScanJobData>,
  campaign: string,
  pageSize = BATCH,
): AsyncGenerator<CampaignResult> {
  const keys = campaignKeys(campaign);
  const givenUp = new Map<string, string>();
  for (const job of await queue.getFailed()) {
    if (job.id !== undefined) givenUp.set(job.id, job.failedReason);
  }
  for (let start = 0; ; start += pageSize) {
    const ids = await redis.lrange(keys.order, start, start + pageSize - 1);
    if (ids.length === 0) return;
    const [lines, blobs] = await Promise.all([
      redis.hmget(keys.targets, ...ids),
      redis.hmgetBuffer(keys.results, ...ids),
    ]);
    for (let i = 0; i < ids.length; i++) {
      const line = lines[i] ?? '';
      const blob = blobs[i];
      const reason = givenUp.get(ids[i]!);
      const report =
        blob !== null && blob !== undefined
          ? decodeReport(blob)
          : reason !== undefined
            ? notScannedLine(line, 'unfinished', `the queue gave up on this target: ${reason}`)
            : undefined;
      yield { line, report };
    }
  }
}

export interface CampaignStatus {
  campaign: string;
  total: number;
  /** Queued, or waiting out a retry's backoff. */
  waiting: number;
  active: number;
  /** Scanned, with a report. */
  done: number;
  /** Could not be scanned (unreachable after every retry, unparsable, over the wall-clock limit, given up). */
  failed: number;
  /** Runs retried after a connection error. */
  retried: number;
  /** Runs taken back from a worker that died or stopped renewing its lock. */
  stalled: number;
}

export async function campaignStatus(
  redis: Redis,
  queue: Queue<ScanJobData>,
  campaign: string,
): Promise<CampaignStatus> {
  const keys = campaignKeys(campaign);
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed');
  const [total, results, failed, retried, stalled] = await Promise.all([
    redis.llen(keys.order),
    redis.hlen(keys.results),
    redis.scard(keys.failed),
    redis.get(keys.retried),
    redis.get(keys.stalled),
  ]);
  const given = counts['failed'] ?? 0;
  return {
    campaign,
    total,
    waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0) + (counts['delayed'] ?? 0),
    active: counts['active'] ?? 0,
    done: results - failed,
    failed: failed + given,
    retried: Number(retried ?? 0),
    stalled: Number(stalled ?? 0),
  };
}

export async function listCampaigns(redis: Redis): Promise<string[]> {
  return (await redis.smembers(CAMPAIGNS_KEY)).sort();
}

/** Removes the campaign: its BullMQ queue (active jobs included) and every key of ours. */
export async function deleteCampaign(redis: Redis, queue: Queue<ScanJobData>, campaign: string): Promise<boolean> {
  const keys = campaignKeys(campaign);
  const existed = (await redis.srem(CAMPAIGNS_KEY, campaign)) === 1;
  await queue.obliterate({ force: true });
  const removed = await redis.del(...Object.values(keys));
  return existed || removed > 0;
}
