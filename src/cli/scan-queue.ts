/**
 * The queue subcommands of `renego scan` (enqueue, worker, results, status,
 * delete). Kept apart from main.ts: the tools they run are imported only when
 * one of them runs, so a local scan never loads BullMQ.
 */
import type { Command } from 'commander';
import { helpFooter, probeFlags, probeOptions, processScanIo, wholeNumberArg } from './options.ts';

const QUEUE_HELP = 'the Redis holding the queue: redis://HOST:PORT/DB (rediss:// for TLS)';

export function addQueueCommands(scan: Command): void {
  // `scan` parses the options it shares with these (--targets-file, --timeout, --json, --concurrency…) wherever they
  // stand, so each action reads its options merged with the parent's (optsWithGlobals); they are declared here too
  // so each subcommand's --help lists them.

  probeOptions(
    scan
      .command('enqueue')
      .description('add one job per target to a campaign on a Redis queue (a target already there is not added again)')
      .argument('[targets...]', 'HOST[:PORT], [IPv6]:PORT, or SCHEME://HOST[:PORT], as for a local scan')
      .requiredOption('--queue <url>', QUEUE_HELP)
      .requiredOption('--campaign <name>', 'the campaign: letters, digits, ".", "-", "_"')
      .option('--targets-file <file>', 'one target per line (- for stdin; # comments)')
      .option('--quick', 'the quick plan for every target: RFC 5746, one renegotiation of each kind, TLS 1.3 only'),
  )
    .option(
      '--queue-retries <n>',
      'runs again of a target found unreachable, with doubling backoff (default 3)',
      wholeNumberArg(0),
    )
    .option(
      '--backoff <ms>',
      'wait before the first of those runs; each next one doubles (default 2000)',
      wholeNumberArg(1),
    )
    .option('--target-timeout <ms>', 'wall-clock limit on one target (default 120000)', wholeNumberArg(100))
    .addHelpText(
      'after',
      helpFooter({ ok: 'targets queued', usage: 'bad option or target file, or Redis unreachable' }, [
        'renego scan enqueue --queue redis://10.0.0.5:6379/0 --campaign estate --targets-file hosts.txt',
        'renego scan enqueue --queue redis://127.0.0.1:6379/1 --campaign mail --starttls smtp mx1.example.test',
      ]),
    )
    .action(async (targets: string[], _o, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      const { runEnqueue } = await import('../tools/scan-queue.ts');
      process.exitCode = await runEnqueue(
        {
          queue: o.queue,
          campaign: o.campaign,
          targets,
          targetsFile: o.targetsFile,
          quick: o.quick,
          ...probeFlags(o),
          queueRetries: o.queueRetries,
          backoff: o.backoff,
          targetTimeout: o.targetTimeout,
        },
        processScanIo(),
      );
    });

  scan
    .command('worker')
    .description('scan targets from the queue until SIGINT or SIGTERM, then finish the ones in hand and stop')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--campaign <name>', 'serve this campaign only (default: every campaign, new ones as they appear)')
    .option('--concurrency <n>', 'targets scanned at once by this process (default 8)', wholeNumberArg(1))
    .option(
      '--max-per-address <k>',
      'connections at once to one IP address over all workers (default 6)',
      wholeNumberArg(1),
    )
    .option(
      '--lease <ms>',
      'a dead worker holds its politeness slots this long at most (default 30000)',
      wholeNumberArg(100),
    )
    .option(
      '--lock-duration <ms>',
      "a dead worker's targets are taken back after this (default 30000)",
      wholeNumberArg(100),
    )
    .option('--stalled-interval <ms>', 'how often to look for such targets (default 30000)', wholeNumberArg(100))
    .option('--max-stalled <n>', 'take a target back this often before giving it up (default 5)', wholeNumberArg(1))
    .addHelpText(
      'after',
      helpFooter({ ok: 'stopped by a signal after draining', usage: 'bad option, or Redis unreachable at start' }, [
        'renego scan worker --queue redis://10.0.0.5:6379/0 --concurrency 32',
        'renego scan worker --queue redis://127.0.0.1:6379/1 --campaign mail --max-per-address 2',
      ]),
    )
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      const { runWorker } = await import('../tools/scan-queue.ts');
      process.exitCode = await runWorker(
        {
          queue: o.queue,
          campaign: o.campaign,
          concurrency: o.concurrency,
          maxPerAddress: o.maxPerAddress,
          leaseMs: o.lease,
          lockDuration: o.lockDuration,
          stalledInterval: o.stalledInterval,
          maxStalled: o.maxStalled,
        },
        processScanIo(),
        process,
      );
    });

  scan
    .command('results')
    .description("print a campaign's reports in input order (those done so far), as a local scan prints them")
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--campaign <name>', 'the campaign (default: the only one on the queue)')
    .option('--json', 'one JSON object per target (JSON Lines), schema in docs/scan.md')
    .option('--jsonl <file>', 'also write JSON Lines to FILE')
    .option('--html <file>', 'also write a self-contained HTML report to FILE')
    .option('--no-color', 'no colours')
    .option('--fail-on <severity>', 'exit 1 when a finding reaches high, medium (default) or any')
    .addHelpText(
      'after',
      helpFooter(
        {
          ok: 'every reported target scanned, nothing vulnerable',
          failed: 'a finding at or above --fail-on on at least one target',
          usage: 'bad option, Redis unreachable, or a target could not be scanned',
        },
        [
          'renego scan results --queue redis://10.0.0.5:6379/0 --campaign estate --json > estate.jsonl',
          'renego scan results --queue redis://127.0.0.1:6379/1 --html report.html --jsonl report.jsonl',
        ],
      ),
    )
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      const { runResults } = await import('../tools/scan-queue.ts');
      process.exitCode = await runResults(
        {
          queue: o.queue,
          campaign: o.campaign,
          json: o.json,
          jsonl: o.jsonl,
          html: o.html,
          color: o.color,
          failOn: o.failOn,
        },
        processScanIo(),
      );
    });

  scan
    .command('status')
    .description('counts per campaign (waiting, active, done, failed, retried) with a progress bar')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--campaign <name>', 'this campaign only (default: every campaign)')
    .option('--watch', 'redraw until every campaign is finished (or Ctrl-C)')
    .option('--interval <ms>', 'redraw period with --watch (default 1000)', wholeNumberArg(100))
    .option('--json', 'the counts as one JSON array per redraw')
    .addHelpText(
      'after',
      helpFooter({ ok: 'counts printed', usage: 'bad option, or Redis unreachable' }, [
        'renego scan status --queue redis://10.0.0.5:6379/0 --watch',
        'renego scan status --queue redis://127.0.0.1:6379/1 --campaign mail --json',
      ]),
    )
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      const { runStatus } = await import('../tools/scan-queue.ts');
      process.exitCode = await runStatus(
        { queue: o.queue, campaign: o.campaign, watch: o.watch, interval: o.interval, json: o.json },
        processScanIo(),
        process,
      );
    });

  scan
    .command('delete')
    .description('remove a campaign: its queued jobs and its results')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .requiredOption('--campaign <name>', 'the campaign to remove')
    .addHelpText(
      'after',
      helpFooter({ ok: 'deleted', usage: 'no such campaign, bad option, or Redis unreachable' }, [
        'renego scan delete --queue redis://10.0.0.5:6379/0 --campaign estate',
        'renego scan results --queue redis://10.0.0.5:6379/0 --campaign estate --jsonl estate.jsonl && renego scan delete --queue redis://10.0.0.5:6379/0 --campaign estate',
      ]),
    )
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      const { runDelete } = await import('../tools/scan-queue.ts');
      process.exitCode = await runDelete({ queue: o.queue, campaign: o.campaign }, processScanIo());
    });
}
