/**
 * The scanner's CPU per full audit, alone: one local gnutls-serv (NORMAL, RSA-2048), then
 * `rounds` batches of 40 full audits in this process, one after another (start-up and a
 * warm-up audit excluded), CPU time per audit for each batch. With --profile, one more batch
 * under the V8 sampling profiler (bench/lib/profile.ts), its summary printed and the
 * .cpuprofile written to the given file.
 *
 *   npx tsx bench/scan.ts --cpu [--rounds N] [--profile FILE]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestPki, writePkiFiles } from '../src/pki/throwaway.ts';
import { which } from '../test/peers/binaries.ts';
import { startGnutlsServer } from '../test/peers/gnutls-server.ts';
import { saveProfile, summariseProfile, withCpuProfile, type FunctionTime } from './lib/profile.ts';
import { fixed } from './lib/table.ts';
import { describeCpuPerAudit, measureCpuPerAudit } from './scan-latency.ts';

function listTimes(title: string, times: readonly FunctionTime[]): string[] {
  return [
    title,
    ...times.map(
      (f) => `  ${fixed(f.ms, 1).padStart(8)} ms ${fixed(100 * f.share, 1).padStart(5)}%  ${f.name}  ${f.location}`,
    ),
  ];
}

export async function runCpuBench(o: { rounds: number; profile?: string; log: (s: string) => void }): Promise<string> {
  if (!which('gnutls-serv')) return 'CPU per audit: skipped, gnutls-serv is not installed.';
  const dir = await mkdtemp(join(tmpdir(), 'renego-scan-cpu-'));
  const lines: string[] = [];
  try {
    const files = await writePkiFiles(join(dir, 'pki'), await createTestPki({ keyType: 'rsa' }));
    const g = await startGnutlsServer({ cert: files.serverCert, key: files.serverKey, http: true, priority: 'NORMAL' });
    try {
      const ms: number[] = [];
      for (let i = 0; i < o.rounds; i++) {
        const c = await measureCpuPerAudit(g.port);
        ms.push(c.ms);
        const line = `batch ${i + 1}: ${describeCpuPerAudit(c)}`;
        o.log(line);
        lines.push(line);
      }
      const sorted = [...ms].sort((a, b) => a - b);
      lines.push(
        `CPU per full audit of gnutls-serv NORMAL, ${o.rounds} batches of 40: ${fixed(sorted[0]!, 1)}–${fixed(sorted.at(-1)!, 1)} ms, median ${fixed(sorted[Math.floor(sorted.length / 2)]!, 1)} ms`,
      );
      if (o.profile) {
        const { profile } = await withCpuProfile(() => measureCpuPerAudit(g.port));
        await saveProfile(o.profile, profile);
        const s = summariseProfile(profile, resolve(import.meta.dirname, '..'), 30);
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
