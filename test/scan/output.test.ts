/**
 * What `renego scan` writes, as a person at an 80-column terminal sees it: a
 * progress bar that redraws in place, results in the order the targets were
 * given, and the testssl.sh-style switches (--quiet, --no-color, --json-file,
 * --html-file, --fail-on).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ScanReport, Verdict } from '../../src/scan/types.ts';
import { reachesThreshold } from '../../src/scan/verdict.ts';
import { runScanCommand } from '../../src/tools/scan.ts';
import { EXIT } from '../../src/tools/usage.ts';
import type { ScanIo } from '../../src/tools/scan-options.ts';
import { createNetnsPair, netnsSkipReason, SERVER_ADDRESS } from '../peers/netns.ts';
import { listenLocal } from '../peers/local-server.ts';
import { freePort } from '../peers/ports.ts';

/** Enough of a terminal to see what is left on screen: carriage return, line feed, erase line, auto-wrap. */
class Screen {
  private readonly rows: string[][] = [[]];
  private row = 0;
  private col = 0;
  constructor(private readonly width: number) {}

  write(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\u001b') {
        // eslint-disable-next-line no-control-regex -- a terminal control sequence starts with ESC
        const m = /^\x1b\[([0-9;]*)([A-Za-z])/.exec(s.slice(i));
        assert.ok(m, `a control sequence the screen knows at ${JSON.stringify(s.slice(i, i + 8))}`);
        if (m[2] === 'K') this.rows[this.row]!.length = Math.min(this.rows[this.row]!.length, this.col);
        i += m[0].length - 1;
      } else if (ch === '\r') this.col = 0;
      else if (ch === '\n') this.newline();
      else {
        if (this.col === this.width) this.newline();
        this.rows[this.row]![this.col++] = ch;
      }
    }
  }

  private newline(): void {
    this.row++;
    this.col = 0;
    this.rows[this.row] ??= [];
  }

  lines(): string[] {
    return this.rows.map((r) => Array.from(r, (c) => c ?? ' ').join(''));
  }
}

interface Captured extends ScanIo {
  out: string;
  err: string;
  barFrames: string[];
}

function terminalIo(screen: Screen | undefined, tty: boolean, columns = 80): Captured {
  const io: Captured = {
    out: '',
    err: '',
    barFrames: [],
    stdout: {
      isTTY: tty,
      columns,
      write: (s: string) => {
        io.out += s;
        screen?.write(s);
      },
    },
    stderr: {
      isTTY: tty,
      columns,
      write: (s: string) => {
        io.err += s;
        if (s.startsWith('\r\u001b[K') && s.length > 4) io.barFrames.push(s.slice(4));
        screen?.write(s);
      },
    },
    env: {},
    readStdin: async () => '',
  };
  return io;
}

/** Ports with nothing listening: each target fails at once, "not scanned". */
async function closedTargets(n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => `127.0.0.1:${await freePort()}`));
}

/** A listener that accepts and never answers: its scan ends only at --timeout, after the refused ones. */
/** The reports of a `--json` run, one per line. */
function jsonLines(text: string): ScanReport[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ScanReport);
}

/** A server on 127.0.0.1 that does `onConnection` with each connection; its target and close(). */
async function localTarget(onConnection: (s: Socket) => void): Promise<{ target: string; close(): Promise<void> }> {
  const local = await listenLocal(createServer((s) => onConnection(s.on('error', () => undefined))));
  return { target: `127.0.0.1:${local.port}`, close: local.close };
}

