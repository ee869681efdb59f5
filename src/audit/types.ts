/**
 * The audit's data: what a parser read from one file (settings, each with the line it came
 * from) and what the judge concluded (verdicts in the scanner's vocabulary, findings, advice).
 * Parsers and the judge are pure; only src/tools/audit.ts touches files.
 */
import type { Verdict, VerdictId } from '../scan/types.ts';

/** The kinds of input the audit reads; recognised from the content or named with --kind. */
export const INPUT_KINDS = [
  'schannel-reg',
  'netsh-sslcert',
  'iis-config',
  'openssl-conf',
  'gnutls-priority',
  'java-properties',
  'apache-conf',
  'nginx-conf',
  'haproxy-conf',
  'stunnel-conf',
  'node-source',
] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** Where a fact came from: the file as named and the 1-based line, with the line's text. */
export interface Source {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** Something a parser could not read as intended; it never guesses past one of these. */
export interface ParseNote {
  readonly source: Source;
  readonly message: string;
}

// ---- Windows ------------------------------------------------------------------------------

/** The five SChannel REG_DWORDs that govern renegotiation (reference: hosts-and-fleets.md). */
export const SCHANNEL_VALUES = [
  'DisableRenegoOnServer',
  'DisableRenegoOnClient',
  'AllowInsecureRenegoClients',
  'AllowInsecureRenegoServers',
  'UseScsvForTls',
] as const;
export type SchannelValueName = (typeof SCHANNEL_VALUES)[number];

/**
 * One value line of a registry export: a DWORD (`dword:` or `hex(4):`), a deletion (`=-`), or
 * any other type, kept raw (SChannel reads these switches as REG_DWORD only).
 */
export type RegData =
  | { readonly type: 'dword'; readonly value: number }
  | { readonly type: 'deleted' }
  | { readonly type: 'other'; readonly regType: string; readonly raw: string };

export interface RegValue {
  readonly key: string;
  readonly name: string;
  readonly data: RegData;
  readonly source: Source;
}

export interface SchannelExport {
  readonly kind: 'schannel-reg';
  readonly file: string;
  readonly format: 'Windows Registry Editor Version 5.00' | 'REGEDIT4';
  readonly encoding: 'utf-16le' | 'utf-8';
  /** Keys present in the export (the SCHANNEL key itself, or a parent of it, must be one). */
  readonly keys: readonly string[];
  readonly values: readonly RegValue[];
  /** Comment lines (`;`), kept to catch the "TLS_FALLBACK_SCSV" mislabelling. */
  readonly comments: readonly Source[];
  readonly notes: readonly ParseNote[];
}

/** `netsh http show sslcert`: how a binding is addressed. */
export type BindingAddress =
  | { readonly type: 'ip'; readonly ip: string; readonly port: number }
  | { readonly type: 'hostname'; readonly hostname: string; readonly port: number }
  | { readonly type: 'central-store'; readonly port: number };

export interface SslBinding {
  readonly address: BindingAddress;
  /** The key as printed (`0.0.0.0:443`, `www.example.test:443`), for netsh commands. */
  readonly key: string;
  /** Enabled: client certificate asked for in the initial handshake; disabled: by renegotiation. */
  readonly negotiateClientCert: 'enabled' | 'disabled';
  readonly certificateHash: string | undefined;
  readonly applicationId: string | undefined;
  readonly certificateStore: string | undefined;
  readonly source: Source;
  readonly negotiateSource: Source;
}

export interface NetshOutput {
  readonly kind: 'netsh-sslcert';
  readonly file: string;
  readonly bindings: readonly SslBinding[];
  /** Blocks whose fields could not be recognised (localized output, damaged text). */
  readonly unrecognised: readonly ParseNote[];
}

/** IIS `<access sslFlags>` at one place of applicationHost.config. */
export interface IisAccess {
  /** `<location path>` ('' = server-wide), e.g. `Default Web Site/secure`. */
  readonly path: string;
  readonly flags: readonly string[];
  /** SslNegotiateCert or SslRequireCert: the path asks for a client certificate. */
  readonly clientCertificate: 'none' | 'negotiate' | 'require';
  readonly source: Source;
}

/** An https binding of an IIS site (`bindingInformation="IP:PORT:HOST"`). */
export interface IisSiteBinding {
  readonly site: string;
  readonly ip: string;
  readonly port: number;
  readonly hostname: string;
  /** Binding sslFlags bit 1: SNI (a `Hostname:port` binding in HTTP.sys). */
  readonly sni: boolean;
  /** Binding sslFlags bit 2: central certificate store. */
  readonly centralStore: boolean;
  readonly source: Source;
}

export interface IisConfig {
  readonly kind: 'iis-config';
  readonly file: string;
  readonly access: readonly IisAccess[];
  readonly sites: readonly IisSiteBinding[];
  readonly notes: readonly ParseNote[];
}

// ---- Other stacks ---------------------------------------------------------------------------

/** An OpenSSL `Options` flag that matters here, as written (a leading `-` clears it). */
export const OPENSSL_FLAGS = [
  'UnsafeLegacyRenegotiation',
  'UnsafeLegacyServerConnect',
  'ClientRenegotiation',
  'NoRenegotiation',
  'ExtendedMasterSecret',
] as const;
export type OpensslFlag = (typeof OPENSSL_FLAGS)[number];

export interface OpensslOption {
  readonly flag: OpensslFlag;
  readonly set: boolean;
  /** The section is reached from `openssl_conf` → `ssl_conf` → `system_default`. */
  readonly applied: boolean;
  readonly section: string;
  readonly source: Source;
}

export interface OpensslConf {
  readonly kind: 'openssl-conf';
  readonly file: string;
  readonly options: readonly OpensslOption[];
  readonly notes: readonly ParseNote[];
}

export const GNUTLS_KEYWORDS = [
  '%SAFE_RENEGOTIATION',
  '%PARTIAL_RENEGOTIATION',
  '%UNSAFE_RENEGOTIATION',
  '%DISABLE_SAFE_RENEGOTIATION',
] as const;
export type GnutlsKeyword = (typeof GNUTLS_KEYWORDS)[number];

export interface GnutlsPriority {
  readonly kind: 'gnutls-priority';
  readonly file: string;
  /** Each priority string in the file with the renegotiation keywords it carries, in order. */
  readonly strings: readonly {
    readonly text: string;
    readonly keywords: readonly GnutlsKeyword[];
    readonly source: Source;
  }[];
  readonly notes: readonly ParseNote[];
}

export const JAVA_PROPERTIES = [
  'sun.security.ssl.allowUnsafeRenegotiation',
  'sun.security.ssl.allowLegacyHelloMessages',
  'jdk.tls.rejectClientInitiatedRenegotiation',
] as const;
export type JavaProperty = (typeof JAVA_PROPERTIES)[number];

export interface JavaSetting {
  readonly name: JavaProperty;
  /** JSSE reads these with Boolean-style parsing: only "true" (any case) is true. */
  readonly value: string;
  readonly source: Source;
}

export interface JavaProperties {
  readonly kind: 'java-properties';
  readonly file: string;
  readonly settings: readonly JavaSetting[];
  readonly notes: readonly ParseNote[];
}

/** An Apache mod_ssl directive that matters here, with the context it sits in. */
export interface ApacheDirective {
  readonly name: 'SSLInsecureRenegotiation' | 'SSLVerifyClient' | 'SSLCipherSuite' | 'SSLOpenSSLConfCmd';
  readonly args: readonly string[];
  /** server config, a <VirtualHost>, or a per-directory section (<Location>, <Directory>, …). */
  readonly context: 'server' | 'virtualhost' | 'directory';
  /** The enclosing sections, e.g. `<VirtualHost *:443> <Location /secure>`. */
  readonly where: string;
  /** The enclosing <VirtualHost> line, to find the host-level settings of a per-directory one. */
  readonly virtualHost: string | undefined;
  readonly source: Source;
}

export interface ApacheConf {
  readonly kind: 'apache-conf';
  readonly file: string;
  readonly directives: readonly ApacheDirective[];
  readonly notes: readonly ParseNote[];
}

/** One nginx directive that matters here, with the blocks it sits in (`http > server`). */
export interface NginxDirective {
  readonly name: string;
  readonly args: readonly string[];
  /** The enclosing block names, outermost first: `['http', 'server', 'location /secure']`. */
  readonly blocks: readonly string[];
  readonly source: Source;
}

export interface NginxConf {
  readonly kind: 'nginx-conf';
  readonly file: string;
  readonly directives: readonly NginxDirective[];
  readonly notes: readonly ParseNote[];
}

/** One HAProxy keyword line that matters here (`bind … ssl …`, `server … ssl …`, `ssl-default-*`). */
export interface HaproxyLine {
  readonly keyword: string;
  readonly args: readonly string[];
  /** `global`, `defaults`, `frontend NAME`, `backend NAME`, `listen NAME`. */
  readonly section: string;
  readonly source: Source;
}

export interface HaproxyConf {
  readonly kind: 'haproxy-conf';
  readonly file: string;
  readonly lines: readonly HaproxyLine[];
  readonly notes: readonly ParseNote[];
}

/** One `key = value` of a stunnel configuration, in the global part ('') or a `[service]`. */
export interface StunnelEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  readonly source: Source;
}

