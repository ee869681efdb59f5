/**
 * `renego scan enqueue | worker | results | status | delete`: the scanner on a
 * Redis queue (BullMQ), for campaigns spread over many machines. Each command
 * connects once, failing fast with one line when Redis is unreachable; the
 * local `renego scan` needs none of this.
 */
import * as fs from 'node:fs';
import type { Redis } from 'ioredis';
import { htmlReport } from '../scan/report/html.ts';
import { jsonLine } from '../scan/report/json.ts';
import { formatText, paintFor, PLAIN } from '../scan/report/text.ts';
import { reachesThreshold } from '../scan/verdict.ts';
import { checkCampaignName, type CampaignSettings } from '../scan/queue/campaign.ts';
import { DEFAULT_POLITENESS } from '../scan/queue/politeness.ts';
import { connectOnce, parseQueueAddress, type QueueAddress } from '../scan/queue/redis.ts';
import {
  campaignResults,
  campaignStatus,
  deleteCampaign,
  enqueueTargets,
  listCampaigns,
  openQueue,
  type CampaignStatus,
} from '../scan/queue/store.ts';
import {
  DEFAULT_LOCK_MS,
  DEFAULT_MAX_STALLED,
  DEFAULT_STALLED_INTERVAL_MS,
  ScanWorkers,
} from '../scan/queue/worker.ts';
import { terminalWidth, truncate } from '../text/terminal.ts';
import {
  failOnFrom,
  openOutput,
  positive,
  readTargets,
  scanOptionsFrom,
  targetDefaults,
  type ScanCommandOptions,
  type ScanIo,
} from './scan-options.ts';
import { EXIT, UsageError } from './usage.ts';

export const DEFAULT_WORKER_CONCURRENCY = 8;
export const DEFAULT_ATTEMPTS = 4;
export const DEFAULT_BACKOFF_MS = 2000;
export const DEFAULT_TARGET_TIMEOUT_MS = 120_000;

export interface QueueCommonOptions {
  queue: string;
  campaign?: string;
}

export type EnqueueOptions = QueueCommonOptions &
  ScanCommandOptions & {
    /** Connection retries after the first run (each after a doubled backoff). */
    queueRetries?: number;
    backoff?: number;
    targetTimeout?: number;
  };

export interface WorkerCommandOptions extends QueueCommonOptions {
  concurrency?: number;
  maxPerAddress?: number;
  leaseMs?: number;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalled?: number;
}

export interface ResultsOptions extends QueueCommonOptions {
  json?: boolean;
  html?: string;
  jsonl?: string;
  color?: boolean;
  failOn?: string;
}

export interface StatusOptions extends QueueCommonOptions {
  json?: boolean;
  watch?: boolean;
  interval?: number;
}

/** Runs `body` with a connection, turning any error into one line on stderr and EXIT.usage. */
async function withQueue(
  sub: string,
  o: QueueCommonOptions,
  io: Pick<ScanIo, 'stderr'>,
  body: (redis: Redis, address: QueueAddress) => Promise<number>,
): Promise<number> {
  let redis: Redis | undefined;
  try {
    if (o.campaign !== undefined) checkCampaignName(o.campaign);
    const address = parseQueueAddress(o.queue);
    redis = await connectOnce(address);
    return await body(redis, address);
  } catch (e) {
    io.stderr.write(`renego scan ${sub}: ${(e as Error).message.split('\n')[0]}\n`);
    return EXIT.usage;
  } finally {
    redis?.disconnect();
  }
}

/** The campaign a command is about: the one named, else the only one on the queue. */
async function oneCampaign(redis: Redis, o: QueueCommonOptions): Promise<string> {
  if (o.campaign !== undefined) return o.campaign;
  const all = await listCampaigns(redis);
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new UsageError('no campaign on this queue: enqueue one first');
  throw new UsageError(`several campaigns on this queue (${all.join(', ')}): name one with --campaign`);
}

