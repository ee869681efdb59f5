/** What every benchmark suite offers to bench/run.ts, and the way to run one on its own. */
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { updateSection } from './docs.ts';

export interface SuiteOptions {
  /** Short samples, one round: checks the suite works, numbers are not to be quoted. */
  readonly quick: boolean;
  readonly rounds: number;
  /**
   * Keep only rounds during which other processes left the cores alone (waiting, within
   * bounds, for such moments); false: every round counts. Default true.
   */
  readonly quietRounds?: boolean;
  /** Length of one sample, per subject and per round. */
  readonly sampleMs: number;
  /** 'auto': profile only what misses its target. */
  readonly profile: 'auto' | 'always' | 'never';
  /** The project root, to shorten file names in profiles. */
  readonly projectDir: string;
  /** Where .cpuprofile files go. */
  readonly profileDir: string;
  readonly log: (line: string) => void;
}

export interface SuiteResult {
  /** For the terminal. */
  readonly text: string;
  /** The suite's section of docs/benchmarks.md. */
  readonly markdown: string;
  readonly targetsMet: boolean;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  run(options: SuiteOptions): Promise<SuiteResult>;
}

/**
 * A suite run as its own script (`tsx bench/<suite>.ts [--quick] [--rounds N] [--seconds S]
 * [--no-docs]`), as bench/run.ts would run it: prints its text, writes its section of
 * docs/benchmarks.md unless quick or --no-docs, exits 3 when a target is missed.
 */
export function runStandalone(suite: Suite, moduleUrl: string): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const projectDir = resolve(dirname(fileURLToPath(moduleUrl)), '..');
  const options: SuiteOptions = {
    quick: values.quick,
    rounds: Number(values.rounds ?? (values.quick ? 1 : 5)),
    sampleMs: Number(values.seconds ?? (values.quick ? 0.5 : 2)) * 1000,
    profile: 'never',
    projectDir,
    profileDir: tmpdir(),
    log: (line) => console.error(`[bench] ${line}`),
  };
  suite.run(options).then(
    async (result) => {
      console.log(result.text);
      if (!values['no-docs'] && !values.quick)
        await updateSection(join(projectDir, 'docs', 'benchmarks.md'), suite.name, result.markdown);
      process.exitCode = result.targetsMet ? 0 : 3;
    },
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exitCode = 1;
    },
  );
}
