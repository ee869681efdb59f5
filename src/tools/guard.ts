/**
 * `renego guard`: a TCP proxy in front of TLS servers or clients that cannot be patched, which
 * turns renegotiation off (or limits it) on the wire, the way advisory 977377's
 * DisableRenegoOnServer / DisableRenegoOnClient did for all of Windows. See docs/guard.md.
 *
 * This file maps the flags (and the YAML file they name) to a configuration, starts the guard
 * (src/guard/start.ts) and stops it on a signal.
 */
import { readFile } from 'node:fs/promises';
import { buildGuardConfig, type GuardFlags } from '../guard/config.ts';
import { startGuard, type RunningGuard } from '../guard/start.ts';
import { readUserFile } from './usage.ts';

/** The CLI entry: flags (and the YAML file they name) to a running guard that stops on SIGTERM/SIGINT. */
export async function runGuard(flags: GuardFlags): Promise<RunningGuard> {
  const yamlText = flags.config === undefined ? undefined : await readFile(flags.config, 'utf8');
  const policyText =
    flags.policyFile === undefined ? undefined : readUserFile('--policy-file', flags.policyFile).toString('utf8');
  const config = buildGuardConfig(flags, yamlText, undefined, policyText);
  const guard = await startGuard(config);
  const stop = (signal: NodeJS.Signals): void => {
    guard.logger.info({ signal }, 'signal received');
    void guard.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return guard;
}