export async function runEnqueue(o: EnqueueOptions, io: ScanIo): Promise<number> {
  let lines: string[];
  let settings: CampaignSettings;
  try {
    if (o.campaign === undefined) throw new UsageError('enqueue wants --campaign NAME');
    if (o.rate !== undefined)
      throw new UsageError("--rate is per process; on the queue, use the workers' --max-per-address");
    const { limiter: _none, ...scan } = scanOptionsFrom(o);
    settings = {
      scan,
      defaults: targetDefaults(o),
      attempts: 1 + positive('--queue-retries', o.queueRetries, DEFAULT_ATTEMPTS - 1, 0),
      backoffMs: positive('--backoff', o.backoff, DEFAULT_BACKOFF_MS, 1),
      targetTimeoutMs: positive('--target-timeout', o.targetTimeout, DEFAULT_TARGET_TIMEOUT_MS, 100),
      createdAt: new Date().toISOString(),
    };
    lines = await readTargets(o, io);
  } catch (e) {
    io.stderr.write(`renego scan enqueue: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  const campaign = o.campaign;
  return withQueue('enqueue', o, io, async (redis, address) => {
    const queue = openQueue(address, campaign);
    try {
      const s = await enqueueTargets(redis, queue, campaign, lines, settings);
      const kept = s.created ? '' : ' (an existing campaign: it keeps the scan options it was created with)';
      io.stderr.write(
        `campaign ${campaign}: ${s.added} targets queued, ${s.existing} already there, ${s.unparsable} unparsable${kept}\n`,
      );
      return EXIT.ok;
    } finally {
      await queue.close();
    }
  });
}

export async function runWorker(
  o: WorkerCommandOptions,
  io: Pick<ScanIo, 'stderr'>,
  signals: NodeJS.Process,
): Promise<number> {
  let options;
  try {
    options = {
      concurrency: positive('--concurrency', o.concurrency, DEFAULT_WORKER_CONCURRENCY),
      politeness: {
        limit: positive('--max-per-address', o.maxPerAddress, DEFAULT_POLITENESS.limit),
        leaseMs: positive('--lease', o.leaseMs, DEFAULT_POLITENESS.leaseMs, 100),
      },
      lockDurationMs: positive('--lock-duration', o.lockDuration, DEFAULT_LOCK_MS, 100),
      stalledIntervalMs: positive('--stalled-interval', o.stalledInterval, DEFAULT_STALLED_INTERVAL_MS, 100),
      maxStalled: positive('--max-stalled', o.maxStalled, DEFAULT_MAX_STALLED, 1),
    };
  } catch (e) {
    io.stderr.write(`renego scan worker: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  const log = (line: string): void => void io.stderr.write(`renego scan worker: ${line}\n`);
  return withQueue('worker', o, io, async (redis, address) => {
    const workers = new ScanWorkers(redis, {
      ...options,
      address,
      ...(o.campaign !== undefined ? { campaign: o.campaign } : {}),
      log,
    });
    await workers.start();
    if (workers.campaigns.length === 0) {
      log(
        o.campaign === undefined
          ? 'no campaign yet: waiting for one'
          : `campaign ${o.campaign} not enqueued yet: waiting`,
      );
    }
    // The first signal drains: no new target, the running ones finish and report. A second abandons them to the stall check.
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        signals.once('SIGINT', () => void workers.close(true).then(resolve));
        signals.once('SIGTERM', () => void workers.close(true).then(resolve));
        log(`${signal}: finishing the targets in hand (again to stop at once; they will then be rescanned elsewhere)`);
        void workers.close(false).then(resolve);
      };
      signals.once('SIGINT', () => stop('SIGINT'));
      signals.once('SIGTERM', () => stop('SIGTERM'));
    });
    log(`stopped after ${workers.processed} targets`);
    return EXIT.ok;
  });
}

