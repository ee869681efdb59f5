/**
 * The Windows judge: SChannel's five switches, HTTP.sys bindings and IIS sslFlags → verdicts,
 * what each switch breaks, and the 2009 decision tree. Each rule sits beside its source
 * (../shared/reference/hosts-and-fleets.md and renegotiation-knobs-and-attacks.md §1):
 * - DisableRenegoOnServer / DisableRenegoOnClient: Security Advisory 977377 (non-zero refuses
 *   every renegotiation in that role; absent = 0).
 * - AllowInsecureRenegoClients / AllowInsecureRenegoServers: KB980436 (MS10-049); 0 = strict
 *   mode (peers without RFC 5746 refused even at the initial handshake); absent = 1, compatible
 *   mode, which in Microsoft's words still permits insecure renegotiation with legacy peers.
 * - UseScsvForTls: KB980436; non-zero makes the client signal RFC 5746 with the SCSV 0x00FF and
 *   send no extensions at all. Not TLS_FALLBACK_SCSV (RFC 7507), as hardening scripts often say.
 * - IIS renegotiates only to ask for a client certificate, and never accepts client-initiated
 *   renegotiation (alunj 2010; Qualys 2011). HTTP.sys `Negotiate Client Certificate: Disabled`
 *   asks for it by renegotiation; `Enabled` (`clientcertnegotiation=enable`, IIS 6
 *   SSLAlwaysNegoClientCert) in the initial handshake.
 */
import type { Verdict } from '../scan/types.ts';
import { at, CVE_2009_3555, CVE_2011_1473, evidenceOf, finding, verdict, vulnerabilitiesOf } from './findings.ts';
import { clientCertNegotiationCommand } from './netsh.ts';
import { isSchannelKey } from './schannel.ts';
import {
  SCHANNEL_VALUES,
  type Decision,
  type Finding,
  type IisAccess,
  type IisConfig,
  type IisSiteBinding,
  type NetshOutput,
  type SchannelExport,
  type SchannelValueName,
  type SettingReport,
  type Source,
  type SslBinding,
  type StackAudit,
} from './types.ts';

export const WINDOWS_ASSUMPTION =
  'Windows with KB980436/MS10-049 (RFC 5746; every Windows since 2010): absent values take the defaults in hosts-and-fleets.md (DisableRenego* 0, AllowInsecureRenego* 1, UseScsvForTls 0), to be confirmed against KB977377/KB980436; before MS10-049 SChannel had no RFC 5746 and ignored AllowInsecureRenego* and UseScsvForTls';

interface SwitchText {
  readonly fallback: number;
  readonly does: string;
  readonly protects: string;
  readonly breaks: string;
  readonly reference: string;
}

const SWITCHES: Record<SchannelValueName, SwitchText> = {
  DisableRenegoOnServer: {
    fallback: 0,
    does: 'non-zero: the SChannel server (IIS, HTTP.sys and every other SChannel server) refuses every renegotiation',
    protects: `${CVE_2009_3555} on the server side, and ${CVE_2011_1473}`,
    breaks:
      'client certificates obtained by server-initiated renegotiation (HTTP.sys bindings with Negotiate Client Certificate: Disabled whose paths ask for one; AD FS/Web Application Proxy trust reported)',
    reference: 'Security Advisory 977377',
  },
  DisableRenegoOnClient: {
    fallback: 0,
    does: 'non-zero: the SChannel client of this host refuses every renegotiation a server asks for',
    protects: `${CVE_2009_3555} for this host's outbound connections`,
    breaks:
      'outbound connections to servers that renegotiate to ask for a client certificate (e.g. IIS paths with client certificates, AD FS from a Web Application Proxy)',
    reference: 'Security Advisory 977377',
  },
  AllowInsecureRenegoClients: {
    fallback: 1,
    does: '0 = strict mode (server role): clients without RFC 5746 are refused, even at the initial handshake; 1 = compatible mode: they may connect and renegotiate',
    protects: `${CVE_2009_3555} against unpatched clients (0 only; compatible mode permits insecure renegotiation)`,
    breaks: '0: clients without RFC 5746 (unpatched since 2010) cannot connect at all',
    reference: 'KB980436 (MS10-049)',
  },
  AllowInsecureRenegoServers: {
    fallback: 1,
    does: '0 = strict mode (client role): this host refuses servers without RFC 5746, even at the initial handshake; 1 = compatible mode',
    protects: `${CVE_2009_3555} for this host's outbound connections to unpatched servers (0 only)`,
    breaks: '0: outbound TLS to servers without RFC 5746 fails',
    reference: 'KB980436 (MS10-049)',
  },
  UseScsvForTls: {
    fallback: 0,
    does: 'non-zero: the SChannel client signals RFC 5746 with TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00FF) and sends no TLS extensions; it is not TLS_FALLBACK_SCSV (RFC 7507), whatever hardening scripts call it',
    protects: 'nothing more than the extension does: it is for servers that fail on any ClientHello extension',
    breaks:
      'non-zero: no extensions at all from this host as a client (no SNI, no elliptic-curve or signature-algorithm lists), so servers that need them fail',
    reference: 'KB980436 (MS10-049); netsekure 2010-08',
  },
};

