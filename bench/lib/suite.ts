/** What every benchmark suite (client now; server, scanner, guard later) offers to bench/run.ts. */

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
