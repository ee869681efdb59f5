/**
 * The command line's one error path: every subcommand reports a usage or start-up error on one
 * line of stderr that names the problem (and how to go on), never a stack trace, and exits with
 * EXIT.usage (2); `--debug` adds the stack. Each --help ends with its exit codes and examples.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import * as tls from 'node:tls';
import { formatDuration } from '../../src/syntax/duration.ts';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_LOG_LEVEL,
  DEFAULT_LOG_LIMITS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION,
  DEFAULT_TIMEOUTS,
} from '../../src/guard/defaults.ts';
import { DEFAULT_HELLO_MEMORY_BYTES } from '../../src/guard/hello-budget.ts';
import { SAFE_SERVER_RENEGOTIATION } from '../../src/handshake/server-config.ts';
import { DEFENCES } from '../../src/lab/defences.ts';
import { SCENARIOS } from '../../src/lab/scenarios.ts';
import { createTestPki, writePkiFiles } from '../../src/pki/throwaway.ts';
import { EXIT } from '../../src/tools/usage.ts';
import { countMatches, spawnPeer } from '../peers/peer-process.ts';
import { freePort } from '../peers/ports.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RUN_TIMEOUT_MS = 60_000;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function renego(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: ROOT, timeout: RUN_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the jobs a few at a time: each is a Node process with the TypeScript loader. */
async function inBatches<T>(jobs: readonly (() => Promise<T>)[], size = 4): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < jobs.length; i += size)
    results.push(...(await Promise.all(jobs.slice(i, i + size).map((j) => j()))));
  return results;
}

/** One line on stderr, prefixed with the subcommand, and no stack frame. */
function assertOneLine(r: Run, prefix: string, message: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith(`${prefix}: `), lines[0]);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
}

const USAGE_CASES: readonly (readonly [readonly string[], string, RegExp])[] = [
  [['server', '--port', 'abc'], 'renego server', /--port .*whole number from 0 to 65535/],
  [['server', '--port', '70000'], 'renego server', /--port/],
  [
    ['server', '--cert', '/nonexistent/cert.pem'],
    'renego server',
    /cannot read --cert \/nonexistent\/cert.pem: no such file/,
  ],
  [['server', '--min-version', 'tls1.3'], 'renego server', /unknown version tls1\.3: use tls1, tls1\.1 or tls1\.2/],
  [['server', '--client-reneg-limit', 'abc'], 'renego server', /COUNT\/WINDOW/],
  [['server', '--ciphers', 'NOPE'], 'renego server', /unknown or unavailable cipher suite NOPE/],
  // An empty label fails in the C library before any DNS query is built: no packet leaves.
  [
    ['server', '--host', 'bad..name', '--port', '0'],
    'renego server',
    /cannot listen on bad\.\.name:0: host name not found/,
  ],
  [
    ['server', '--cert', 'package.json', '--key', 'package.json'],
    'renego server',
    /--cert\/--key: no certificate in the PEM \(want a PEM certificate chain and its private key\)$/,
  ],
  [['lab', '--scenario', 'nope'], 'renego lab', /known: client-certificate, cookie-injection, redirect/],
  [
    ['lab', '--defence', 'nope'],
    'renego lab',
    new RegExp(`unknown defence nope; known: ${DEFENCES.map((d) => d.id).join(', ')}$`),
  ],
  [['lab', '--html', '/nonexistent/lab.html'], 'renego lab', /cannot write --html \/nonexistent\/lab.html/],
  [['scan', '--bogus', '127.0.0.1:1'], 'renego scan', /unknown option '--bogus'/],
  [['scan', '--concurrency', 'abc', '127.0.0.1:1'], 'renego scan', /--concurrency .*whole number 1 or more/],
  [['scan', '--paths', '/a, b', '127.0.0.1:1'], 'renego scan', /--paths entries start with \/, got b$/m],
  [
    ['scan', 'enqueue', '--queue', 'redis://127.0.0.1:1/0', '--campaign', 'c', '--paths', 'x', '127.0.0.1:1'],
    'renego scan enqueue',
    /--paths entries start with \/, got x$/m,
  ],
  [['client', '127.0.0.1:abc'], 'renego client', /bad port in 127\.0\.0\.1:abc/],
  [['client', '127.0.0.1:'], 'renego client', /bad port in 127\.0\.0\.1:/],
  [['client', 'smtp://127.0.0.1:25'], 'renego client', /needs STARTTLS.*renego scan smtp:/],
  [['client', '127.0.0.1:1', '--renegotiate', '-3'], 'renego client', /--renegotiate .*0 or more/],
  [['client', '127.0.0.1:1', '--renegotiate', 'abc'], 'renego client', /--renegotiate/],
  [['client', '127.0.0.1:1', '--timeout', 'abc'], 'renego client', /--timeout/],
  [['client', '127.0.0.1:1', '--min-version', 'tls1.3'], 'renego client', /unknown version tls1\.3/],
  [['client', '127.0.0.1:1', '--ca', '/nonexistent/ca.pem'], 'renego client', /cannot read --ca \/nonexistent\/ca.pem/],
  [['client', '127.0.0.1:1', '--cert', 'c.pem'], 'renego client', /--cert and --key go together/],
  [
    ['client', '127.0.0.1:1', '--cert', 'package.json', '--key', 'package.json'],
    'renego client',
    /--cert package\.json: no certificate in the PEM$/,
  ],
  [
    ['client', '127.0.0.1:1', '--ciphers', 'NOPE', '--json'],
    'renego client',
    /unknown or unavailable cipher suite NOPE/,
  ],
  [
    ['guard', '--listen', '127.0.0.1:1', '--upstream', '127.0.0.1:2', '--policy', 'dney'],
    'renego guard',
    /invalid guard configuration/,
  ],
];

