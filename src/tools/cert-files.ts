/**
 * The certificate and key files a user names (`--cert`, `--key`): what cannot be used, said in the
 * user's terms. Apart from usage.ts so that a command that never reads a key (`--help`,
 * `--version`, a usage error) does not load node:crypto, about 10 ms of start-up.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { TlsError } from '../wire/errors.ts';
import { UsageError, readUserFile } from './usage.ts';

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