interface Effective {
  readonly value: number;
  readonly report: SettingReport;
}

function effectiveValues(exports: readonly SchannelExport[], findings: Finding[]): Map<SchannelValueName, Effective> {
  const out = new Map<SchannelValueName, Effective>();
  for (const name of SCHANNEL_VALUES) {
    const text = SWITCHES[name];
    let value = text.fallback;
    let source: Source | undefined;
    let origin = `default ${text.fallback} (absent)`;
    for (const e of exports) {
      for (const v of e.values) {
        if (v.name.toLowerCase() !== name.toLowerCase()) continue;
        if (!isSchannelKey(v.key)) {
          findings.push(
            finding('warning', `${name} is under [${v.key}], where SChannel does not read it: it has no effect there`, [
              v.source,
            ]),
          );
          continue;
        }
        if (v.data.type === 'dword') {
          value = v.data.value;
          source = v.source;
          origin = 'set';
        } else if (v.data.type === 'deleted') {
          value = text.fallback;
          source = v.source;
          origin = `deleted by this file: default ${text.fallback}`;
        } else {
          value = text.fallback;
          source = v.source;
          origin = `not a REG_DWORD (${v.data.regType}): treated as absent, default ${text.fallback}`;
          findings.push(
            finding(
              'warning',
              `${name} is ${v.data.regType} (${v.data.raw.slice(0, 40)}), not a REG_DWORD: SChannel's handling of it is undocumented; the audit assumed the default ${text.fallback}. Delete it and set a DWORD`,
              [v.source],
            ),
          );
        }
      }
    }
    out.set(name, {
      value,
      report: {
        name,
        value: String(value),
        source,
        origin,
        does: text.does,
        protects: text.protects,
        breaks: text.breaks,
        reference: text.reference,
      },
    });
  }
  return out;
}

/** A path that asks for a client certificate, and how it gets one. */
interface CertificatePath {
  readonly access: IisAccess;
  readonly bindings: readonly SslBinding[];
  /** true: by renegotiation; false: in the initial handshake; undefined: cannot tell. */
  readonly byRenegotiation: boolean | undefined;
  readonly how: string;
}

function bindingFor(site: IisSiteBinding, bindings: readonly SslBinding[]): SslBinding | undefined {
  const a = (b: SslBinding) => b.address;
  if (site.centralStore) return bindings.find((b) => a(b).type === 'central-store' && a(b).port === site.port);
  if (site.sni) {
    return bindings.find((b) => {
      const x = a(b);
      return x.type === 'hostname' && x.port === site.port && x.hostname.toLowerCase() === site.hostname.toLowerCase();
    });
  }
  const ip = site.ip === '*' || site.ip === '' ? '0.0.0.0' : site.ip.replace(/^\[(.*)\]$/, '$1');
  const byIp = (want: string) =>
    bindings.find((b) => {
      const x = a(b);
      return x.type === 'ip' && x.port === site.port && x.ip === want;
    });
  return byIp(ip) ?? byIp(ip.includes(':') ? '::' : '0.0.0.0');
}

