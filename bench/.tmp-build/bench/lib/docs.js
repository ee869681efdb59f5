/**
 * docs/benchmarks.md holds one section per benchmark suite between markers, so running one
 * suite (`npm run bench -- --only client`) replaces its own section and keeps the others.
 */
import { readFile, writeFile } from 'node:fs/promises';
const INTRO = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); each section is replaced when its suite runs again
(\`npm run bench -- --only <suite>\`). Performance is stated as ratios against a reference
implementation measured in the same run, against the same local peer, never as absolute
thresholds in tests.
`;
function markers(suite) {
    return { start: `<!-- bench:${suite}:start -->`, end: `<!-- bench:${suite}:end -->` };
}
export async function updateSection(path, suite, body) {
    let text;
    try {
        text = await readFile(path, 'utf8');
    }
    catch {
        text = INTRO;
    }
    const { start, end } = markers(suite);
    const block = `${start}\n${body.trim()}\n${end}`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from >= 0 && to > from) {
        text = text.slice(0, from) + block + text.slice(to + end.length);
    }
    else {
        text = `${text.trimEnd()}\n\n${block}\n`;
    }
    await writeFile(path, text.endsWith('\n') ? text : `${text}\n`);
}
//# sourceMappingURL=docs.js.map