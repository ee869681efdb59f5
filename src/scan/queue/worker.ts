/**
 * A worker process: takes targets from one campaign's queue, or from every
 * campaign on the queue, scans each exactly as a local scan does, and keeps the
 * report in Redis.
 *
 * At-least-once: BullMQ locks a job while a worker holds it and the worker
 * renews the lock every lockDuration/2; a worker that dies stops renewing, and
 * the next stalled-job check (every stalledInterval) puts the job back in the
 * queue. A job can therefore run twice (a worker frozen past its lock, then
 * waking); its report replaces the first, so each target has one report.
 *
 * Retries only for connection errors: a target that refused, dropped or reset
 * every TCP connection before it sent a byte is tried again after an exponential backoff;
 * any answer from the server is a verdict and is kept on the first run.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConnectionGate } from '../gate.ts';
import { notScanned, notScannedLine, scanTarget } from '../scan.ts';
import { resolveAddress, TransportError } from '../transport.ts';
import { parseScanTarget } from '../targets.ts';
import { isConnectionError, type ScanReport, type ScanTarget } from '../types.ts';
import {
  BULL_PREFIX,
  CAMPAIGNS_KEY,
  campaignKeys,
  parseSettings,
  queueName,
  type CampaignSettings,
  type ScanJobData,
} from './campaign.ts';
import { AddressSemaphore, type PolitenessOptions } from './politeness.ts';
import { bullConnection, describeRedisError, type QueueAddress } from './redis.ts';
import { storeReport } from './store.ts';

export interface WorkerOptions {
  address: QueueAddress;
  /** One campaign, or undefined for every campaign on the queue (new ones picked up as they appear). */
  campaign?: string;
  /** Targets scanned at once by this process, over all campaigns. */
  concurrency: number;
  politeness: PolitenessOptions;
  /** BullMQ's lock on a job: renewed every half of it; a dead worker's job is free once it runs out. */
  lockDurationMs: number;
  /** How often workers look for jobs whose lock ran out. */
  stalledIntervalMs: number;
  /** Stalls after which BullMQ gives a job up (it is then reported as not scanned). */
  maxStalled: number;
  /** One line per event worth telling (a campaign picked up, a Redis error). */
  log(line: string): void;
}

export const DEFAULT_LOCK_MS = 30_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_STALLED = 5;
/** How long a scan's politeness slots outlive it (see CampaignJobs.scan). */
const RELEASE_LINGER_MS = 50;
/** How often a worker serving every campaign looks for new ones. */
const CAMPAIGN_POLL_MS = 2000;

/** The scan found no server: every TCP connection failed before the server sent a byte, or the name did not resolve. */
export function connectionFailed(r: ScanReport): boolean {
  return !r.ok && isConnectionError(r.reachability);
}

/** The scan's report, or undefined when it did not finish within `ms` (the scan goes on; its own timeouts end it). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

class CampaignJobs {
  constructor(
    readonly campaign: string,
    readonly settings: CampaignSettings,
    private readonly redis: Redis,
    private readonly polite: AddressSemaphore,
    private readonly slots: ConnectionGate,
    private readonly politeness: PolitenessOptions,
  ) {}

  async run(job: Job<ScanJobData>): Promise<string> {
    const free = await this.slots.acquire();
    try {
      return await this.scanAndStore(job);
    } finally {
      free();
    }
  }

  private async scanAndStore(job: Job<ScanJobData>): Promise<string> {
    const s = this.settings;
    let target: ScanTarget;
    try {
      target = parseScanTarget(job.data.line, s.defaults);
    } catch (e) {
      // enqueue records unparsable lines without a job; this is a job from another version.
      await storeReport(
        this.redis,
        this.campaign,
        job.id!,
        notScannedLine(job.data.line, 'invalid-target', (e as Error).message),
      );
      return 'not scanned';
    }
    const report = await this.scan(target);
    const lastRun = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (connectionFailed(report) && !lastRun) {
      await this.redis.incr(campaignKeys(this.campaign).retried);
      // A plain error: BullMQ retries it after the job's exponential backoff.
      throw new Error(report.error);
    }
    await storeReport(this.redis, this.campaign, job.id!, report);
    return report.ok ? 'scanned' : 'not scanned';
  }

  /** One target: a politeness lease on its address for as many connections as the scan may open, and the wall-clock limit. */
  private async scan(target: ScanTarget): Promise<ScanReport> {
    const s = this.settings;
    let address: string;
    try {
      address = await resolveAddress(target);
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      return notScanned(target, e.reach, e.message);
    }
    // The scan's ConnectionGate bounds its connections at once to connectionsPerTarget: hold that many slots.
    const units = Math.min(s.scan.connectionsPerTarget, this.politeness.limit);
    const lease = await this.polite.acquire(address, units);
    const scan = scanTarget({ ...target, host: address }, { ...s.scan, connectionsPerTarget: units });
    // The slots are held until the scan has closed its connections, even past the wall-clock limit, and a
    // moment longer: its last FINs are still on their way when it returns, and the next scan's SYNs must not
    // reach the server before them.
    void scan.finally(() => setTimeout(() => void lease.release().catch(() => undefined), RELEASE_LINGER_MS));
    const report = await within(scan, s.targetTimeoutMs);
    if (report === undefined)
      return notScanned(target, 'unfinished', `not finished within the wall-clock limit of ${s.targetTimeoutMs} ms`);
    // Scanned by address, so that the lease and the connections are to the same one; reported under its name.
    return { ...report, target: target.label, host: target.host };
  }
}

