/**
 * Builds the CLI into dist/ (`npm run build`, also on `prepare`): src/cli/main.ts bundled by
 * esbuild into dist/cli/main.js, with each subcommand's lazily imported modules split into
 * dist/chunks/. Packages from the registry stay outside the bundle and load from node_modules, but
 * for commander, which every command loads first: a CommonJS package imported from ESM is resolved
 * and scanned for its exports at every start, and bundled it starts 4–7 ms sooner (`renego
 * --version`, `renego scan --quick`, medians of 40 alternated runs).
 *
 * Why a bundle and not tsc's one file per module: a short command (`renego scan --quick`, a
 * refused port) spends most of its start-up resolving and loading ~80 separate ES modules; one
 * file per subcommand cut that by about a sixth (docs/benchmarks.md, start-up line). Type
 * checking stays with tsc (`npm run typecheck`); esbuild only strips the types.
 *
 *   npx tsx scripts/build.ts [OUTDIR]      (default: dist)
 */
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const EXTERNAL = Object.keys(pkg.dependencies).filter((d) => d !== 'commander');
// commander's own require() calls (of node's modules) need a require in each ESM file.
const REQUIRE =
  "import { createRequire as __renegoRequire } from 'node:module'; const require = __renegoRequire(import.meta.url);";

/** Builds the CLI into `outDir` and returns the path of its entry point. */
export async function buildCli(outDir = join(ROOT, 'dist')): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    entryPoints: [join(ROOT, 'src/cli/main.ts')],
    outdir: join(outDir, 'cli'),
    chunkNames: '../chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: REQUIRE },
    logLevel: 'warning',
  });
  const main = join(outDir, 'cli', 'main.js');
  chmodSync(main, 0o755);
  return main;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildCli(process.argv[2] ? resolve(process.argv[2]) : undefined);
}
