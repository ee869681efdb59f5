/**
 * `npm run conformance`: tlsfuzzer (../shared/tlsfuzzer, beside the repository) against
 * `renego server` with each preset and against `openssl s_server` configured alike, compared
 * with conformance/expectations.yaml; prints the table and rewrites docs/conformance.md.
 *
 *   npm run conformance                               everything, docs updated
 *   npm run conformance -- --only test-ccs --config rfc5746   a part (docs untouched)
 *   npm run conformance -- --record out.yaml          also write the failures seen, for editing expectations
 *
 * Exit code: 0 when renego fails only where expected (or tlsfuzzer is not available: skipped),
 * 1 on an unexpected failure, a hang, a crash, or an expected failure that now passes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestPki, writePkiFiles, type PkiFiles } from '../src/pki/throwaway.ts';
import { expectedFor, loadExpectations, recordExpectations, type Expectations } from './expectations.ts';
import { CONFIGS, DEFAULT_SCRIPT_TIMEOUT_S, SCRIPTS, type ScriptPlan, type ServerConfig } from './plan.ts';
import { behindOpenssl, markdown, resultKey, table, type ServerKind } from './report.ts';
import { REPO_ROOT, opensslAvailable, startOpenssl, startRenego, type RunningServer } from './servers.ts';
import { runScript, unavailableReason, type ScriptResult } from './tlsfuzzer.ts';

const TLSFUZZER_DIR = resolve(process.env['RENEGO_TLSFUZZER'] ?? join(REPO_ROOT, '..', 'shared', 'tlsfuzzer'));
const EXPECTATIONS = join(REPO_ROOT, 'conformance', 'expectations.yaml');
const DOCS = join(REPO_ROOT, 'docs', 'conformance.md');
/** Scripts at once: each is one Python process talking to one server; CI machines have two cores. */
const JOBS = 2;

