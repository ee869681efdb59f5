/**
 * Runs the lab: every scenario against every defence, each cell on its own
 * bank, attacker and victim on 127.0.0.1, judged from the bank's own log.
 */
import * as crypto from 'node:crypto';
import { loadCertificate, type ServerCertificate } from '../pki/credentials.ts';
import { createCA, issueCertificate } from '../pki/throwaway.ts';
import { trustStoreFromPem } from '../pki/verify.ts';
import { startAttacker } from './attacker.ts';
import { startPresetBank, type BankEntry } from './bank.ts';
import { DEFENCES, type Defence } from './defences.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { RecordLog } from './record-log.ts';
import { runVictim, type VictimCredentials } from './victim.ts';
import type { TrustStore } from '../pki/verify.ts';
import { scanBank, type ScanVerdict } from './scan-beside.ts';

export interface CellResult {
  scenario: Scenario['id'];
  defence: string;
  /** The bank executed the attacker's request with the victim's credentials. */
  attackSucceeded: boolean;
  /** Who stopped it, when it failed. */
  blockedBy: 'server' | 'client' | 'guard' | 'nobody' | null;
  explanation: string;
  /** Does the legitimate client-certificate flow still work under this defence? */
  legitimateFlowWorks: boolean;
  bankLog: BankEntry[];
  transcript: RecordLog;
  /** `renego scan`'s verdict on this defence's server (through the guard, if any). */
  scan?: ScanVerdict;
}

export interface LabPki {
  server: ServerCertificate;
  trust: TrustStore;
  victim: VictimCredentials;
}

export async function createLabPki(): Promise<LabPki> {
  const ca = await createCA({ commonName: 'renego lab CA', keyType: 'ecdsa' });
  const server = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    keyType: 'ecdsa',
    usage: 'server',
  });
  const victim = await issueCertificate(ca, { commonName: 'victim', keyType: 'ecdsa', usage: 'client' });
  const trust = trustStoreFromPem(ca.certPem);
  return {
    server: loadCertificate(server.chainPem, server.keyPem),
    trust,
    victim: {
      trust,
      certificateDer: new Uint8Array(new crypto.X509Certificate(victim.certPem).raw),
      keyPem: victim.keyPem,
    },
  };
}

export interface LabOptions {
  scenarios?: readonly Scenario['id'][];
  defences?: readonly string[];
  /** Cells run at once. */
  concurrency?: number;
  timeoutMs?: number;
  /** Also run `renego scan` against each defence's server. */
  scan?: boolean;
  /** Starts `renego guard` in front of the bank; undefined skips the guard defences. */
  startGuard?: (
    policy: 'deny' | 'secure-only',
    upstreamPort: number,
  ) => Promise<{ port: number; close(): Promise<void> | void; events(): string[] }>;
}

async function runCell(pki: LabPki, scenario: Scenario, defence: Defence, opts: LabOptions): Promise<CellResult> {
  const timeoutMs = opts.timeoutMs ?? 1500;
  const bank = await startPresetBank(pki, defence.server, timeoutMs * 2);
  const guard = defence.guard && opts.startGuard ? await opts.startGuard(defence.guard, bank.port) : undefined;
  const upstreamPort = guard?.port ?? bank.port;
  const transcript = new RecordLog();
  const attacker = await startAttacker({
    upstream: { host: '127.0.0.1', port: upstreamPort },
    prefix: scenario.prefix,
    trigger: scenario.trigger,
    transcript,
    timeoutMs: timeoutMs * 3,
  });
  try {
    const victim = await runVictim(attacker.port, defence.victim, pki.victim, scenario.victimRequest, timeoutMs);
    await Promise.race([attacker.done, new Promise((r) => setTimeout(r, 100))]);
    const attackSucceeded = scenario.succeeded(bank.log, victim.response);
    const { blockedBy, explanation } = explain(
      attackSucceeded,
      victim,
      attacker.notes,
      bank.errors,
      bank.log,
      guard?.events() ?? [],
      defence,
    );
    const bankLog = bank.log.slice();
    // The "what breaks" column: the victim's own client-certificate request, straight to the server.
    const legit = await runVictim(
      upstreamPort,
      defence.victim,
      pki.victim,
      `GET /secure/account HTTP/1.1\r\nHost: bank.lab\r\n\r\n`,
      timeoutMs,
    );
    const legitimateFlowWorks = (legit.response ?? '').includes('hello victim');
    return {
      scenario: scenario.id,
      defence: defence.id,
      attackSucceeded,
      blockedBy,
      explanation,
      legitimateFlowWorks,
      bankLog,
      transcript,
    };
  } finally {
    attacker.close();
    await guard?.close();
    await bank.close();
  }
}