/** Accepts and says nothing. */
const silentServer = () => localTarget(() => undefined);
/** Answers the ClientHello as an HTTP server would. */
const plaintextServer = () =>
  localTarget((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
/** Accepts and resets at once (RST, SO_LINGER 0), before a byte of TLS. */
const resetServer = () => localTarget((s) => s.resetAndDestroy());

describe('renego scan on an 80-column terminal', () => {
  test('the progress bar of a 20-target run never wraps and leaves no line behind', async () => {
    const screen = new Screen(80);
    const io = terminalIo(screen, true);
    const targets = await closedTargets(20);
    const code = await runScanCommand({ targets, timeout: 1000, retries: 0, color: false }, io);
    assert.equal(code, EXIT.usage);
    assert.ok(io.barFrames.length >= 20, `the bar was drawn (${io.barFrames.length} frames)`);
    for (const f of io.barFrames) assert.ok([...f].length < 80, `a frame fits: ${f} (${[...f].length})`);
    assert.ok(
      io.barFrames.some((f) => /\d\d\/20 scanned/.test(f)),
      'counts reached two digits',
    );
    const left = screen.lines().filter((l) => l.includes('running'));
    assert.deepEqual(left, [], 'no bar left on screen');
    assert.equal(screen.lines().filter((l) => l.includes('NOT SCANNED')).length, 20, 'one line per target');
  });

  test('the bar and the summary say "not scanned" for the same thing', async () => {
    const io = terminalIo(undefined, true);
    await runScanCommand({ targets: await closedTargets(3), timeout: 1000, retries: 0 }, io);
    assert.ok(
      io.barFrames.some((f) => f.includes('3 not scanned')),
      io.barFrames.at(-1),
    );
    assert.ok(io.barFrames.every((f) => !f.includes('failed')));
    assert.match(io.err, /3 targets in .* s: 0 vulnerable, 3 not scanned/);
  });
});

describe('renego scan output order and files', () => {
  test('text, JSON Lines and HTML list targets in input order, not completion order', async (t) => {
    const slow = await silentServer();
    const dir = await mkdtemp(join(tmpdir(), 'renego-scan-order-'));
    t.after(async () => {
      await slow.close();
      await rm(dir, { recursive: true, force: true });
    });
    const targets = [slow.target, ...(await closedTargets(3))];
    const jsonFile = join(dir, 'r.jsonl');
    const html = join(dir, 'r.html');
    const io = terminalIo(undefined, false);
    await runScanCommand({ targets, timeout: 300, retries: 0, jsonFile, html }, io);
    const textOrder = io.out
      .split('\n')
      .filter((l) => l.startsWith('127.0.0.1:'))
      .map((l) => l.split(' ')[0]);
    assert.deepEqual(textOrder, targets, 'text on stdout');
    const json = jsonLines(await readFile(jsonFile, 'utf8')).map((r) => r.target);
    assert.deepEqual(json, targets, '--json-file');
    const page = await readFile(html, 'utf8');
    const rows = [...page.matchAll(/<tr><td><a href="#[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);
    assert.deepEqual(rows, targets, '--html-file summary table');
  });

  test('--quiet prints findings only: nothing on stdout for unscannable targets, no summary, no bar', async () => {
    const io = terminalIo(undefined, true);
    const targets = await closedTargets(2);
    await runScanCommand({ targets, timeout: 1000, retries: 0, quiet: true }, io);
    assert.equal(io.out, '');
    assert.deepEqual(io.barFrames, []);
    assert.doesNotMatch(io.err, /targets in/);
    assert.equal(
      io.err.split('\n').filter((l) => l.startsWith('renego scan: 127.0.0.1:')).length,
      2,
      'one message per target that could not be scanned',
    );
  });

  test('--no-color drops colours even on a terminal', async () => {
    const io = terminalIo(undefined, true);
    await runScanCommand({ targets: await closedTargets(1), timeout: 1000, retries: 0, color: false }, io);
    assert.match(io.out, /NOT SCANNED/);
    assert.ok(!io.out.includes('\u001b['));
    const coloured = terminalIo(undefined, true);
    await runScanCommand({ targets: await closedTargets(1), timeout: 1000, retries: 0 }, coloured);
    assert.ok(coloured.out.includes('\u001b['), 'colours by default on a terminal');
  });

  test('an unwritable --json-file or --html-file fails before scanning, and --fail-on takes only known severities', async () => {
    for (const o of [{ jsonFile: '/nonexistent/r.jsonl' }, { html: '/nonexistent/r.html' }, { failOn: 'critical' }]) {
      const io = terminalIo(undefined, false);
      assert.equal(await runScanCommand({ targets: ['127.0.0.1:1'], ...o }, io), EXIT.usage);
      assert.match(io.err, /cannot write|--fail-on wants high, medium or any/);
      assert.equal(io.out, '', 'nothing was scanned');
    }
  });
});

/** A listener that answers every connection with a plaintext HTTP error, as an HTTP server on the TLS port would. */
describe('how far a scan got: the JSON report says it in a typed field', () => {
  test('refused, unresolvable, reset, silent and not TLS, each with its reachability, exit code 2', async (t) => {
    const reset = await resetServer();
    const silent = await silentServer();
    const plaintext = await plaintextServer();
    t.after(async () => {
      await reset.close();
      await silent.close();
      await plaintext.close();
    });
    // Port 1 on loopback: nothing listens there, the kernel answers RST. `bad..name` the C library rejects without DNS.
    const targets = ['127.0.0.1:1', 'bad..name', reset.target, silent.target, plaintext.target];
    const io = terminalIo(undefined, false);
    const code = await runScanCommand({ targets, timeout: 800, retries: 0, json: true }, io);
    assert.equal(code, EXIT.usage);
    const reports = jsonLines(io.out);
    assert.deepEqual(
      reports.map((r) => [r.target, r.ok, r.reachability]),
      [
        ['127.0.0.1:1', false, 'refused'],
        ['bad..name:443', false, 'unresolvable'],
        [reset.target, false, 'reset'],
        [silent.target, false, 'silent'],
        [plaintext.target, false, 'not-tls'],
      ],
    );
    for (const r of reports) assert.match(r.advice[0] ?? '', /^The target could not be scanned: /);
  });

  test(
    'connect-timeout (SYNs dropped) and unroutable (no route), in namespaces this test creates',
    { skip: netnsSkipReason() },
    async (t) => {
      const pair = await createNetnsPair();
      t.after(() => pair.remove());
      // The server namespace drops every SYN to port 443; 198.19.0.1 has no route in the client's.
      const drop = await pair.exec(pair.server, ['nft', '-f', '-'], {
        stdin:
          'table inet renego_scan_test {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 443 drop\n }\n}\n',
      });
      assert.equal(drop.code, 0, drop.stderr);
      const targets = [`${SERVER_ADDRESS}:443`, '198.19.0.1:443'];
      const r = await pair.exec(
        pair.client,
        [
          process.execPath,
          '--import',
          'tsx',
          'src/cli/main.ts',
          'scan',
          ...targets,
          '--json',
          '--timeout',
          '500',
          '--retries',
          '0',
        ],
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, EXIT.usage, r.stderr);
      const reports = jsonLines(r.stdout);
      assert.deepEqual(
        reports.map((x) => [x.target, x.ok, x.reachability]),
        [
          [targets[0], false, 'connect-timeout'],
          [targets[1], false, 'unroutable'],
        ],
      );
    },
  );
});

describe('--fail-on severities', () => {
  const verdict = (id: Verdict['id'], answer: Verdict['answer']): Verdict => ({
    id,
    title: id,
    answer,
    reason: '',
    evidence: [],
  });
  const limitedOnly = [verdict('CVE-2009-3555', 'no'), verdict('CVE-2011-1473', 'limited')];
  const tripleOnly = [verdict('CVE-2009-3555', 'no'), verdict('triple-handshake', 'yes')];
  const injection = [verdict('CVE-2009-3555', 'yes')];

  test('high is insecure renegotiation only', () => {
    assert.equal(reachesThreshold(injection, 'high'), true);
    assert.equal(reachesThreshold(tripleOnly, 'high'), false);
  });

  test('medium adds an unlimited renegotiation DoS and the triple handshake', () => {
    assert.equal(reachesThreshold(tripleOnly, 'medium'), true);
    assert.equal(reachesThreshold([verdict('CVE-2011-1473', 'yes')], 'medium'), true);
    assert.equal(reachesThreshold(limitedOnly, 'medium'), false);
  });

  test('any adds a limited renegotiation run; "no renegotiation" is never a finding', () => {
    assert.equal(reachesThreshold(limitedOnly, 'any'), true);
    assert.equal(reachesThreshold([verdict('no-renegotiation', 'yes')], 'any'), false);
  });
});