export async function runResults(o: ResultsOptions, io: ScanIo): Promise<number> {
  let failOn;
  let jsonFd: number | undefined;
  try {
    failOn = failOnFrom(o.failOn);
    if (o.html !== undefined) fs.closeSync(openOutput('--html', o.html));
    if (o.jsonl !== undefined) jsonFd = openOutput('--jsonl', o.jsonl);
  } catch (e) {
    io.stderr.write(`renego scan results: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  const paint = o.color === false ? PLAIN : paintFor(io.stdout, io.env);
  const width = terminalWidth(io.stdout);
  return withQueue('results', o, io, async (redis, address) => {
    const campaign = await oneCampaign(redis, o);
    const queue = openQueue(address, campaign);
    const reports = [];
    let pending = 0;
    let notScanned = 0;
    let failing = false;
    let printed = 0;
    try {
      for await (const { report } of campaignResults(redis, queue, campaign)) {
        if (report === undefined) {
          pending++;
          continue;
        }
        if (!report.ok) notScanned++;
        if (reachesThreshold(report.verdicts, failOn)) failing = true;
        if (o.html !== undefined) reports.push(report);
        if (jsonFd !== undefined) fs.writeSync(jsonFd, `${jsonLine(report)}\n`);
        if (o.json) io.stdout.write(`${jsonLine(report)}\n`);
        else io.stdout.write(`${printed++ > 0 ? '\n' : ''}${formatText(report, paint, width)}\n`);
      }
    } finally {
      if (jsonFd !== undefined) fs.closeSync(jsonFd);
      await queue.close();
    }
    if (o.html !== undefined) fs.writeFileSync(o.html, htmlReport(reports, `renego scan: campaign ${campaign}`));
    if (pending > 0) io.stderr.write(`renego scan results: ${pending} targets of ${campaign} not done yet\n`);
    if (failing) return EXIT.failed;
    return notScanned > 0 ? EXIT.usage : EXIT.ok;
  });
}

/**
 * One line per campaign, never wider than the terminal (a line that wraps
 * cannot be redrawn in place): the bar shrinks first, then the counts are cut.
 */
export function statusLine(s: CampaignStatus, columns: number): string {
  const room = Math.max(1, columns - 1);
  const finished = s.done + s.failed;
  const counts =
    `${finished}/${s.total}  done ${s.done}  failed ${s.failed}  active ${s.active}  waiting ${s.waiting}` +
    `  retried ${s.retried}${s.stalled > 0 ? `  stalled ${s.stalled}` : ''}`;
  const head = `${s.campaign} `;
  const width = Math.min(30, room - head.length - counts.length - 3);
  const filled = s.total === 0 ? width : Math.round((Math.min(finished, s.total) / s.total) * width);
  const bar = width >= 5 ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
  return truncate(head + bar + counts, room);
}

export async function runStatus(o: StatusOptions, io: ScanIo, signals: NodeJS.Process): Promise<number> {
  let intervalMs: number;
  try {
    intervalMs = positive('--interval', o.interval, 1000, 100);
  } catch (e) {
    io.stderr.write(`renego scan status: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  return withQueue('status', o, io, async (redis, address) => {
    const names = o.campaign !== undefined ? [o.campaign] : await listCampaigns(redis);
    const queues = names.map((n) => openQueue(address, n));
    let stopped = false;
    const stop = (): void => void (stopped = true);
    signals.once('SIGINT', stop);
    try {
      let drawn = 0;
      for (;;) {
        const all = await Promise.all(names.map((n, i) => campaignStatus(redis, queues[i]!, n)));
        if (o.json) io.stdout.write(`${JSON.stringify(all)}\n`);
        else {
          const lines =
            all.length > 0 ? all.map((s) => statusLine(s, terminalWidth(io.stdout))) : ['no campaign on this queue'];
          // On a terminal, --watch redraws in place: up over the previous lines, each cleared before it is written.
          if (io.stdout.isTTY) {
            const up = drawn > 0 ? `\u001b[${drawn}A` : '';
            io.stdout.write(`${up}${lines.map((l) => `\r\u001b[K${l}`).join('\n')}\n`);
          } else io.stdout.write(`${lines.join('\n')}\n`);
          drawn = lines.length;
        }
        const settled = all.every((s) => s.waiting === 0 && s.active === 0);
        if (!o.watch || settled || stopped) return EXIT.ok;
        await new Promise((r) => setTimeout(r, intervalMs));
        if (stopped) return EXIT.ok;
      }
    } finally {
      signals.off('SIGINT', stop);
      await Promise.all(queues.map((q) => q.close()));
    }
  });
}

export async function runDelete(o: QueueCommonOptions, io: Pick<ScanIo, 'stderr'>): Promise<number> {
  if (o.campaign === undefined) {
    io.stderr.write('renego scan delete: delete wants --campaign NAME\n');
    return EXIT.usage;
  }
  const campaign = o.campaign;
  return withQueue('delete', o, io, async (redis, address) => {
    const queue = openQueue(address, campaign);
    try {
      const existed = await deleteCampaign(redis, queue, campaign);
      io.stderr.write(existed ? `campaign ${campaign} deleted\n` : `no campaign ${campaign} on this queue\n`);
      return existed ? EXIT.ok : EXIT.usage;
    } finally {
      await queue.close();
    }
  });
}
