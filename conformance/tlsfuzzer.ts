/**
 * Running one tlsfuzzer script and reading its verdict. A script prints, per conversation,
 * `NAME ...` and then either `OK` or the error that stopped it, and at the end
 *
 *   TOTAL: n / SKIP: n / PASS: n / XFAIL: n / FAIL: n / XPASS: n
 *   FAILED:
 *   	'conversation name'
 *
 * (tlsfuzzer/runner.py). A script that prints no TOTAL line crashed; one that outlives its
 * timeout hangs, and its whole process group is killed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess } from '../test/peers/peer-process.ts';

/** Debian's interpreter: tlsfuzzer needs the python3-ecdsa package, which another python3 on the PATH may not see. */
export const PYTHON = '/usr/bin/python3';

/**
 * Runs the script with Python's `random` seeded: scripts with many generated conversations run a
 * random sample of them (test-large-hello, test-invalid-client-hello-w-record-overflow), and the
 * sizes in some conversation names are random too. Seeded, every run plays the same conversations
 * under the same names, so the expectations can name them.
 */
const SEEDED_RUN = [
  'import random, runpy, sys',
  'random.seed(5746)',
  'sys.argv = sys.argv[1:]',
  "runpy.run_path(sys.argv[0], run_name='__main__')",
].join('; ');

export interface ScriptResult {
  readonly status: 'finished' | 'crashed' | 'hung';
  readonly total: number;
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
  /** Failed conversations by name, as listed after FAILED: (a name may repeat). */
  readonly failed: readonly string[];
  /** The last error line printed for each failed conversation, for the report. */
  readonly errors: ReadonlyMap<string, string>;
  readonly seconds: number;
  /** The end of the output, for crashes and hangs. */
  readonly tail: string;
}

/** Why tlsfuzzer cannot run here, or undefined when it can. */
export function unavailableReason(tlsfuzzerDir: string): string | undefined {
  if (!existsSync(join(tlsfuzzerDir, 'scripts')) || !existsSync(join(tlsfuzzerDir, 'tlslite'))) {
    return `no tlsfuzzer at ${tlsfuzzerDir} (expected ../shared/tlsfuzzer beside the repository)`;
  }
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install python3)`;
  const probe = spawnSync(PYTHON, ['-c', 'import ecdsa'], { timeout: 10_000, stdio: 'ignore' });
  if (probe.status !== 0) return `${PYTHON} cannot import ecdsa (apt-get install python3-ecdsa)`;
  return undefined;
}

export async function runScript(
  tlsfuzzerDir: string,
  name: string,
  port: number,
  args: readonly string[],
  timeoutS: number,
): Promise<ScriptResult> {
  const started = performance.now();
  const proc = await startProcess({
    name,
    command: PYTHON,
    args: ['-c', SEEDED_RUN, join('scripts', `${name}.py`), '-h', '127.0.0.1', '-p', String(port), ...args],
    host: '127.0.0.1',
    port,
    cwd: tlsfuzzerDir,
    env: { ...process.env, PYTHONPATH: '.' },
  });
  proc.endInput();
  const exited = await proc.waitForExit(timeoutS * 1000);
  await proc.stop();
  const seconds = (performance.now() - started) / 1000;
  return parseOutput(proc.output(), exited ? undefined : `no verdict within ${timeoutS} s: killed`, seconds);
}

const COUNT = (label: string, text: string): number | undefined => {
  const m = new RegExp(`^${label}: (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

/** A conversation's start: its name followed by " ...", or `"name" repeat N` in scripts that repeat it. */
const CONVERSATION_START = /^(?:"(.+)" repeat \d+|(.+) \.\.\.)$/;
/** The error that ended a failed conversation (AssertionError: …, socket.timeout: …). */
const ERROR_LINE = /^[\w.]*(Error|Exception|timeout)\b.*$/;

export function parseOutput(output: string, hung: string | undefined, seconds: number): ScriptResult {
  const tail = output.split('\n').slice(-30).join('\n');
  const total = COUNT('TOTAL', output);
  const errors = conversationErrors(output);
  const failed: string[] = [];
  const listed = output.lastIndexOf('\nFAILED:\n');
  if (listed >= 0) {
    for (const line of output.slice(listed + '\nFAILED:\n'.length).split('\n')) {
      const m = /^\t(['"])(.*)\1$/.exec(line);
      if (!m) break;
      failed.push(m[2]!);
    }
  }
  const base = { failed, errors, seconds, tail };
  if (hung !== undefined)
    return { status: 'hung', total: total ?? 0, pass: 0, fail: 0, skip: 0, ...base, tail: `${hung}\n${tail}` };
  if (total === undefined) return { status: 'crashed', total: 0, pass: 0, fail: 0, skip: 0, ...base };
  return {
    status: 'finished',
    total,
    pass: (COUNT('PASS', output) ?? 0) + (COUNT('XFAIL', output) ?? 0),
    fail: (COUNT('FAIL', output) ?? 0) + (COUNT('XPASS', output) ?? 0),
    skip: COUNT('SKIP', output) ?? 0,
    ...base,
  };
}

function conversationErrors(output: string): Map<string, string> {
  const errors = new Map<string, string>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    const start = CONVERSATION_START.exec(line);
    if (start) {
      current = start[1] ?? start[2];
      continue;
    }
    if (current !== undefined && ERROR_LINE.test(line)) errors.set(current, line.trim());
  }
  return errors;
}