export interface StunnelConf {
  readonly kind: 'stunnel-conf';
  readonly file: string;
  readonly entries: readonly StunnelEntry[];
  readonly notes: readonly ParseNote[];
}

/** What a static look at Node source (or a NODE_OPTIONS line) can see. */
export type NodeFact =
  | {
      readonly type: 'reneg-limit';
      readonly name: 'CLIENT_RENEG_LIMIT' | 'CLIENT_RENEG_WINDOW';
      readonly value: string;
    }
  | { readonly type: 'ssl-op'; readonly name: string }
  | { readonly type: 'secure-options'; readonly expression: string }
  | { readonly type: 'renegotiate-call' }
  | { readonly type: 'disable-renegotiation' }
  | { readonly type: 'tls-flag'; readonly flag: string }
  | { readonly type: 'min-version'; readonly value: string }
  | { readonly type: 'tls-server' };

export interface NodeSource {
  readonly kind: 'node-source';
  readonly file: string;
  readonly facts: readonly (NodeFact & { readonly source: Source })[];
  readonly notes: readonly ParseNote[];
}

export type ParsedInput =
  | SchannelExport
  | NetshOutput
  | IisConfig
  | OpensslConf
  | GnutlsPriority
  | JavaProperties
  | ApacheConf
  | NginxConf
  | HaproxyConf
  | StunnelConf
  | NodeSource;

