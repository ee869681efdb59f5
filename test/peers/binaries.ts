import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Debian package that brings each program the interop tests run; .ci/run installs them. */
const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  openssl: 'openssl',
  'gnutls-serv': 'gnutls-bin',
  'gnutls-cli': 'gnutls-bin',
  certtool: 'gnutls-bin',
  java: 'default-jdk-headless',
  javac: 'default-jdk-headless',
  curl: 'curl',
  tmux: 'tmux',
  nginx: 'nginx-light',
  haproxy: 'haproxy',
  stunnel4: 'stunnel4',
  'redis-server': 'redis-server',
};

const found = new Map<string, string | undefined>();

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  const directories = (process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '');
  const path = directories.map((dir) => join(dir, name)).find(isExecutableFile);
  found.set(name, path);
  return path;
}

/**
 * Why a test needing these programs must be skipped, or undefined when all are installed:
 * `test('…', { skip: skipReason('gnutls-serv') }, …)`.
 */
export function skipReason(...names: string[]): string | undefined {
  const missing = names.find((name) => which(name) === undefined);
  if (missing === undefined) return undefined;
  const pkg = DEBIAN_PACKAGE[missing];
  return pkg === undefined ? `${missing} not installed` : `${missing} not installed (apt-get install ${pkg})`;
}