describe('renego CLI errors', () => {
  test(`usage errors: ${USAGE_CASES.length} cases, each one line and exit ${EXIT.usage}`, async () => {
    const runs = await inBatches(
      USAGE_CASES.map(
        ([args]) =>
          () =>
            renego(args),
      ),
    );
    USAGE_CASES.forEach(([args, prefix, message], i) => {
      const r = runs[i]!;
      assert.equal(r.code, EXIT.usage, `renego ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      // Nothing ran before the error: no matrix, no scan result, no "listening".
      assert.equal(r.stdout, '', `renego ${args.join(' ')} wrote to stdout`);
      if (args[0] === 'guard') {
        // A configuration error lists every problem, one per line, under its heading.
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /^\s+at /m);
      } else {
        assertOneLine(r, prefix, message);
      }
    });
  });

  test('a port in use is a start-up error with a hint, and the server leaves no throwaway keys behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    // A temporary folder of its own: the throwaway PKI goes there (os.tmpdir() follows TMPDIR).
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-cli-'));
    try {
      const r = await renego(['server', '--port', String(port)], { TMPDIR: tmp });
      assert.equal(r.code, EXIT.usage);
      assertOneLine(
        r,
        'renego server',
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(choose another --port`),
      );
      assert.deepEqual(
        fs.readdirSync(tmp).filter((f) => f.startsWith('renego-')),
        [],
      );
    } finally {
      blocker.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('a --key that is not a PEM private key is one line naming the flag and the file, for client and server', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-cli-key-'));
    try {
      const files = await writePkiFiles(tmp, await createTestPki({ keyType: 'ecdsa' }));
      const notAKey = path.join(tmp, 'not-a-key.pem');
      fs.writeFileSync(notAKey, 'this is not a key\n');
      const escaped = notAKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const [client, server] = await Promise.all([
        renego(['client', '127.0.0.1:1', '--cert', files.clientCert, '--key', notAKey]),
        renego(['server', '--port', '0', '--cert', files.serverCert, '--key', notAKey]),
      ]);
      for (const [r, prefix] of [
        [client, 'renego client'],
        [server, 'renego server'],
      ] as const) {
        assert.equal(r.code, EXIT.usage, r.stderr);
        assertOneLine(r, prefix, new RegExp(`--key ${escaped}: not a PEM private key`));
        assert.doesNotMatch(r.stderr, /DECODER|routines|error:[0-9A-F]{8}/);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('guard: an address in use, for a listener or for metrics, is one line naming it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const free = await freePort();
      const listen = await renego([
        'guard',
        '--listen',
        `127.0.0.1:${taken}`,
        '--upstream',
        '127.0.0.1:9',
        '--policy',
        'deny',
        '--log-level',
        'silent',
      ]);
      assert.equal(listen.code, EXIT.usage);
      assertOneLine(
        listen,
        'renego guard',
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}: address already in use`),
      );
      const metrics = await renego([
        'guard',
        '--listen',
        `127.0.0.1:${free}`,
        '--upstream',
        '127.0.0.1:9',
        '--policy',
        'deny',
        '--metrics',
        `127.0.0.1:${taken}`,
        '--log-level',
        'silent',
      ]);
      assert.equal(metrics.code, EXIT.usage);
      assertOneLine(
        metrics,
        'renego guard',
        new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${taken}: address already in use`),
      );
    } finally {
      blocker.close();
    }
  });

  test('client takes an https:// URL as scan does: its host and port, not a host named "https"', async () => {
    const port = await freePort();
    const r = await renego(['client', `https://127.0.0.1:${port}/path`, '--json']);
    assert.equal(r.code, EXIT.failed, r.stderr);
    const report = JSON.parse(r.stdout) as { target: string; error?: { message: string } };
    assert.equal(report.target, `127.0.0.1:${port}`);
    assert.match(report.error?.message ?? '', /ECONNREFUSED/);
  });

  test('--debug adds the stack', async () => {
    const r = await renego(['--debug', 'server', '--cert', '/nonexistent/cert.pem']);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.stderr, /^renego server: cannot read --cert/);
    assert.match(r.stderr, /^\s+at /m);
  });

  test('every subcommand --help ends with its exit codes and examples', async () => {
    const commands = ['client', 'server', 'lab', 'guard', 'scan', 'audit'];
    const runs = await inBatches(commands.map((c) => () => renego([c, '--help'])));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, commands[i]);
      assert.match(
        r.stdout,
        new RegExp(`Exit codes:\\n(  \\d  .+\\n)+\\nExamples:\\n(  \\$ renego ${commands[i]}( .+)?\\n){3}\\n*$`),
      );
      assert.match(r.stdout, new RegExp(`  ${EXIT.usage}  `));
    });
    // The lab's IDs are listed where a user looks for them.
    const lab = runs[commands.indexOf('lab')]!.stdout.replace(/\s+/g, ' ');
    for (const { id } of [...DEFENCES, ...SCENARIOS])
      assert.ok(lab.includes(` ${id}`), `lab --help does not list ${id}`);
  });
});