// ---- The judge's answer ---------------------------------------------------------------------

/** The stacks the judge answers for; the Windows inputs together make one. */
export type Stack = 'schannel' | 'openssl' | 'gnutls' | 'java' | 'apache' | 'nginx' | 'haproxy' | 'stunnel' | 'node';

/** Each stack's name in a report's heading. */
export const STACK_TITLE: Readonly<Record<Stack, string>> = {
  schannel: 'Windows SChannel / HTTP.sys / IIS',
  openssl: 'OpenSSL',
  gnutls: 'GnuTLS',
  java: 'Java JSSE',
  apache: 'Apache httpd mod_ssl',
  nginx: 'nginx',
  haproxy: 'HAProxy',
  stunnel: 'stunnel',
  node: 'Node.js (static reading)',
};

/** One switch as it stands: its value and where that came from, what it does and costs. */
export interface SettingReport {
  readonly name: string;
  readonly value: string;
  /** The line that set it, or undefined when the documented default was assumed. */
  readonly source: Source | undefined;
  /** "default (…)" when absent: which product version's default. */
  readonly origin: string;
  readonly does: string;
  readonly protects: string;
  readonly breaks: string;
  readonly reference: string;
}

export type FindingKind =
  /** The configuration leaves an attack open. */
  | 'vulnerable'
  /** The configuration breaks something these inputs show in use (a path that needs renegotiation). */
  | 'breaks'
  /** What a switch that is set costs in general (unpatched peers refused, outbound connections). */
  | 'costs'
  /** Not wrong in itself, but worth a look (a value of the wrong type, a mislabel). */
  | 'warning'
  /** The input could not be read entirely; the verdicts say what that leaves open. */
  | 'unreadable'
  /** A live scan measured something the configuration does not say: a setting not in effect. */
  | 'disagrees';

export interface Finding {
  readonly kind: FindingKind;
  readonly text: string;
  readonly sources: readonly Source[];
}

/** The 2009 decision tree answered for this configuration. */
export interface Decision {
  /** Whether renegotiation is needed here (client certificates obtained by renegotiation). */
  readonly renegotiationNeeded: 'yes' | 'no' | 'unknown';
  readonly why: string;
  /** The switches to set, in order: what to change first so nothing breaks comes first. */
  readonly steps: readonly string[];
  /** Switches to leave as they are, and why. */
  readonly leave: readonly string[];
}

export interface StackAudit {
  readonly stack: Stack;
  readonly files: readonly string[];
  /** The product versions whose defaults were assumed for absent settings. */
  readonly assumed: readonly string[];
  readonly settings: readonly SettingReport[];
  readonly verdicts: readonly Verdict[];
  readonly vulnerabilities: readonly string[];
  readonly findings: readonly Finding[];
  readonly decision: Decision;
  /** With `--scan`: the scanner's measurement of each target beside these verdicts. */
  readonly measured?: readonly ScanComparison[];
}

/** One verdict as configured (this audit) and as measured (renego scan of a target). */
export interface ComparedVerdict {
  readonly id: VerdictId;
  readonly configured: string;
  readonly measured: string;
  /** 'agree'; 'not-in-effect' when the scan measured an attack the configuration rules out; 'differs' otherwise. */
  readonly agreement: 'agree' | 'not-in-effect' | 'differs' | 'cannot-tell';
}

export interface ScanComparison {
  readonly target: string;
  /** Why the target could not be scanned, when it could not. */
  readonly error: string | undefined;
  readonly verdicts: readonly ComparedVerdict[];
}
