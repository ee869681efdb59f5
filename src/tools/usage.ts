/**
 * The tools' one kind of user error: a flag, argument or file the command cannot run with. The
 * CLI prints its message on one line, without a stack, and exits with EXIT.usage; the message says
 * what is wrong and how to go on.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeSystemError } from '../text/system-error.ts';
import { TlsError } from '../wire/errors.ts';

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

/**
 * The private key in a file the user named (its bytes when already read), or a UsageError naming
 * the flag and the file: OpenSSL's decoder text (`error:1E08010C:DECODER routines::unsupported`)
 * says nothing a user can act on.
 */
export function userPrivateKey(flag: string, file: string, pem: Buffer = readUserFile(flag, file)): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new UsageError(`${flag} ${file}: not a PEM private key (want an unencrypted PKCS#8, PKCS#1 or SEC1 key)`);
  }
}

/** A --cert/--key pair that cannot be used, with the reason and no engine error kind in front of it. */
export function unusableCertificate(e: unknown): UsageError {
  const reason = e instanceof TlsError ? e.message.slice(`${e.kind}: `.length) : (e as Error).message;
  return new UsageError(`--cert/--key: ${reason} (want a PEM certificate chain and its private key)`);
}