function certificatePaths(iis: readonly IisConfig[], netsh: readonly NetshOutput[]): CertificatePath[] {
  const bindings = netsh.flatMap((n) => n.bindings);
  const sites = iis.flatMap((c) => c.sites);
  const out: CertificatePath[] = [];
  for (const access of iis.flatMap((c) => c.access)) {
    if (access.clientCertificate === 'none') continue;
    const siteName = access.path.split('/')[0] ?? '';
    const siteBindings = sites.filter((s) => siteName === '' || s.site.toLowerCase() === siteName.toLowerCase());
    const served = siteBindings.map((s) => bindingFor(s, bindings)).filter((b): b is SslBinding => b !== undefined);
    const candidates = served.length > 0 ? served : bindings;
    if (netsh.length === 0) {
      out.push({
        access,
        bindings: [],
        byRenegotiation: undefined,
        how: 'no netsh http show sslcert output given: by renegotiation unless the binding has Negotiate Client Certificate enabled (netsh and IIS create bindings with it disabled)',
      });
      continue;
    }
    if (candidates.length === 0) {
      out.push({ access, bindings: [], byRenegotiation: undefined, how: 'no HTTP.sys binding found for it' });
      continue;
    }
    const disabled = candidates.filter((b) => b.negotiateClientCert === 'disabled');
    const exact = served.length > 0 ? '' : ' (its binding is not known: every binding considered)';
    out.push({
      access,
      bindings: disabled.length > 0 ? disabled : candidates,
      byRenegotiation:
        disabled.length === 0 ? false : served.length > 0 || disabled.length === candidates.length ? true : undefined,
      how:
        disabled.length > 0
          ? `by renegotiation on ${disabled.map((b) => b.key).join(', ')} (Negotiate Client Certificate: Disabled)${exact}`
          : `in the initial handshake (Negotiate Client Certificate: Enabled on ${candidates.map((b) => b.key).join(', ')})`,
    });
  }
  return out;
}

function pathName(a: IisAccess): string {
  return a.path === '' ? 'every site (server-wide sslFlags)' : a.path;
}

