/**
 * `renego scan` run against each server configuration of the lab, so the
 * scanner's verdict sits beside the attack's outcome (and a test can check that
 * they agree).
 */
import { DEFAULT_SCAN_OPTIONS, type ScanReport } from '../scan/types.ts';
import { scanTarget } from '../scan/scan.ts';
import { parseScanTarget } from '../scan/targets.ts';
import { SERVER_PRESETS, type ServerPresetName } from '../handshake/server-presets.ts';
import { startBank } from './bank.ts';
import type { LabPki } from './run.ts';

export interface ScanVerdict {
  server: ServerPresetName;
  /** e.g. ['CVE-2009-3555', 'CVE-2011-1473'] */
  vulnerabilities: string[];
  /** The scanner's first piece of advice, for the matrix. */
  advice: string;
  ok: boolean;
}

export async function scanServer(pki: LabPki, server: ServerPresetName, upstreamPort?: number): Promise<ScanVerdict> {
  const preset = SERVER_PRESETS[server];
  const bank = upstreamPort
    ? undefined
    : await startBank({
        certificates: [pki.server],
        clientTrust: pki.trust,
        renegotiation: preset.renegotiation,
        clientCertificate: preset.clientCertificate,
      });
  try {
    const port = upstreamPort ?? bank!.port;
    const report: ScanReport = await scanTarget(parseScanTarget(`127.0.0.1:${port}`, { serverName: 'localhost' }), {
      ...DEFAULT_SCAN_OPTIONS,
      timeoutMs: 1500,
      maxRenegotiations: 4,
      paths: ['/secure/account'],
    });
    return { server, vulnerabilities: report.vulnerabilities.slice(), advice: report.advice[0] ?? '', ok: report.ok };
  } finally {
    await bank?.close();
  }
}