/** Workers for one or every campaign, sharing this process's concurrency. */
export class ScanWorkers {
  private readonly workers = new Map<string, Worker<ScanJobData>>();
  private readonly slots: ConnectionGate;
  private readonly polite: AddressSemaphore;
  private poller: NodeJS.Timeout | undefined;
  private closing = false;
  private lastError = '';
  /** Targets this process finished (scanned or not), for the closing line. */
  processed = 0;

  constructor(
    private readonly redis: Redis,
    private readonly o: WorkerOptions,
  ) {
    this.slots = new ConnectionGate(o.concurrency);
    this.polite = new AddressSemaphore(redis, o.politeness);
  }

  /** Serves what is there now, then looks again every CAMPAIGN_POLL_MS: a campaign may be enqueued after its workers start. */
  async start(): Promise<void> {
    await this.discover();
    this.poller = setInterval(() => void this.discover().catch((e) => this.error(e)), CAMPAIGN_POLL_MS);
  }

  get campaigns(): string[] {
    return [...this.workers.keys()];
  }

  /** Stops taking jobs and waits for the ones running to finish (a drain); `force` abandons them to the stall check. */
  async close(force = false): Promise<void> {
    this.closing = true;
    if (this.poller) clearInterval(this.poller);
    await Promise.all([...this.workers.values()].map((w) => w.close(force)));
  }

  private async discover(): Promise<void> {
    const only = this.o.campaign;
    const names =
      only === undefined
        ? await this.redis.smembers(CAMPAIGNS_KEY)
        : (await this.redis.sismember(CAMPAIGNS_KEY, only)) === 1
          ? [only]
          : [];
    for (const name of names) if (!this.workers.has(name)) await this.serve(name);
    for (const [name, w] of this.workers) {
      if (names.includes(name)) continue;
      this.workers.delete(name);
      await w.close(true);
      this.o.log(`campaign ${name} deleted: no longer served`);
    }
  }

  private async serve(campaign: string): Promise<void> {
    if (this.closing) return;
    const settings = parseSettings(await this.redis.hget(campaignKeys(campaign).meta, 'settings'), campaign);
    const jobs = new CampaignJobs(campaign, settings, this.redis, this.polite, this.slots, this.o.politeness);
    const worker = new Worker<ScanJobData>(queueName(campaign), (job) => jobs.run(job), {
      connection: bullConnection(this.o.address),
      prefix: BULL_PREFIX,
      concurrency: this.o.concurrency,
      lockDuration: this.o.lockDurationMs,
      stalledInterval: this.o.stalledIntervalMs,
      maxStalledCount: this.o.maxStalled,
      // Keep what enqueue asked for; these apply only to jobs added without options.
      removeOnComplete: { count: 0 },
    });
    worker.on('completed', () => this.processed++);
    worker.on('stalled', () => void this.redis.incr(campaignKeys(campaign).stalled).catch(() => undefined));
    worker.on('error', (e) => this.error(e));
    this.workers.set(campaign, worker);
    this.o.log(`serving campaign ${campaign}`);
  }

  /** One line per distinct error: a Redis outage would otherwise print one per reconnection attempt. */
  private error(e: unknown): void {
    const line = describeRedisError(e);
    if (line === this.lastError) return;
    this.lastError = line;
    this.o.log(`error: ${line}`);
  }
}
