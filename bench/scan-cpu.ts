/**
 * The scanner's CPU per full audit, alone: one local gnutls-serv (NORMAL, RSA-2048), full
 * audits in this process one after another, CPU time (user + system, all threads) per audit.
 *
 *   npx tsx bench/scan.ts --cpu [--rounds N] [--warmup W] [--profile FILE]
 *   npx tsx bench/scan.ts --cpu --compare DIR [--pairs P] [--warmup W]
 *
 * - Batches: `rounds` batches of 40 audits after `warmup` audits (default 1, as the scan-latency
 *   section measures). The first batches include V8 compiling the scanner's code on its helper
 *   threads; a campaign worker, which runs thousands of targets, is past that: --warmup 200
 *   measures that steady state.
 * - --compare DIR: another source tree of the project (a `git archive` of a commit, with
 *   node_modules beside it) loaded into this same process; batches of 10 audits alternate
 *   between the two trees, P pairs after `warmup` audits of each, so both see the same load
 *   from the rest of the machine. Prints each tree's CPU per audit and the per-pair ratio
 *   (this tree / DIR), and checks that every verdict is answered the same.
 * - --profile FILE: one more batch under the V8 sampling profiler (bench/lib/profile.ts), its
 *   summary printed and the .cpuprofile written to FILE.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestPki, writePkiFiles } from '../src/pki/throwaway.ts';
import { scanTarget } from '../src/scan/scan.ts';
import { parseScanTarget } from '../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanReport } from '../src/scan/types.ts';
import { which } from '../test/peers/binaries.ts';
import { startGnutlsServer } from '../test/peers/gnutls-server.ts';
import { saveProfile, summariseProfile, withCpuProfile, type FunctionTime } from './lib/profile.ts';
import { fixed } from './lib/table.ts';
import { describeCpuPerAudit, measureCpuPerAudit } from './scan-latency.ts';

const projectDir = resolve(import.meta.dirname, '..');
const PAIR_AUDITS = 10;

function listTimes(title: string, times: readonly FunctionTime[]): string[] {
  return [
    title,
    ...times.map(
      (f) => `  ${fixed(f.ms, 1).padStart(8)} ms ${fixed(100 * f.share, 1).padStart(5)}%  ${f.name}  ${f.location}`,
    ),
  ];
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.round(q * (sorted.length - 1))]!;
}

function spread(values: readonly number[], digits = 1): string {
  const f = (q: number): string => fixed(quantile(values, q), digits);
  return `min ${f(0)}, quartiles ${f(0.25)}–${f(0.75)}, median ${f(0.5)}, max ${f(1)}`;
}

type Scan = (target: ReturnType<typeof parseScanTarget>, opts: typeof DEFAULT_SCAN_OPTIONS) => Promise<ScanReport>;

/** What must not change between two trees: each verdict's answer, and the facts they rest on. */
function answers(r: ScanReport): string {
  return JSON.stringify([
    r.verdicts.map((v) => `${v.id}:${v.answer}`),
    r.versions,
    r.secureRenegotiation.extension,
    r.secureRenegotiation.scsv,
    r.secureRenegotiation.required,
    r.secureRenegotiation.enforced,
    r.clientInitiated.secure,
    r.clientInitiated.insecure,
    r.clientInitiated.split.glued,
    r.maxClientRenegotiations,
    r.extendedMasterSecret,
  ]);
}