describe('defaults in --help', () => {
  test('server --help shows the renegotiation policy a server runs with no flag, and the flag changing each', async () => {
    const { stdout } = await renego(['server', '--help']);
    const p = SAFE_SERVER_RENEGOTIATION;
    const yes = (b: boolean): string => (b ? 'yes' : 'no');
    for (const [what, value, flag] of [
      ['renegotiation at all', yes(p.enabled), '--no-renegotiation'],
      ['RFC 5746 secure renegotiation', yes(p.rfc5746), '--no-rfc5746'],
      ['client-initiated accepted', yes(p.allowClientInitiated), '--client-renegotiation'],
      ['client-initiated limit', `${p.clientLimit.count}/${p.clientLimit.windowMs}`, '--client-reneg-limit'],
      ['a refusal answers with', `${p.refuseWith}, fatal after ${p.maxRefusals}`, '--refuse-with'],
      ['legacy clients renegotiate', yes(p.allowUnsafeLegacy), '--legacy-renegotiation'],
      ['legacy clients refused', yes(p.requireSecureClients), '--strict'],
    ])
      assert.match(stdout, new RegExp(`^  ${what}: +${value} +${flag}$`, 'm'));
  });

  test('guard --help shows the default of every limit and timeout', async () => {
    const { stdout } = await renego(['guard', '--help']);
    const flat = stdout.replace(/\s+/g, ' ');
    const limits = DEFAULT_LOG_LIMITS.connectionLines;
    for (const [flag, value] of [
      ['--max-renegotiations', String(DEFAULT_MAX_RENEGOTIATIONS_PER_CONNECTION)],
      ['--rate-limit', 'none'],
      ['--max-connections', String(DEFAULT_MAX_CONNECTIONS)],
      ['--handshake-timeout', formatDuration(DEFAULT_TIMEOUTS.handshakeMs)],
      ['--idle-timeout', formatDuration(DEFAULT_TIMEOUTS.idleMs)],
      ['--connect-timeout', formatDuration(DEFAULT_TIMEOUTS.connectMs)],
      ['--log-level', DEFAULT_LOG_LEVEL],
      ['--log-rate', `${limits.count}/${formatDuration(limits.windowMs)}`],
      ['--drain-timeout', formatDuration(DEFAULT_DRAIN_TIMEOUT_MS)],
      ['--hello-memory', `${DEFAULT_HELLO_MEMORY_BYTES / 1024 / 1024}MiB`],
    ])
      assert.match(flat, new RegExp(` ${flag} <[^>]+> [^(]*\\(default: ${value}\\)`), `${flag} shows its default`);
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(1500), '1500ms');
  });
});

/** The pid of the child of parent whose command line contains needle (Linux /proc). */
function childRunning(parent: number, needle: string): number {
  const children = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const pid = children.find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle));
  assert.ok(pid !== undefined, `no child of ${parent} runs ${needle}`);
  return pid;
}

