/**
 * A throwaway test PKI (src/pki/throwaway.ts) for one test file, written to a fresh temporary
 * directory by a top-level before hook and removed by an after hook.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { createTestPki, writePkiFiles, type PkiFiles, type TestPki } from '../../src/pki/throwaway.ts';
import { trustStoreFromPem, type TrustStore } from '../../src/pki/verify.ts';

/** The PKI of one test file; reading a field before the file's before hooks ran throws. */
export interface TempPki {
  /** The temporary directory, removed after the file's tests. */
  readonly dir: string;
  readonly pki: TestPki;
  /** The PEM files written to dir. */
  readonly files: PkiFiles;
  /** A trust store holding the PKI's CA. */
  readonly trust: TrustStore;
}

/**
 * Registers top-level before/after hooks that create a temporary directory named after prefix,
 * write a fresh PKI of this key type into it, then await setUp (the file's own preparations, in
 * the same hook: a second top-level hook may start before this one has finished), and remove the
 * directory again at the end.
 */
export function useTempPki(prefix: string, keyType: 'rsa' | 'ecdsa', setUp?: (env: TempPki) => Promise<void>): TempPki {
  let dir: string | undefined;
  let pki: TestPki | undefined;
  let files: PkiFiles | undefined;
  let trust: TrustStore | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    pki = await createTestPki({ keyType });
    files = await writePkiFiles(dir, pki);
    await setUp?.(env);
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined): T => {
    assert.ok(value !== undefined, 'the test PKI is not set up yet');
    return value;
  };
  const env: TempPki = {
    get dir() {
      return ready(dir);
    },
    get pki() {
      return ready(pki);
    },
    get files() {
      return ready(files);
    },
    get trust() {
      trust ??= trustStoreFromPem(ready(pki).ca.certPem);
      return trust;
    },
  };
  return env;
}
