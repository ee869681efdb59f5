/**
 * renego as a person sees it at an 80×24 terminal: tmux runs a shell, the test types commands
 * with send-keys and reads the screen with capture-pane. `npm start` (the lab matrix), a
 * 20-target scan with its progress bar, and `renego client` typing to openssl s_server.
 * Every peer listens on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { COLUMN } from '../../src/lab/labels.ts';
import { startServer } from '../../src/server/start.ts';
import { skipReason } from '../peers/binaries.ts';
import { startOpensslServer } from '../peers/openssl-server.ts';
import { freePort } from '../peers/ports.ts';
import { useTempPki } from '../peers/temp-pki.ts';
import { Terminal } from '../peers/tmux.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const WIDTH = 80;
const HEIGHT = 24;
const RUN_TIMEOUT_MS = 120_000;
const WAIT_MS = 20_000;
const EXIT_STATUS = /^exit status (\d+)$/m;
/** The CLI from the checkout, as `npm run renego` runs it, without npm's banner. */
const RENEGO = 'npm run --silent renego --';

const skip = skipReason('tmux');

async function terminal(t: { after(fn: () => Promise<void>): void }): Promise<Terminal> {
  const term = await Terminal.start({ cwd: ROOT, width: WIDTH, height: HEIGHT, env: { NO_COLOR: '1' } });
  t.after(() => term.stop());
  assert.equal(await term.size(), `${WIDTH}x${HEIGHT}`);
  return term;
}

/** The lines after the command line typed at the prompt. */
function after(lines: readonly string[], command: string): string[] {
  const at = lines.findIndex((l) => l === `$ ${command}`);
  assert.ok(at >= 0, `the command line is on the terminal:\n${lines.join('\n')}`);
  return lines.slice(at + 1);
}

/** RENEGO_SCREENSHOTS=DIR keeps what the terminal showed, for a person to read; otherwise nothing is written. */
async function keep(name: string, lines: readonly string[]): Promise<void> {
  const dir = process.env['RENEGO_SCREENSHOTS'];
  if (dir) await writeFile(join(dir, name), lines.join('\n') + '\n');
}

function tooWide(lines: readonly string[]): string[] {
  return lines.filter((l) => [...l].length > WIDTH).map((l) => `${[...l].length}: ${l}`);
}

/** Fields of a table row: runs of text separated by two spaces or more, with their columns. */
function fields(row: string): { text: string; at: number }[] {
  return [...row.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ text: m[0], at: m.index }));
}

