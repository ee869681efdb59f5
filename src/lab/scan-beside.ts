/**
 * `renego scan` run against each server configuration of the lab, so the
 * scanner's verdict sits beside the attack's outcome (and a test can check that
 * they agree).
 */
import { scanTarget } from '../scan/scan.ts';
import { parseScanTarget } from '../scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS } from '../scan/types.ts';

export interface ScanVerdict {
  /** e.g. ['CVE-2009-3555', 'CVE-2011-1473'] */
  vulnerabilities: string[];
  ok: boolean;
}

/** Scans the bank (or the guard in front of it) listening on `port`, asking for its client-certificate path. */
export async function scanBank(port: number): Promise<ScanVerdict> {
  const report = await scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), {
    ...DEFAULT_SCAN_OPTIONS,
    timeoutMs: 1500,
    maxRenegotiations: 4,
    paths: ['/secure/account'],
  });
  return { vulnerabilities: report.vulnerabilities.slice(), ok: report.ok };
}