interface Task {
  readonly script: ScriptPlan;
  readonly config: ServerConfig;
  readonly server: ServerKind;
  readonly port: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      config: { type: 'string', multiple: true },
      record: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const unavailable = unavailableReason(TLSFUZZER_DIR);
  if (unavailable !== undefined) {
    console.log(`conformance: skipped: ${unavailable}`);
    return 0;
  }
  const scripts = SCRIPTS.filter((s) => values.only === undefined || values.only.includes(s.name));
  const configs = CONFIGS.filter((c) => values.config === undefined || values.config.includes(c.id));
  const partial = values.only !== undefined || values.config !== undefined;
  if (scripts.length === 0 || configs.length === 0)
    throw new Error('no script or configuration matches --only/--config');
  const expectations = await loadExpectations(EXPECTATIONS);
  const unknown = unknownEntries(expectations);
  if (!opensslAvailable()) console.log('conformance: openssl not found: the OpenSSL reference column stays empty');

  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'renego-conformance-'));
  const results = new Map<string, ScriptResult>();
  try {
    const pki = await writePkiFiles(dir, await createTestPki({ keyType: 'rsa' }));
    for (const config of configs) {
      const planned = scripts.filter((s) => s.configs.includes(config.id));
      if (planned.length > 0) await runConfig(config, planned, pki, results);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;

  console.log(`\n${table(scripts, configs, results)}\n`);
  const problems = [...unknown, ...compare(scripts, configs, results, expectations)];
  for (const s of scripts) {
    for (const c of configs) {
      if (s.configs.includes(c.id) && behindOpenssl(results, s.name, c.id)) {
        console.log(`note: renego passes fewer conversations than OpenSSL in ${s.name} (${c.id})`);
      }
    }
  }
  if (values.record !== undefined) {
    await writeFile(values.record, recordExpectations(expectations, failuresSeen(scripts, configs, results)));
    console.log(`failures seen written to ${values.record}`);
  }
  if (!partial && !values['no-docs']) {
    await writeFile(DOCS, markdown(scripts, configs, results, expectations, await tlsfuzzerVersion()));
    console.log(`docs/conformance.md updated`);
  }
  console.log(`\nconformance: ${results.size} script runs in ${seconds.toFixed(0)} s`);
  if (problems.length === 0) {
    console.log('conformance: renego fails only where conformance/expectations.yaml says it may');
    return 0;
  }
  console.log(`conformance: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  return 1;
}

/** Starts both servers of a configuration, runs its scripts against each, stops them whatever happens. */
async function runConfig(
  config: ServerConfig,
  planned: readonly ScriptPlan[],
  pki: PkiFiles,
  results: Map<string, ScriptResult>,
): Promise<void> {
  const servers: RunningServer[] = [];
  try {
    const renego = await startRenego(config, pki);
    servers.push(renego);
    const openssl = await startOpenssl(config, pki);
    if (openssl !== undefined) servers.push(openssl);
    const tasks: Task[] = planned.flatMap((script) => [
      { script, config, server: 'renego' as const, port: renego.port },
      ...(openssl ? [{ script, config, server: 'openssl' as const, port: openssl.port }] : []),
    ]);
    await pool(tasks, JOBS, async (t) => {
      const r = await runScript(
        TLSFUZZER_DIR,
        t.script.name,
        t.port,
        t.script.args(pki, t.config.id, t.server),
        t.script.timeoutS ?? DEFAULT_SCRIPT_TIMEOUT_S,
      );
      results.set(resultKey(t.script.name, t.config.id, t.server), r);
      const verdict = r.status === 'finished' ? `${r.pass}/${r.total - r.skip}` : r.status;
      console.log(
        `[${t.config.id}] ${t.server.padEnd(7)} ${t.script.name.padEnd(78)} ${verdict.padStart(9)} ${r.seconds.toFixed(1).padStart(5)} s`,
      );
      if (r.status !== 'finished') console.log(r.tail.replace(/^/gm, '    '));
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function pool<T>(items: readonly T[], jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
}

/** Every way renego's results differ from the expectations, as lines for the terminal. */
function compare(
  scripts: readonly ScriptPlan[],
  configs: readonly ServerConfig[],
  results: ReadonlyMap<string, ScriptResult>,
  e: Expectations,
): string[] {
  const problems: string[] = [];
  for (const s of scripts) {
    for (const c of configs) {
      const r = results.get(resultKey(s.name, c.id, 'renego'));
      if (r === undefined) continue;
      const where = `${s.name} (${c.id})`;
      if (r.status !== 'finished') {
        problems.push(`${where}: ${r.status}`);
        continue;
      }
      const expected = expectedFor(e, s.name, c.id);
      const failed = new Set(r.failed);
      for (const name of failed) {
        if (!expected.has(name))
          problems.push(`${where}: unexpected failure '${name}': ${r.errors.get(name) ?? 'no error line'}`);
      }
      for (const name of expected.keys()) {
        if (!failed.has(name))
          problems.push(`${where}: stale expectation '${name}' (it passes now, or no longer exists): remove it`);
      }
    }
  }
  return problems;
}

/** Expectations for scripts or configurations the plan does not have: typos that would hide nothing, and must go. */
function unknownEntries(e: Expectations): string[] {
  const problems: string[] = [];
  for (const [script, byConfig] of e.failures) {
    const plan = SCRIPTS.find((s) => s.name === script);
    if (plan === undefined) problems.push(`expectations name an unknown script ${script}`);
    for (const config of byConfig.keys()) {
      if (plan !== undefined && !plan.configs.includes(config))
        problems.push(`expectations name ${script} in ${config}, which the plan does not run`);
    }
  }
  return problems;
}

function failuresSeen(
  scripts: readonly ScriptPlan[],
  configs: readonly ServerConfig[],
  results: ReadonlyMap<string, ScriptResult>,
): Map<string, Map<string, string[]>> {
  const seen = new Map<string, Map<string, string[]>>();
  for (const s of scripts) {
    for (const c of configs) {
      const r = results.get(resultKey(s.name, c.id, 'renego'));
      if (r === undefined) continue;
      const perScript = seen.get(s.name) ?? seen.set(s.name, new Map()).get(s.name)!;
      perScript.set(
        c.id,
        [...new Set(r.failed)].map((n) => n),
      );
    }
  }
  return seen;
}

async function tlsfuzzerVersion(): Promise<string> {
  const readme = await readFile(join(TLSFUZZER_DIR, 'README.md'), 'utf8').catch(() => '');
  const commit = /tlsfuzzer\/tlsfuzzer \(commit ([0-9a-f]{40})/.exec(readme)?.[1];
  return commit ? `tlsfuzzer commit ${commit.slice(0, 12)}` : 'tlsfuzzer';
}

process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
