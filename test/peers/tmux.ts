/**
 * A terminal a test can type into and read, as a person at an 80×24 terminal would: a detached
 * tmux session on a server of its own (`tmux -S SOCKET` in a temporary folder, so tests running
 * side by side and a person's own tmux never meet, and stop() leaves no socket file behind),
 * running a plain bash with the prompt "$ ". `type` is send-keys,
 * `screen` and `scrollback` are capture-pane.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const COMMAND_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

export interface TerminalOptions {
  /** The shell's working directory. */
  readonly cwd: string;
  readonly width?: number;
  readonly height?: number;
  /** Variables added to the shell's environment. */
  readonly env?: NodeJS.ProcessEnv;
}

export class Terminal {
  private constructor(
    private readonly dir: string,
    readonly width: number,
    readonly height: number,
  ) {}

  /** Starts the tmux server and its one session; stop() ends both. */
  static async start(options: TerminalOptions): Promise<Terminal> {
    const width = options.width ?? 80;
    const height = options.height ?? 24;
    const terminal = new Terminal(await mkdtemp(join(tmpdir(), 'renego-tmux-')), width, height);
    const env = { ...process.env, ...options.env, PS1: '$ ' };
    try {
      // -f /dev/null: no user configuration; no status line, so the pane is the whole width × height.
      await terminal.tmux(
        ['-f', '/dev/null', 'new-session', '-d', '-x', String(width), '-y', String(height), '-c', options.cwd],
        ['bash', '--norc', '--noprofile'],
        env,
      );
      await terminal.tmux(['set-option', '-g', 'status', 'off']);
      await terminal.tmux(['set-option', '-g', 'history-limit', '10000']);
      await terminal.tmux(['resize-window', '-x', String(width), '-y', String(height)]);
    } catch (e) {
      await terminal.stop();
      throw e;
    }
    return terminal;
  }

  /** Types text and presses Enter. */
  async type(text: string): Promise<void> {
    await this.tmux(['send-keys', '-l', text]);
    await this.tmux(['send-keys', 'Enter']);
  }

  /**
   * The lines on screen now, trailing blanks removed, with the rows that the terminal wrapped
   * joined again (a line longer than the width is one that did not fit).
   */
  async screen(): Promise<string[]> {
    const { stdout } = await this.tmux(['capture-pane', '-p', '-J']);
    return rows(stdout);
  }

  /** Everything printed since the session started (scrollback and screen), wrapped rows joined. */
  async scrollback(): Promise<string[]> {
    const { stdout } = await this.tmux(['capture-pane', '-p', '-J', '-S', '-']);
    return rows(stdout);
  }

  /** The pane's size as tmux reports it, e.g. "80x24". */
  async size(): Promise<string> {
    const { stdout } = await this.tmux(['display-message', '-p', '#{pane_width}x#{pane_height}']);
    return stdout.trim();
  }

  /**
   * Polls the scrollback until re matches it (joined with newlines), calling each() with the
   * visible screen at every poll; rejects with the last screen after timeoutMs.
   */
  async waitFor(re: RegExp, timeoutMs: number, each?: (screen: string[]) => void): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (each !== undefined) each(await this.screen());
      const text = (await this.scrollback()).join('\n');
      if (re.test(text)) return text;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} on the terminal:\n${text.slice(-3000)}`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Ends the session, whatever runs in it, and the tmux server, and removes the socket. Safe to call twice. */
  async stop(): Promise<void> {
    await this.tmux(['kill-server']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private tmux(
    args: readonly string[],
    command: readonly string[] = [],
    env?: NodeJS.ProcessEnv,
  ): Promise<{ stdout: string }> {
    return run('tmux', ['-S', join(this.dir, 'socket'), ...args, ...command], { timeout: COMMAND_TIMEOUT_MS, env });
  }
}

function rows(captured: string): string[] {
  const lines = captured.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