async function compare(
  port: number,
  dir: string,
  pairs: number,
  warmup: number,
  log: (s: string) => void,
): Promise<string[]> {
  const other = resolve(dir);
  const theirs = (await import(join(other, 'src/scan/scan.ts'))) as { scanTarget: Scan };
  const trees: [string, Scan][] = [
    [other, theirs.scanTarget],
    [projectDir, scanTarget],
  ];
  const target = parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' });
  const batch = async (scan: Scan): Promise<{ ms: number; answers: string }> => {
    const c0 = process.cpuUsage();
    let last = '';
    for (let i = 0; i < PAIR_AUDITS; i++) last = answers(await scan(target, DEFAULT_SCAN_OPTIONS));
    const c = process.cpuUsage(c0);
    return { ms: (c.user + c.system) / 1000 / PAIR_AUDITS, answers: last };
  };
  for (const [, scan] of trees) for (let i = 0; i < warmup; i++) await scan(target, DEFAULT_SCAN_OPTIONS);
  const ms: [number[], number[]] = [[], []];
  const ratio: number[] = [];
  let differ = 0;
  for (let p = 0; p < pairs; p++) {
    // ABBA: each tree goes first in every other pair.
    const order = p % 2 === 0 ? [0, 1] : [1, 0];
    const r: { ms: number; answers: string }[] = [];
    for (const i of order) r[i] = await batch(trees[i]![1]);
    ms[0].push(r[0]!.ms);
    ms[1].push(r[1]!.ms);
    ratio.push(r[1]!.ms / r[0]!.ms);
    if (r[0]!.answers !== r[1]!.answers) differ++;
    log(`pair ${p + 1}: ${fixed(r[0]!.ms, 1)} / ${fixed(r[1]!.ms, 1)} ms`);
  }
  return [
    `CPU per full audit, ${pairs} pairs of ${PAIR_AUDITS} audits after ${warmup} warm-up audits of each tree:`,
    `  ${other}: ${spread(ms[0])} ms`,
    `  ${projectDir} (this tree): ${spread(ms[1])} ms`,
    `  this tree / the other, per pair: ${spread(ratio, 3)}`,
    differ === 0 ? '  verdicts: the same in every pair' : `  verdicts: DIFFERENT in ${differ} of ${pairs} pairs`,
  ];
}

export async function runCpuBench(o: {
  rounds: number;
  warmup: number;
  profile?: string;
  compare?: string;
  pairs: number;
  log: (s: string) => void;
}): Promise<string> {
  if (!which('gnutls-serv')) return 'CPU per audit: skipped, gnutls-serv is not installed.';
  const dir = await mkdtemp(join(tmpdir(), 'renego-scan-cpu-'));
  const lines: string[] = [];
  try {
    const files = await writePkiFiles(join(dir, 'pki'), await createTestPki({ keyType: 'rsa' }));
    const g = await startGnutlsServer({ cert: files.serverCert, key: files.serverKey, http: true, priority: 'NORMAL' });
    try {
      if (o.compare) return (await compare(g.port, o.compare, o.pairs, o.warmup, o.log)).join('\n');
      const ms: number[] = [];
      for (let i = 0; i < o.rounds; i++) {
        const c = await measureCpuPerAudit(g.port, 40, i === 0 ? o.warmup : 0);
        ms.push(c.ms);
        const first = o.warmup + 40 * i + 1;
        const line = `audits ${first}–${first + 39}: ${describeCpuPerAudit(c)}`;
        o.log(line);
        lines.push(line);
      }
      lines.push(
        `CPU per full audit of gnutls-serv NORMAL, ${o.rounds} batches of 40 after ${o.warmup} warm-up audit(s): ${spread(ms)} ms`,
      );
      if (o.profile) {
        const { profile } = await withCpuProfile(() => measureCpuPerAudit(g.port, 40, 0));
        await saveProfile(o.profile, profile);
        const s = summariseProfile(profile, projectDir, 30);
        lines.push(
          `profile (${o.profile}): ${fixed(s.wallMs, 0)} ms, idle ${fixed(s.idleMs, 0)} ms, GC ${fixed(s.gcMs, 0)} ms`,
          ...listTimes('self time:', s.topSelf),
          ...listTimes('charged to the innermost src/ function:', s.topProject),
          ...listTimes('src/ functions, inclusive:', s.topInclusiveProject),
        );
      }
    } finally {
      await g.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}