export function judgeWindows(
  exports: readonly SchannelExport[],
  netsh: readonly NetshOutput[],
  iis: readonly IisConfig[],
): StackAudit {
  const findings: Finding[] = [];
  for (const e of exports) for (const n of e.notes) findings.push(finding('unreadable', n.message, [n.source]));
  for (const o of netsh) for (const n of o.unrecognised) findings.push(finding('unreadable', n.message, [n.source]));
  for (const c of iis) for (const n of c.notes) findings.push(finding('unreadable', n.message, [n.source]));

  const values = effectiveValues(exports, findings);
  const v = (n: SchannelValueName) => values.get(n)!;
  const serverOff = v('DisableRenegoOnServer').value !== 0;
  const clientOff = v('DisableRenegoOnClient').value !== 0;
  const strictServer = v('AllowInsecureRenegoClients').value === 0;
  const strictClient = v('AllowInsecureRenegoServers').value === 0;
  const scsv = v('UseScsvForTls').value !== 0;
  const regGiven = exports.length > 0;
  const regNote = regGiven ? '' : ' (no registry export given: defaults assumed)';

  const certPaths = certificatePaths(iis, netsh);
  const renegotiating = certPaths.filter((p) => p.byRenegotiation === true);
  const undecided = certPaths.filter((p) => p.byRenegotiation === undefined);
  const allBindings = netsh.flatMap((n) => n.bindings);
  const disabledBindings = allBindings.filter((b) => b.negotiateClientCert === 'disabled');
  const unreadableBindings = netsh.some((n) => n.unrecognised.length > 0);

  // Is renegotiation needed here? IIS renegotiates only to ask for client certificates.
  let needed: Decision['renegotiationNeeded'];
  let why: string;
  if (renegotiating.length > 0) {
    needed = 'yes';
    why = `client certificates are asked for by renegotiation: ${renegotiating.map((p) => `${pathName(p.access)} (${p.access.flags.join(', ')}, ${at(p.access.source)}) ${p.how}`).join('; ')}`;
  } else if (undecided.length > 0) {
    needed = 'unknown';
    why = `paths ask for client certificates but how could not be told: ${undecided.map((p) => `${pathName(p.access)}: ${p.how}`).join('; ')}`;
  } else if (iis.length > 0) {
    if (unreadableBindings) {
      needed = 'unknown';
      why = 'some HTTP.sys bindings could not be read (see the unreadable findings)';
    } else {
      needed = 'no';
      why =
        certPaths.length > 0
          ? `the paths that ask for client certificates get them in the initial handshake: ${certPaths.map((p) => `${pathName(p.access)} ${p.how}`).join('; ')}`
          : 'no path in applicationHost.config asks for a client certificate (no SslNegotiateCert or SslRequireCert), and IIS renegotiates for nothing else';
    }
  } else if (netsh.length > 0 && disabledBindings.length === 0 && !unreadableBindings) {
    needed = 'no';
    why =
      'every HTTP.sys binding asks for client certificates in the initial handshake (Negotiate Client Certificate: Enabled)';
  } else {
    needed = 'unknown';
    why =
      netsh.length > 0
        ? `bindings ${disabledBindings.map((b) => b.key).join(', ') || '(unreadable)'} would ask for client certificates by renegotiation if a path needs one: give applicationHost.config to tell`
        : 'no netsh http show sslcert output or applicationHost.config given: cannot tell whether IIS asks for client certificates by renegotiation';
  }

  const evidence = [...values.values()].map((e) => evidenceOf(e.report));
  const verdicts: Verdict[] = [];

  // CVE-2009-3555, server role.
  if (serverOff) {
    verdicts.push(
      verdict(
        'CVE-2009-3555',
        'no',
        `DisableRenegoOnServer=${v('DisableRenegoOnServer').value}: the SChannel server refuses every renegotiation (advisory 977377)`,
        evidence,
      ),
    );
  } else if (strictServer) {
    verdicts.push(
      verdict(
        'CVE-2009-3555',
        'no',
        'strict mode (AllowInsecureRenegoClients=0): clients without RFC 5746 are refused at the initial handshake, so every renegotiation is bound to the previous handshake (KB980436)',
        evidence,
      ),
    );
  } else if (needed === 'no') {
    verdicts.push(
      verdict(
        'CVE-2009-3555',
        'no',
        `compatible mode permits insecure renegotiation with unpatched clients, but IIS never renegotiates here: ${why}; IIS refuses client-initiated renegotiation. Other SChannel server applications on the host were not audited`,
        evidence,
      ),
    );
  } else {
    verdicts.push(
      verdict(
        'CVE-2009-3555',
        'yes',
        needed === 'yes'
          ? `compatible mode (AllowInsecureRenegoClients=${v('AllowInsecureRenegoClients').value}${regNote}) lets unpatched clients renegotiate, and IIS renegotiates: ${why}`
          : `compatible mode (AllowInsecureRenegoClients=${v('AllowInsecureRenegoClients').value}${regNote}) permits insecure renegotiation with unpatched clients (KB980436), and nothing given shows that no application renegotiates: ${why}`,
        evidence,
      ),
    );
  }

  // CVE-2011-1473: IIS does not accept client-initiated renegotiation at all.
  if (serverOff) {
    verdicts.push(
      verdict('CVE-2011-1473', 'no', 'DisableRenegoOnServer refuses client-initiated renegotiation', evidence),
    );
  } else if (netsh.length > 0 || iis.length > 0) {
    verdicts.push(
      verdict(
        'CVE-2011-1473',
        'no',
        'IIS/HTTP.sys does not accept client-initiated renegotiation (Qualys 2011); other SChannel servers decide for themselves (.NET 7+ SslStream refuses by default)',
        evidence,
      ),
    );
  } else {
    verdicts.push(
      verdict(
        'CVE-2011-1473',
        'could-not-test',
        'no registry switch limits client-initiated renegotiation short of DisableRenegoOnServer: it depends on the SChannel application (IIS refuses it)',
        evidence,
      ),
    );
  }
  verdicts.push(
    verdict(
      'triple-handshake',
      serverOff ? 'no' : 'could-not-test',
      serverOff
        ? 'no renegotiation is accepted, so the attack has nothing to ride on'
        : 'not decided by these switches: it depends on the Windows build (extended master secret); scan the server',
    ),
  );
  verdicts.push(
    verdict(
      'no-renegotiation',
      serverOff ? 'yes' : needed === 'yes' ? 'no' : 'could-not-test',
      serverOff
        ? 'DisableRenegoOnServer is set'
        : needed === 'yes'
          ? why
          : 'renegotiation is allowed; whether anything uses it: ' + why,
    ),
  );

  // What the switches break.
  if (serverOff && renegotiating.length > 0) {
    for (const p of renegotiating) {
      findings.push(
        finding(
          'breaks',
          `DisableRenegoOnServer=1 breaks ${pathName(p.access)}: it asks for a client certificate (${p.access.flags.join(', ')}) ${p.how}, which needs renegotiation. Fix: ${p.bindings.map(clientCertNegotiationCommand).join('; ')}`,
          [v('DisableRenegoOnServer').report.source, p.access.source, ...p.bindings.map((b) => b.negotiateSource)],
        ),
      );
    }
  } else if (serverOff && (undecided.length > 0 || (iis.length === 0 && disabledBindings.length > 0))) {
    const keys = (undecided.length > 0 ? undecided.flatMap((p) => p.bindings) : disabledBindings).map((b) => b.key);
    findings.push(
      finding(
        'costs',
        `DisableRenegoOnServer=1 breaks any path that asks for a client certificate on a binding with Negotiate Client Certificate: Disabled${keys.length > 0 ? ` (${[...new Set(keys)].join(', ')})` : ''}: ${why}`,
        [v('DisableRenegoOnServer').report.source],
      ),
    );
  }
  if (strictServer) {
    findings.push(
      finding(
        'costs',
        'strict mode (AllowInsecureRenegoClients=0): clients without RFC 5746 cannot connect at all, not even for the initial handshake',
        [v('AllowInsecureRenegoClients').report.source],
      ),
    );
  }
  if (strictClient) {
    findings.push(
      finding(
        'costs',
        "strict mode (AllowInsecureRenegoServers=0): this host's outbound TLS to servers without RFC 5746 fails",
        [v('AllowInsecureRenegoServers').report.source],
      ),
    );
  } else if (!clientOff) {
    findings.push(
      finding(
        'warning',
        `client role: compatible mode (AllowInsecureRenegoServers=${v('AllowInsecureRenegoServers').value}) lets this host renegotiate with servers without RFC 5746 when they ask (${CVE_2009_3555} on its outbound connections)`,
        [v('AllowInsecureRenegoServers').report.source],
      ),
    );
  }
  if (clientOff) {
    findings.push(
      finding(
        'costs',
        'DisableRenegoOnClient=1: outbound connections to servers that renegotiate for a client certificate fail (Web Application Proxy to AD FS, outbound client-certificate authentication)',
        [v('DisableRenegoOnClient').report.source],
      ),
    );
  }
  if (scsv) {
    findings.push(
      finding(
        'costs',
        `UseScsvForTls=${v('UseScsvForTls').value}: the SChannel client sends no TLS extensions (no SNI), only the RFC 5746 SCSV; servers that need SNI or extensions fail`,
        [v('UseScsvForTls').report.source],
      ),
    );
  }
  for (const c of exports.flatMap((e) => e.comments)) {
    if (/fallback/i.test(c.text)) {
      findings.push(
        finding(
          'warning',
          `this comment calls UseScsvForTls "TLS_FALLBACK_SCSV": it is the RFC 5746 renegotiation SCSV (0x00FF), not RFC 7507's downgrade signal (0x5600), and turning it on removes every extension`,
          [c],
        ),
      );
    }
  }
  if (verdicts[0]!.answer === 'yes') {
    findings.push(
      finding('vulnerable', verdicts[0]!.reason, [
        v('AllowInsecureRenegoClients').report.source,
        ...renegotiating.map((p) => p.access.source),
      ]),
    );
  }

  return {
    stack: 'schannel',
    files: [...exports, ...netsh, ...iis].map((i) => i.file),
    assumed: [WINDOWS_ASSUMPTION],
    settings: [...values.values()].map((e) => e.report),
    verdicts,
    vulnerabilities: vulnerabilitiesOf(verdicts),
    findings,
    decision: windowsDecision(
      needed,
      why,
      { serverOff, clientOff, strictServer, strictClient, scsv },
      renegotiating,
      values,
    ),
  };
}

