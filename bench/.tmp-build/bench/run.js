/**
 * `npm run bench`: runs the benchmark suites, prints their tables and rewrites each suite's
 * section of docs/benchmarks.md.
 *
 *   npm run bench                       every suite, full length, docs updated
 *   npm run bench -- --quick            short samples, one round: checks it works (docs untouched)
 *   npm run bench -- --only client      one suite
 *   npm run bench -- --profile          profile every metric (default: only those short of target)
 *   npm run bench -- --no-profile       never profile
 *   npm run bench -- --rounds 7 --seconds 5
 *   npm run bench -- --no-docs          print only
 *
 * A new suite (server, scanner, guard) is a module exporting a Suite, added to SUITES.
 * Exit code: 0 when every required target is met, 3 when one is short, 1 on failure.
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientSuite } from "./client/suite.js";
import { updateSection } from "./lib/docs.js";
const SUITES = [clientSuite];
const FULL = { rounds: 5, seconds: 3 };
const QUICK = { rounds: 1, seconds: 0.5 };
const EXIT_TARGET_MISSED = 3;
const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const docsPath = join(projectDir, 'docs', 'benchmarks.md');
function usage() {
    return [
        'usage: npm run bench -- [--quick] [--only <suite>] [--rounds N] [--seconds S] [--profile|--no-profile] [--docs|--no-docs]',
        'suites:',
        ...SUITES.map((s) => `  ${s.name.padEnd(10)} ${s.description}`),
    ].join('\n');
}
function positiveNumber(value, name, fallback) {
    if (value === undefined)
        return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
        throw new Error(`--${name} wants a positive number, got ${value}`);
    return n;
}
async function main() {
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
    if (unknown.length > 0)
        throw new Error(`unknown suite ${unknown.join(', ')}\n${usage()}`);
    // Quick numbers are for checking the harness; they do not go into the docs unless asked.
    const writeDocs = values['no-docs'] ? false : (values.docs ?? !values.quick);
    const profileDir = join(tmpdir(), 'renego-bench-profiles');
    await mkdir(profileDir, { recursive: true });
    const options = {
        quick: values.quick,
        rounds: Math.round(positiveNumber(values.rounds, 'rounds', defaults.rounds)),
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
main().then((code) => {
    process.exitCode = code;
}, (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
});
//# sourceMappingURL=run.js.map