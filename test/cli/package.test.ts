/**
 * The package as a user gets it: `npm pack` from this checkout (which builds dist/ on `prepare`),
 * the tarball installed globally into a temporary prefix, and the installed `renego` run for
 * real (a server and a client talking TLS on 127.0.0.1). Also `npx renego` in the checkout.
 *
 * Tests touch no network: the tarball's production dependencies are installed from npm's cache
 * with the checkout's lockfile (`npm ci --offline --omit=dev`), so a runtime dependency that
 * sits in devDependencies fails here as it would for a user; the package folder is then
 * installed with `npm install -g`, which links its bin as a tarball install does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { skipReason } from '../peers/binaries.ts';
import { spawnPeer, startProcess } from '../peers/peer-process.ts';
import { freePort } from '../peers/ports.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const NPM_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 30_000;

const skip = skipReason('npm', 'tar');

describe('the npm package', { skip }, () => {
  let tmp: string;
  let pkg: string;
  let renego: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-package-'));
    const npm = (args: string[], cwd: string) =>
      run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeout: NPM_TIMEOUT_MS });
    await npm(['pack', '--pack-destination', tmp], ROOT);
    const tarball = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote no tarball');
    await run('tar', ['xzf', path.join(tmp, tarball), '-C', tmp], { timeout: RUN_TIMEOUT_MS });
    pkg = path.join(tmp, 'package');
    fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(pkg, 'package-lock.json'));
    await npm(['ci', '--offline', '--omit=dev', '--ignore-scripts'], pkg);
    await npm(['install', '-g', '--offline', '--ignore-scripts', '--prefix', path.join(tmp, 'prefix'), pkg], tmp);
    renego = path.join(tmp, 'prefix', 'bin', 'renego');
  });

  after(() => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds the built CLI, the license and the docs the help text points to, and no sources', () => {
    for (const f of ['dist/cli/main.js', 'LICENSE', 'README.md', 'docs/guard.md', 'docs/scan.md']) {
      assert.ok(fs.existsSync(path.join(pkg, f)), `${f} missing from the package`);
    }
    assert.ok(!fs.existsSync(path.join(pkg, 'src')), 'TypeScript sources shipped');
    assert.ok(!fs.existsSync(path.join(pkg, 'test')), 'tests shipped');
    assert.equal(fs.readFileSync(path.join(pkg, 'dist/cli/main.js'), 'utf8').split('\n')[0], '#!/usr/bin/env node');
  });

  test('the globally installed `renego` prints its help and lists every tool', async () => {
    const { stdout } = await run(renego, ['--help'], { timeout: RUN_TIMEOUT_MS });
    for (const command of ['client', 'server', 'lab', 'guard', 'scan', 'audit'])
      assert.match(stdout, new RegExp(`^  ${command} `, 'm'));
  });

  test('the installed server and client complete a TLS 1.2 handshake, and the server removes its throwaway keys', async () => {
    const port = await freePort();
    const server = await spawnPeer({
      name: 'installed renego server',
      command: renego,
      args: ['server', '--host', '127.0.0.1', '--port', String(port)],
      host: '127.0.0.1',
      port,
      readyPattern: /^listening /m,
    });
    let caDir: string | undefined;
    try {
      caDir = path.dirname(/ ca=(\S+)/.exec(server.output())?.[1] ?? '');
      assert.ok(fs.existsSync(path.join(caDir, 'ca.pem')), 'the server announced no CA file');
      const client = await startProcess({
        name: 'installed renego client',
        command: renego,
        args: [
          'client',
          `127.0.0.1:${port}`,
          '--ca',
          path.join(caDir, 'ca.pem'),
          '--servername',
          'localhost',
          '--json',
        ],
        host: '127.0.0.1',
        port,
      });
      assert.ok(await client.waitForExit(RUN_TIMEOUT_MS), 'the client did not exit');
      assert.equal(client.exitStatus()?.code, 0, client.output());
      const report = JSON.parse(client.output().trim().split('\n').at(-1)!) as Record<string, unknown>;
      assert.equal(report.version, 'TLSv1.2');
      assert.equal(report.secureRenegotiation, true);
      assert.equal(report.verified, true);
    } finally {
      await server.stop();
    }
    assert.ok(caDir !== undefined && !fs.existsSync(caDir), `the server left its private keys in ${caDir}`);
  });

  test('`npx renego` works in the checkout after the build that `prepare` runs (the bin is executable)', async () => {
    // npx runs the checkout's own bin file directly: without its exec bit a fresh clone gets "Permission denied".
    assert.ok(
      (fs.statSync(path.join(ROOT, 'dist/cli/main.js')).mode & 0o111) !== 0,
      'dist/cli/main.js is not executable',
    );
    // A cache of its own: npx writes an entry per checkout path there, and two runs sharing ~/.npm
    // (two clones testing at once) can read each other's half-written entry.
    const { stdout } = await run('npx', ['--no-install', 'renego', '--version'], {
      cwd: ROOT,
      timeout: RUN_TIMEOUT_MS,
      env: { ...process.env, npm_config_cache: path.join(tmp, 'npx-cache') },
    });
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(stdout.trim(), version);
  });
});