function windowsDecision(
  needed: Decision['renegotiationNeeded'],
  why: string,
  s: { serverOff: boolean; clientOff: boolean; strictServer: boolean; strictClient: boolean; scsv: boolean },
  renegotiating: readonly CertificatePath[],
  values: Map<SchannelValueName, Effective>,
): Decision {
  const steps: string[] = [];
  const leave: string[] = [];
  const key = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL';
  const regSet = (name: string, d: number) => `reg add ${key} /v ${name} /t REG_DWORD /d ${d} /f`;
  if (needed === 'unknown') {
    steps.push(
      'First find out whether client certificates are asked for by renegotiation: give `netsh http show sslcert` and applicationHost.config to renego audit (docs/audit.md)',
    );
  }
  if (renegotiating.length > 0) {
    const commands = [...new Set(renegotiating.flatMap((p) => p.bindings.map(clientCertNegotiationCommand)))];
    steps.push(
      `Ask for client certificates in the initial handshake first (HTTP.sys form of IIS SSLAlwaysNegoClientCert), so nothing needs renegotiation: ${commands.join('; ')}`,
    );
  }
  if (!s.serverOff) {
    steps.push(
      needed === 'no' || renegotiating.length > 0
        ? `Then switch server renegotiation off: ${regSet('DisableRenegoOnServer', 1)} (reboot)`
        : `Once nothing asks for client certificates by renegotiation, switch server renegotiation off: ${regSet('DisableRenegoOnServer', 1)} (reboot)`,
    );
  } else {
    leave.push(
      renegotiating.length > 0
        ? 'DisableRenegoOnServer=1: keep it, after the netsh change above repairs the paths it breaks'
        : 'DisableRenegoOnServer=1: keep it',
    );
  }
  if (!s.strictServer) {
    steps.push(
      `When every client supports RFC 5746 (patched since 2010), strict mode closes insecure renegotiation for good: ${regSet('AllowInsecureRenegoClients', 0)}; it refuses unpatched clients outright`,
    );
  } else leave.push('AllowInsecureRenegoClients=0 (strict): keep it unless unpatched clients must connect');
  leave.push(
    s.clientOff
      ? 'DisableRenegoOnClient=1: keep it only if this host never connects to servers that renegotiate for client certificates'
      : 'DisableRenegoOnClient: leave at 0 unless this host never connects to servers that ask for client certificates by renegotiation (it would break those connections)',
  );
  leave.push(
    s.strictClient
      ? 'AllowInsecureRenegoServers=0: keep it if every server this host connects to supports RFC 5746'
      : 'AllowInsecureRenegoServers: 0 (strict client) once every server this host connects to supports RFC 5746',
  );
  leave.push(
    s.scsv
      ? `UseScsvForTls=${values.get('UseScsvForTls')!.value}: set it back to 0 unless a server fails on extensions; it is not TLS_FALLBACK_SCSV`
      : 'UseScsvForTls: leave at 0; it is not TLS_FALLBACK_SCSV',
  );
  return { renegotiationNeeded: needed, why, steps, leave };
}