describe('renego server leaves no private key behind', () => {
  // Twice: a supervisor that signals the process group reaches the server and its wrapper, which
  // passes the signal on, so a second one can come while the first is still closing.
  for (const [signal, times] of [
    ['SIGINT', 1],
    ['SIGTERM', 1],
    ['SIGTERM', 2],
  ] as const) {
    test(`stopped by ${signal}${times > 1 ? ` sent ${times} times at once` : ''}, it removes its throwaway CA and keys`, async (t) => {
      // A temporary folder of its own: the throwaway PKI goes there (os.tmpdir() follows TMPDIR).
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'renego-cli-'));
      // Spawned directly, not under a shell: a shell's background job may start with SIGINT ignored.
      const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', '--port', '0'], {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = once(server, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      t.after(() => {
        server.kill('SIGKILL');
        fs.rmSync(tmp, { recursive: true, force: true });
      });
      let output = '';
      server.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
      const listening = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line: ${output}`)), RUN_TIMEOUT_MS);
        server.stdout.setEncoding('utf8').on('data', (c: string) => {
          output += c;
          if (/^listening /m.test(output)) {
            clearTimeout(timer);
            resolve(output);
          }
        });
      });
      const ca = / ca=(\S+)/.exec(listening)?.[1] ?? '';
      assert.ok(ca.startsWith(tmp) && fs.existsSync(ca), `the CA is in ${tmp}: ${listening}`);
      // What a client needs, and not the server's key, which the server holds in memory.
      assert.deepEqual(fs.readdirSync(path.dirname(ca)).sort(), ['ca.pem', 'client.key', 'client.pem']);
      server.kill(signal);
      // The second a moment later, once the first was taken (signals of one kind pending together
      // merge into one); if the server is gone by then, the second finds nothing, as it should.
      if (times > 1) await delay(50);
      for (let i = 1; i < times; i++) server.kill(signal);
      const [code, killedBy] = await exited;
      assert.equal(code, 0, `killed by ${killedBy}: ${output}`);
      assert.ok(!fs.existsSync(path.dirname(ca)), `${path.dirname(ca)} left behind`);
      // tsx keeps its compile cache there too (tsx-UID): only the server's own folders count.
      assert.deepEqual(
        fs.readdirSync(tmp).filter((f) => f.startsWith('renego-')),
        [],
      );
    });
  }
});

describe('renego server console (s_server r, R, q) and SIGUSR1', () => {
  test('r sends a HelloRequest to every connection, R asks for a client certificate, SIGUSR1 does as r, q stops the server', async () => {
    const port = await freePort();
    const server = await spawnPeer({
      name: 'renego server',
      command: process.execPath,
      args: ['--import', 'tsx', 'src/cli/main.ts', 'server', '--port', String(port)],
      host: '127.0.0.1',
      port,
      readyPattern: /^listening /m,
      cwd: ROOT,
    });
    const clients: tls.TLSSocket[] = [];
    try {
      // Two node:tls clients, which accept the server's HelloRequest (OpenSSL's default).
      for (let i = 0; i < 2; i++) {
        const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
        c.on('error', () => {});
        await once(c, 'secureConnect');
        clients.push(c);
      }
      await server.waitForOutput(/(^handshake [^\n]*\n[^]*){2}/m, RUN_TIMEOUT_MS);
      server.write('r\n');
      const afterR = await server.waitForOutput(/(hello-request [^\n]*outcome=completed[^]*){2}/, RUN_TIMEOUT_MS);
      assert.equal(countMatches(afterR, /^renegotiation peer=/m), 2);
      assert.equal(countMatches(afterR, /requestCert=false/), 2);
      server.write('R\n');
      const afterCertR = await server.waitForOutput(/(requestCert=true[^\n]*outcome=completed[^]*){2}/, RUN_TIMEOUT_MS);
      assert.equal(countMatches(afterCertR, /^renegotiation peer=/m), 4);
      // SIGUSR1 does what r does, for a server without a console (the signal goes to node, not the watchdog shell).
      process.kill(childRunning(server.pid, 'main.ts'), 'SIGUSR1');
      const afterSignal = await server.waitForOutput(
        /(requestCert=false[^\n]*outcome=completed[^]*){4}/,
        RUN_TIMEOUT_MS,
      );
      assert.equal(countMatches(afterSignal, /^renegotiation peer=/m), 6);
      server.write('q\n');
      assert.ok(await server.waitForExit(RUN_TIMEOUT_MS), 'q did not stop the server');
      assert.equal(server.exitStatus()?.code, 0);
    } finally {
      for (const c of clients) c.destroy();
      await server.stop();
    }
  });
});
