/**
 * The audit's one decision: parsed inputs → one StackAudit per stack they configure. The Windows
 * inputs (registry export, netsh bindings, applicationHost.config) are judged together, because
 * the breakage is in their combination; so are HAProxy files (one HAProxy reads several -f files);
 * each other file is its own configuration.
 */
import { judgeApache } from './apache-rules.ts';
import { judgeGnutls } from './gnutls-rules.ts';
import { judgeHaproxy } from './haproxy-rules.ts';
import { judgeNginx } from './nginx-rules.ts';
import { judgeNode } from './node-rules.ts';
import { judgeStunnel } from './stunnel-rules.ts';
import { judgeJava } from './java-rules.ts';
import { judgeOpenssl } from './openssl-rules.ts';
import { judgeWindows } from './schannel-rules.ts';
import type { HaproxyConf, IisConfig, NetshOutput, ParsedInput, SchannelExport, StackAudit } from './types.ts';

export interface AuditAssumptions {
  /** OpenSSL series whose defaults apply to absent options. */
  readonly openssl: '1.1.1' | '3';
}

export const DEFAULT_ASSUMPTIONS: AuditAssumptions = { openssl: '3' };

export function judge(inputs: readonly ParsedInput[], assume: AuditAssumptions = DEFAULT_ASSUMPTIONS): StackAudit[] {
  const out: StackAudit[] = [];
  const reg = inputs.filter((i): i is SchannelExport => i.kind === 'schannel-reg');
  const netsh = inputs.filter((i): i is NetshOutput => i.kind === 'netsh-sslcert');
  const iis = inputs.filter((i): i is IisConfig => i.kind === 'iis-config');
  if (reg.length + netsh.length + iis.length > 0) out.push(judgeWindows(reg, netsh, iis));
  const haproxy = inputs.filter((i): i is HaproxyConf => i.kind === 'haproxy-conf');
  if (haproxy.length > 0) out.push(judgeHaproxy(haproxy));
  for (const i of inputs) {
    switch (i.kind) {
      case 'schannel-reg':
      case 'netsh-sslcert':
      case 'iis-config':
      case 'haproxy-conf':
        break;
      case 'openssl-conf':
        out.push(judgeOpenssl(i, assume));
        break;
      case 'gnutls-priority':
        out.push(judgeGnutls(i));
        break;
      case 'java-properties':
        out.push(judgeJava(i));
        break;
      case 'apache-conf':
        out.push(judgeApache(i));
        break;
      case 'nginx-conf':
        out.push(judgeNginx(i));
        break;
      case 'stunnel-conf':
        out.push(judgeStunnel(i, assume));
        break;
      case 'node-source':
        out.push(judgeNode(i));
        break;
    }
  }
  return out;
}

/** Exit code like the scanner's: 1 vulnerable, breaking or not in effect, 2 something unreadable, else 0. */
export function auditExitCode(audits: readonly StackAudit[]): 0 | 1 | 2 {
  const kinds = audits.flatMap((a) => a.findings.map((f) => f.kind));
  if (
    audits.some((a) => a.vulnerabilities.length > 0) ||
    kinds.includes('vulnerable') ||
    kinds.includes('breaks') ||
    kinds.includes('disagrees')
  )
    return 1;
  if (kinds.includes('unreadable')) return 2;
  return 0;
}