/** One line per cell, from the strongest evidence: the bank's log, then who refused what. */
function explain(
  succeeded: boolean,
  victim: { connected: boolean; error?: string; response?: string },
  attackerNotes: readonly string[],
  bankErrors: readonly string[],
  log: readonly BankEntry[],
  guardEvents: readonly string[],
  defence: Defence,
): { blockedBy: CellResult['blockedBy']; explanation: string } {
  if (succeeded) {
    const entry = log.find((e) => e.executed);
    return {
      blockedBy: 'nobody',
      explanation: `bank executed "${entry?.executed}" (authenticated by ${entry?.authBy})`,
    };
  }
  if (guardEvents.length > 0) return { blockedBy: 'guard', explanation: `guard: ${guardEvents[0]}` };
  if (defence.where === 'client' && victim.error)
    return { blockedBy: 'client', explanation: `victim refused the server: ${victim.error}` };
  const serverError = bankErrors[0];
  const alert = attackerNotes.find((n) => n.startsWith('server sent'));
  if (serverError) return { blockedBy: 'server', explanation: `${alert ?? 'server closed'}: ${serverError}` };
  if (alert) return { blockedBy: 'server', explanation: alert };
  const refused = log.find((e) => e.status === 403 || e.status === 401);
  if (refused)
    return {
      blockedBy: 'server',
      explanation: `bank answered ${refused.status} to ${refused.method} ${refused.url}: no credentials`,
    };
  const why = attackerNotes[0] ?? victim.error ?? 'the bank never executed the request';
  return { blockedBy: 'server', explanation: why };
}

export async function runLab(opts: LabOptions = {}, onCell?: (c: CellResult) => void): Promise<CellResult[]> {
  const pki = await createLabPki();
  const scenarios = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.id));
  const defences = DEFENCES.filter(
    (d) => (!opts.defences || opts.defences.includes(d.id)) && (!d.guard || opts.startGuard),
  );
  const cells = scenarios.flatMap((s) => defences.map((d) => ({ s, d })));
  const results: CellResult[] = new Array(cells.length);
  const scans = new Map<string, ScanVerdict>();
  const jobs: (() => Promise<void>)[] = [
    ...(opts.scan ? defences.map((d) => async () => void scans.set(d.id, await scanDefence(pki, d, opts))) : []),
    ...cells.map(({ s, d }, i) => async () => {
      results[i] = await runCell(pki, s, d, opts);
    }),
  ];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  for (const r of results) {
    const scan = scans.get(r.defence);
    if (scan) r.scan = scan;
    onCell?.(r);
  }
  return results;
}

/** The scanner against the server as this defence configures it (behind the guard for guard defences). */
async function scanDefence(pki: LabPki, d: Defence, opts: LabOptions): Promise<ScanVerdict> {
  const bank = await startPresetBank(pki, d.server);
  const guard = d.guard && opts.startGuard ? await opts.startGuard(d.guard, bank.port) : undefined;
  try {
    return await scanBank(guard?.port ?? bank.port);
  } finally {
    await guard?.close();
    await bank.close();
  }
}
