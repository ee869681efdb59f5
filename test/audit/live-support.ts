/**
 * What the live audit tests share: a short scan of a server on 127.0.0.1, the audit of one text,
 * the rule that ties them ("the audit never says no where the scan measured the attack; where
 * both can tell, they agree"), and openssl s_server run with an audited OPENSSL_CONF.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { judge } from '../../src/audit/judge.ts';
import { parseInput } from '../../src/audit/parse.ts';
import type { StackAudit } from '../../src/audit/types.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { parseScanTarget } from '../../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS, type ScanReport } from '../../src/scan/types.ts';
import { opensslBinary } from '../peers/openssl-server.ts';
import { hostPort, spawnPeer, withFreePort, type TlsPeer } from '../peers/peer-process.ts';
import type { TempPki } from '../peers/temp-pki.ts';

export function scanLocal(port: number): Promise<ScanReport> {
  return scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), {
    ...DEFAULT_SCAN_OPTIONS,
    timeoutMs: 3000,
    http: false,
    maxRenegotiations: 5,
  });
}

export function auditText(file: string, text: string): StackAudit {
  const [a] = judge([parseInput(file, new TextEncoder().encode(text))]);
  assert.ok(a);
  return a;
}

export const answerOf = (verdicts: readonly { id: string; answer: string }[], id: string): string | undefined =>
  verdicts.find((v) => v.id === id)?.answer;

/** The audit never says "no" where the scan measured the attack; where both tell, they agree. */
export function assertConsistent(
  a: StackAudit,
  r: ScanReport,
  expected: Record<'CVE-2009-3555' | 'CVE-2011-1473', string>,
): void {
  assert.ok(r.ok, `the scan failed: ${r.error}`);
  for (const id of ['CVE-2009-3555', 'CVE-2011-1473'] as const) {
    const measured = answerOf(r.verdicts, id);
    const claimed = answerOf(a.verdicts, id);
    if (measured === 'yes' || measured === 'limited') {
      assert.notEqual(
        claimed,
        'no',
        `${id}: the audit says no, the scan measured ${measured}: ${r.verdicts.find((v) => v.id === id)?.reason}`,
      );
    }
    assert.equal(claimed, expected[id], `${id}: audit`);
  }
}

/** The scan's vulnerabilities other than the triple handshake (which the audits judge apart). */
export const measuredAttacks = (r: ScanReport): string[] => r.vulnerabilities.filter((v) => v !== 'triple-handshake');

export async function startOpensslWithConf(t: TestContext, env: TempPki, conf: string): Promise<TlsPeer> {
  const file = path.join(env.dir, `openssl-${Math.random().toString(36).slice(2)}.cnf`);
  fs.writeFileSync(file, conf);
  const host = '127.0.0.1';
  const s = await withFreePort(host, async (port) => {
    const peer = await spawnPeer({
      name: 'openssl s_server',
      command: opensslBinary(),
      args: ['s_server', '-accept', hostPort(host, port), '-cert', env.files.serverCert, '-key', env.files.serverKey],
      host,
      port,
      readyPattern: /^ACCEPT$/m,
      env: { ...process.env, OPENSSL_CONF: file },
    });
    return { host, port, stop: peer.stop, output: peer.output, waitForOutput: peer.waitForOutput };
  });
  t.after(() => s.stop());
  return s;
}
