/**
 * The tools' one kind of user error: a flag, argument or file the command cannot run with. The
 * CLI prints its message on one line, without a stack, and exits with EXIT.usage; the message says
 * what is wrong and how to go on.
 */
import { readFileSync } from 'node:fs';
import { describeSystemError } from '../text/system-error.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit codes shared by every subcommand (each --help lists the ones it uses). */
export const EXIT = {
  /** The job ran and found nothing wrong. */
  ok: 0,
  /** The job ran and the answer is bad: a handshake failed, a server is vulnerable. */
  failed: 1,
  /**
   * The command could not run as asked: a bad flag or argument, an unreadable file, a port in use;
   * for `scan`, also a target that could not be scanned (its report's `reachability` says why),
   * when no finding reached --fail-on.
   */
  usage: 2,
  /** A bug in renego: the message and `--debug` for the stack belong in a bug report. */
  internal: 3,
} as const;

/** Reads a file the user named, saying which flag named it when that fails. */
export function readUserFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${file}: ${describeSystemError(e)}`);
  }
}
