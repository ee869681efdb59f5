/**
 * The import rule of docs/architecture.md, checked over every module in src/:
 * a folder imports only from folders below it, front ends do not import one
 * another, and text/ and syntax/ are leaves. The imports that break the rule today are
 * listed below with the reason each is there; the test fails on any new one,
 * and on a listed one that has gone (so the list only shrinks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/**
 * Each folder's rank: a module may import from its own folder or from a folder
 * of lower rank. Folders of equal rank may not import one another (scan, guard
 * and server use no other service; audit and lab may use those three).
 */
const RANK: Record<string, number> = {
  wire: 0,
  crypto: 1,
  // pki below handshake: the handshake verifies chains with it, and it needs nothing from a state machine.
  pki: 2,
  handshake: 3,
  connection: 4,
  adapter: 5,
  scan: 6,
  guard: 6,
  server: 6,
  audit: 7,
  lab: 7,
  tools: 8,
  cli: 9,
};

/**
 * Leaf utilities: any folder may use them, and they use nothing else in src/ (text/: terminal
 * text; syntax/: the endpoint, duration and rate syntaxes of the command line and config files).
 */
const LEAVES = new Set(['text', 'syntax']);

/** The subcommand modules in src/tools: each is one front end, and none borrows from another. */
const FRONT_ENDS = new Set([
  'client.ts',
  'server.ts',
  'lab.ts',
  'scan.ts',
  'scan-queue.ts',
  'guard.ts',
  'guard-transparent.ts',
  'audit.ts',
]);

/**
 * Imports allowed against the rule, `from → to` as paths under src/, each with its reason. None
 * today: a new one needs a reason here, and moving the shared thing below both sides is the fix.
 */
const KNOWN_VIOLATIONS = new Set<string>([]);

function modulesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return modulesUnder(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative module a file names: static imports and exports, `import()` and `import('…').T` types. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => relative(SRC, resolve(dirname(file), name)));
}

const folderOf = (path: string): string => path.split('/')[0]!;

/** Why an import breaks the rule, or undefined when it keeps it. */
function violation(from: string, to: string): string | undefined {
  const a = folderOf(from);
  const b = folderOf(to);
  if (to.startsWith('..')) return 'imports from outside src/';
  if (a === b) {
    const [, fileA] = from.split('/');
    const [, fileB] = to.split('/');
    if (a === 'tools' && FRONT_ENDS.has(fileA!) && FRONT_ENDS.has(fileB!)) return 'a front end imports another';
    return undefined;
  }
  if (LEAVES.has(a)) return `${a}/ is a leaf and imports nothing from src/`;
  if (LEAVES.has(b)) return undefined;
  if (RANK[a] === undefined) return `folder ${a}/ has no place in the layer order (add it to RANK and the docs)`;
  if (RANK[b] === undefined) return `folder ${b}/ has no place in the layer order (add it to RANK and the docs)`;
  if (RANK[b]! > RANK[a]!) return `upward: ${a}/ is below ${b}/`;
  if (RANK[b] === RANK[a]) return `sideways: ${a}/ and ${b}/ are at the same level`;
  return undefined;
}

const IMPORTS: [string, string][] = modulesUnder(SRC).flatMap((file) => {
  const from = relative(SRC, file);
  return importsOf(file).map((to): [string, string] => [from, to]);
});

test('the import scan sees the modules and their imports (a check over nothing would pass)', () => {
  assert.ok(IMPORTS.length > 300, `only ${IMPORTS.length} imports found`);
  assert.ok(IMPORTS.some(([from, to]) => from === 'connection/connection.ts' && to.startsWith('wire/')));
  assert.ok(
    IMPORTS.some(([from, to]) => from === 'cli/main.ts' && to.startsWith('tools/')),
    'dynamic import()s',
  );
  for (const [from, to] of IMPORTS) assert.ok(to.endsWith('.ts'), `${from} imports ${to} without its .ts`);
});

test('the rule recognises an upward, a sideways and a front-end-to-front-end import', () => {
  assert.match(violation('wire/record.ts', 'crypto/prf.ts') ?? '', /upward/);
  assert.match(violation('scan/scan.ts', 'guard/policy.ts') ?? '', /sideways/);
  assert.match(violation('tools/scan.ts', 'tools/guard.ts') ?? '', /front end/);
  assert.match(violation('tools/scan-queue.ts', 'tools/scan.ts') ?? '', /front end/);
  assert.match(violation('text/terminal.ts', 'wire/codec.ts') ?? '', /leaf/);
  assert.match(violation('syntax/endpoint.ts', 'text/terminal.ts') ?? '', /leaf/);
  assert.equal(violation('wire/record.ts', 'syntax/endpoint.ts'), undefined);
  assert.equal(violation('tools/scan.ts', 'tools/usage.ts'), undefined);
  assert.equal(violation('lab/run.ts', 'text/terminal.ts'), undefined);
  assert.equal(violation('handshake/client.ts', 'pki/verify.ts'), undefined);
});

test('no module in src/ imports upward, sideways, or from another front end, beyond the known list', () => {
  const found = new Map<string, string>();
  for (const [from, to] of IMPORTS) {
    const why = violation(from, to);
    if (why !== undefined) found.set(`${from} → ${to}`, why);
  }
  const fresh = [...found].filter(([edge]) => !KNOWN_VIOLATIONS.has(edge)).map(([edge, why]) => `${edge} (${why})`);
  assert.deepStrictEqual(fresh, [], 'new imports against the layer order (docs/architecture.md)');
  const gone = [...KNOWN_VIOLATIONS].filter((edge) => !found.has(edge));
  assert.deepStrictEqual(gone, [], 'fixed: remove these from KNOWN_VIOLATIONS');
});

test("the lab reaches records only through the adapter's record relay, not the engine's record layer or framing", () => {
  const reaching = IMPORTS.filter(
    ([from, to]) => folderOf(from) === 'lab' && (folderOf(to) === 'connection' || to === 'wire/record.ts'),
  ).map(([from, to]) => `${from} → ${to}`);
  assert.deepStrictEqual(reaching, [], 'use src/adapter/record-relay.ts');
  assert.ok(
    IMPORTS.some(([from, to]) => from === 'lab/attacker.ts' && to === 'adapter/record-relay.ts'),
    'the attacker uses the relay (a check over nothing would pass)',
  );
});
