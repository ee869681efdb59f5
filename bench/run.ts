/**
 * `npm run bench`: runs the benchmark suites, prints their tables and rewrites each suite's
 * section of docs/benchmarks.md.
 *
 *   npm run bench                       every suite, full length, docs updated
 *   npm run bench -- --quick            short samples, one round: checks it works (docs untouched)
 *   npm run bench -- --only client      one suite
 *   npm run bench -- --profile          profile every metric (default: only those short of target)
 *   npm run bench -- --no-profile       never profile
 *   npm run bench -- --rounds 15 --seconds 3
 *   npm run bench -- --no-docs          print only
 *   npm run bench -- --no-quiet         count every round, even while other processes load the machine
 *
 * A new suite (server, scanner, guard) is a module exporting a Suite, added to SUITES.
 * Exit code: 0 when every required target is met, 3 when one is short, 1 on failure.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientSuite } from './client/suite.ts';
import { serverSuite } from './server.ts';
import { guardSuite } from './guard.ts';
import { transparentSuite } from './guard-transparent.ts';
import { scanSuite } from './scan.ts';
import { campaignSuite } from './campaign.ts';
import { updateSection } from './lib/docs.ts';
import type { Suite, SuiteOptions } from './lib/suite.ts';

const SUITES: readonly Suite[] = [clientSuite, serverSuite, scanSuite, campaignSuite, guardSuite, transparentSuite];

const FULL = { rounds: 9, seconds: 2 };
const QUICK = { rounds: 1, seconds: 0.5 };
const EXIT_TARGET_MISSED = 3;

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const docsPath = join(projectDir, 'docs', 'benchmarks.md');

function usage(): string {
  return [
    'usage: npm run bench -- [--quick] [--only <suite>] [--rounds N] [--seconds S] [--profile|--no-profile] [--docs|--no-docs] [--no-quiet]',
    'suites:',
    ...SUITES.map((s) => `  ${s.name.padEnd(10)} ${s.description}`),
  ].join('\n');
}

function positiveNumber(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number, got ${value}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      'no-quiet': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const defaults = values.quick ? QUICK : FULL;
  const selected = values.only ?? SUITES.map((s) => s.name);
  const unknown = selected.filter((name) => !SUITES.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}\n${usage()}`);
  // Quick numbers are for checking the harness; they do not go into the docs unless asked.
  const writeDocs = values['no-docs'] ? false : (values.docs ?? !values.quick);
  const profileDir = join(tmpdir(), 'renego-bench-profiles');
  await mkdir(profileDir, { recursive: true });

  const options: SuiteOptions = {
    quick: values.quick,
    rounds: Math.round(positiveNumber(values.rounds, 'rounds', defaults.rounds)),
    quietRounds: !values['no-quiet'],
    sampleMs: positiveNumber(values.seconds, 'seconds', defaults.seconds) * 1000,
    profile: values['no-profile'] ? 'never' : values.profile ? 'always' : 'auto',
    projectDir,
    profileDir,
    log: (line) => console.error(`[bench] ${line}`),
  };

  let allMet = true;
  for (const suite of SUITES.filter((s) => selected.includes(s.name))) {
    console.error(`[bench] suite ${suite.name}: ${suite.description}`);
    const result = await suite.run(options);
    console.log(`\n${suite.name}\n${result.text}\n`);
    if (writeDocs) {
      await updateSection(docsPath, suite.name, result.markdown);
      console.error(`[bench] wrote the ${suite.name} section of ${docsPath}`);
    }
    allMet &&= result.targetsMet;
  }
  return allMet ? 0 : EXIT_TARGET_MISSED;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