describe('at an 80×24 terminal (tmux)', { skip }, () => {
  test('npm start: the lab matrix fits 80 columns and every column of every table has a head', async (t) => {
    const term = await terminal(t);
    const command = 'npm start; echo "exit status $?"';
    await term.type(command);
    const text = await term.waitFor(EXIT_STATUS, RUN_TIMEOUT_MS);
    assert.equal(EXIT_STATUS.exec(text)![1], '0', text);
    const lines = after(await term.scrollback(), command);
    await keep('renego-npm-start-80x24.txt', [`$ ${command}`, ...lines]);
    assert.deepEqual(tooWide(lines), [], 'no line wraps at 80 columns');

    const heads = lines.flatMap((l, i) => (l.startsWith(`  ${COLUMN.defence}  `) ? [i] : []));
    assert.equal(heads.length, 4, 'three scenario tables and the scan table');
    let rows = 0;
    for (const h of heads) {
      const head = fields(lines[h]!);
      assert.ok(head.length >= 3, lines[h]);
      // A table row is indented by two spaces; its explanation, under it, by four.
      for (let i = h + 1; i < lines.length && lines[i]!.startsWith('  '); i++) {
        if (lines[i]!.startsWith('    ')) continue;
        const row = fields(lines[i]!);
        assert.deepEqual(
          row.map((f) => f.at),
          head.map((f) => f.at),
          `every field of "${lines[i]}" sits under a head of "${lines[h]}"`,
        );
        rows++;
      }
    }
    assert.ok(rows >= 4 * 9, `${rows} table rows`);
  });

  test('a 20-target scan: the progress bar stays on one line within 80 columns, and goes', async (t) => {
    // Two renego servers that answer, one listener that never speaks (its scan lasts until
    // --timeout, so the bar stays up), and 17 ports with nothing listening (not scanned).
    const answering = await Promise.all(
      (['legacy-2009', 'rfc5746'] as const).map((preset) =>
        startServer({ host: '127.0.0.1', port: 0, preset, www: true, log: () => undefined }),
      ),
    );
    t.after(() => Promise.all(answering.map((s) => s.close())));
    const held = new Set<Socket>();
    const silent = createServer((s) => held.add(s.on('close', () => held.delete(s))));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    t.after(async () => {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    });
    const closed = await Promise.all(Array.from({ length: 17 }, () => freePort()));
    const ports = [
      ...closed.slice(0, 6),
      answering[0]!.port,
      ...closed.slice(6, 12),
      (silent.address() as { port: number }).port,
      ...closed.slice(12),
      answering[1]!.port,
    ];
    assert.equal(ports.length, 20);
    const dir = await mkdtemp(join(tmpdir(), 'renego-terminal-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const targets = join(dir, 'targets.txt');
    await writeFile(targets, ports.map((p) => `127.0.0.1:${p}\n`).join(''));

    const term = await terminal(t);
    const command = `${RENEGO} scan --targets-file ${targets} --timeout 4000 --retries 0; echo "exit status $?"`;
    await term.type(command);
    const bars: string[] = [];
    let withBar: string[] = [];
    const text = await term.waitFor(EXIT_STATUS, RUN_TIMEOUT_MS, (screen) => {
      const shown = screen.filter((l) => /\b\d+\/20 scanned\b/.test(l));
      assert.ok(shown.length <= 1, `one bar on screen at a time, not:\n${screen.join('\n')}`);
      bars.push(...shown);
      if (shown.length > 0) withBar = screen;
    });
    await keep('renego-scan-80x24-running.txt', withBar);
    assert.ok(bars.length > 0, 'the bar was seen while the scan ran');
    assert.ok(
      bars.every((b) => [...b].length < WIDTH),
      `the bar fits: ${bars.find((b) => [...b].length >= WIDTH)}`,
    );
    assert.ok(
      bars.some((b) => /\b\d\d\/20 scanned/.test(b)),
      `counts reached two digits: ${bars.at(-1)}`,
    );
    assert.notEqual(EXIT_STATUS.exec(text)![1], '0', 'unscannable and vulnerable targets fail the run');
    const lines = after(await term.scrollback(), command);
    await keep('renego-scan-80x24.txt', [`$ ${command}`, ...lines]);
    assert.deepEqual(tooWide(lines), [], 'no line wraps at 80 columns');
    assert.deepEqual(
      lines.filter((l) => /\b\d+\/20 scanned\b/.test(l)),
      [],
      'no bar is left behind',
    );
    for (const p of ports)
      assert.ok(
        lines.some((l) => l.includes(`127.0.0.1:${p}`)),
        `127.0.0.1:${p} is reported`,
      );
    assert.match(lines.join('\n'), /20 targets in .* s: 1 vulnerable, 18 not scanned/);
  });

  describe('renego client, interactive, against openssl s_server', { skip: skipReason('openssl') }, () => {
    const env = useTempPki('renego-terminal-client-', 'rsa');

    test('a typed line reaches the server and its answer is shown; R renegotiates; Q quits', async (t) => {
      const server = await startOpensslServer({
        cert: env.files.serverCert,
        key: env.files.serverKey,
        args: ['-client_renegotiation'],
      });
      t.after(() => server.stop());
      const term = await terminal(t);
      const command = `${RENEGO} client 127.0.0.1:${server.port} --ca ${env.files.ca} --servername localhost; echo "exit status $?"`;
      await term.type(command);
      await term.waitFor(/^ {2}secure renegotiation \(RFC 5746\): supported$/m, WAIT_MS);
      assert.equal(server.countClientHellos(), 1);

      await term.type('hello from the terminal');
      await server.waitForOutput(/^hello from the terminal$/m, WAIT_MS);
      server.write('hello from s_server\n');
      await term.waitFor(/^hello from s_server$/m, WAIT_MS);

      await term.type('R');
      await term.waitFor(/^renegotiation: completed$/m, WAIT_MS);
      assert.equal(server.countClientHellos(), 2, 'the server saw a second handshake');

      await term.type('Q');
      const text = await term.waitFor(EXIT_STATUS, WAIT_MS);
      assert.equal(EXIT_STATUS.exec(text)![1], '0');
      await server.waitForOutput(/^(DONE|shutting down SSL)$/m, WAIT_MS);
      await keep('renego-client-80x24.txt', await term.screen());
    });
  });
});
