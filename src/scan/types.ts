/**
 * The scanner's data: what one probe found (outcome, evidence, timing) and the
 * report of one target, whose JSON shape docs/scan.md documents. Every answer is
 * tri-state: true, false, or null for could-not-test, with the reason beside it.
 */

/** true / false, or null when the probe could not run (the reason is given next to it). */
export type Tri = boolean | null;

/** How a client-initiated renegotiation ended: the OUTCOME of docs/scan.md's `clientInitiated`. */
export type RenegotiationOutcome =
  'completed' | 'refused-alert' | 'refused-fatal' | 'closed' | 'ignored' | 'not-tested';

export type StartTlsProtocol = 'smtp' | 'imap' | 'pop3' | 'ftp' | 'xmpp' | 'ldap' | 'postgres';

export interface ScanTarget {
  /** As given, normalised to HOST:PORT or [IPv6]:PORT. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  /** SNI and the name HTTP requests carry; undefined for an IP literal without --servername. */
  readonly serverName: string | undefined;
  readonly starttls: StartTlsProtocol | undefined;
  /** Address family to connect over (--ipv4 / --ipv6); undefined lets the resolver choose. */
  readonly family: 4 | 6 | undefined;
}

/** One renegotiation attempt as the scanner saw it. */
export interface RenegotiationAttempt {
  outcome: Exclude<RenegotiationOutcome, 'not-tested'>;
  /** The alert that refused or closed it, by name (e.g. `warning no_renegotiation`). */
  alert?: string;
  error?: string;
  ms: number;
  /** The server answered our ClientHello with a ServerHello (it carried on). */
  serverHello?: boolean;
  /** A request was sent because the server had not answered yet (servers that act only when they read). */
  nudged?: boolean;
  /** After 'ignored': whether application data still flowed (null: the service never answers data). */
  dataFlows?: Tri;
  /** The renegotiation's ServerHello carried renegotiation_info. */
  secure?: boolean;
  /** The server's certificate in the new handshake differed from the one before. */
  certificateChanged?: boolean;
}

/** A probe that was meant to run but could not, or was not applicable. */
export interface NotTested {
  outcome: 'not-tested';
  reason: string;
}

export type ClientInitiatedResult = (RenegotiationAttempt & { reason?: undefined }) | NotTested;

export interface HandshakeAttempt {
  version: string;
  ok: boolean;
  cipher?: string;
  error?: string;
  ms: number;
}

export interface VersionsResult {
  TLSv1: Tri;
  'TLSv1.1': Tri;
  'TLSv1.2': Tri;
  'TLSv1.3': Tri;
}

/** The first full handshake that worked, which every other probe reuses. */
export interface Baseline {
  version: string;
  cipher: string;
  /** The suite ids every probe offers (the fallback's outcome). */
  suites: number[];
  secureRenegotiation: boolean;
  extendedMasterSecret: boolean;
  /** The server asked for a client certificate in the initial handshake (IIS SSLAlwaysNegoClientCert). */
  initialCertificateRequest: boolean;
  certificateAuthorities: string[];
  peerCertificate: string | undefined;
  attempts: HandshakeAttempt[];
  evidence: string[];
}

export interface SecureRenegotiationResult {
  /** ServerHello renegotiation_info when the client sends the extension. */
  extension: Tri;
  /** ServerHello renegotiation_info when the client sends only the SCSV. */
  scsv: Tri;
  /** The server refuses the initial handshake of a client that signals nothing (SSL Labs bit 3). */
  required: Tri;
  /** A renegotiation with a wrong, empty or missing renegotiated_connection is refused. */
  enforced: Tri;
  reasons: Partial<Record<'extension' | 'scsv' | 'required' | 'enforced', string>>;
  /** Each misbehaving renegotiation and how the server answered it. */
  enforcement: { sent: string; result: ClientInitiatedResult }[];
  evidence: string[];
}

export interface SplitRequestResult {
  /** The server joined a request begun before the renegotiation with its end sent after it. */
  glued: Tri;
  /** The kind of session the split ran over. */
  over: 'secure' | 'insecure' | undefined;
  reason?: string;
  evidence: string[];
}

export interface DosResult {
  /** Renegotiations accepted in a row on one connection. */
  accepted: number | null;
  max: number;
  /** The server stopped us before max (a refusal, a close, an alert or silence). */
  limitMet: Tri;
  /** The outcome that ended the run, when it ended early. */
  stoppedBy?: RenegotiationAttempt['outcome'] | undefined;
  /** Accepted renegotiations per second while they lasted. */
  ratePerSecond: number | null;
  over: 'secure' | 'insecure' | undefined;
  reason?: string;
  attempts: RenegotiationAttempt[];
}

export interface ServerInitiatedPath {
  path: string;
  /** The server sent HelloRequest while answering this path. */
  renegotiates: Tri;
  /** The renegotiation carried a CertificateRequest. */
  requestsClientCert: Tri;
  certificateAuthorities: string[];
  /** What happened without a certificate: `HTTP 403`, `closed`, `alert handshake_failure`… */
  withoutCertificate?: string;
  /** The server renegotiated a session without RFC 5746 (its own lack, or a legacy client's). */
  insecure: Tri;
  /** Answering the HelloRequest with a wrong, empty or missing renegotiation_info (or the SCSV) made the server abort (secure sessions only). */
  enforced: Tri;
  enforcement: { sent: string; result: ClientInitiatedResult }[];
  status?: string;
  reason?: string;
  evidence: string[];
}

export type VerdictId = 'CVE-2009-3555' | 'CVE-2011-1473' | 'triple-handshake' | 'no-renegotiation';

export type Answer = 'yes' | 'no' | 'could-not-test';

export interface Verdict {
  id: VerdictId;
  title: string;
  /** CVE-2011-1473 adds 'limited': accepted, but a limit stopped the run before the maximum. */
  answer: Answer | 'limited';
  reason: string;
  /** Facts from the probes that support the answer, each naming its probe. */
  evidence: string[];
}

/**
 * How far the scan got towards a TLS server. `reachable`: a server answered in
 * TLS (a handshake completed, or a ServerHello or an alert came back), whatever
 * the checks then found. Otherwise what stopped it, in the order a connection
 * meets them: the name, TCP (refused, no route, no answer, reset), the STARTTLS
 * dialogue, then the answer to the ClientHello (the connection closed, nothing
 * came back within the timeout, or bytes that are not TLS records). Two more
 * say the scan never ran to its end: a line that is not a target, and a scan
 * stopped from outside (the queue's wall-clock limit, a job given up).
 */
export const REACHABILITIES = [
  // In the order a connection gets further towards a TLS server (furthestReach in outcome.ts
  // keeps the furthest of several connections): no scan at all first, 'reachable' last.
  'invalid-target',
  'unfinished',
  'unresolvable',
  'refused',
  'unroutable',
  'connect-timeout',
  'reset',
  'starttls-failed',
  'closed',
  'silent',
  'not-tls',
  'reachable',
] as const;
export type Reachability = (typeof REACHABILITIES)[number];

/**
 * The reachabilities where every connection failed before the server said a
 * word: a connection error, worth another try later (a reset too: a full
 * accept queue resets, Linux's tcp_abort_on_overflow). The rest are the
 * target's own answer (or no target at all), the same on every run.
 */
const CONNECTION_ERRORS: ReadonlySet<Reachability> = new Set<Reachability>([
  'unresolvable',
  'refused',
  'unroutable',
  'connect-timeout',
  'reset',
]);

export function isConnectionError(r: Reachability): boolean {
  return CONNECTION_ERRORS.has(r);
}

export interface ProbeTiming {
  [probe: string]: number;
}

export interface ScanReport {
  target: string;
  host: string;
  port: number;
  serverName?: string;
  starttls?: StartTlsProtocol;
  /** false when the target could not be scanned at all (then `error` says why). */
  ok: boolean;
  /** Whether a TLS server answered, and if not what stopped the scan (false `ok` with `reachable`: TLS, but no handshake we could finish). */
  reachability: Reachability;
  error?: string;
  /** Address actually connected to. */
  address?: string;
  versions: VersionsResult;
  baseline?: Baseline;
  secureRenegotiation: SecureRenegotiationResult;
  clientInitiated: {
    secure: RenegotiationOutcome;
    insecure: RenegotiationOutcome;
    details: { secure: ClientInitiatedResult; insecure: ClientInitiatedResult };
    split: SplitRequestResult;
  };
  /** Client-initiated renegotiations accepted in a row (null: could not test). */
  maxClientRenegotiations: number | null;
  dos: DosResult;
  serverInitiated: ServerInitiatedPath[];
  extendedMasterSecret: Tri;
  /** A renegotiation changed the server certificate (null: no renegotiation completed). */
  certificateChange: Tri;
  verdicts: Verdict[];
  vulnerabilities: VerdictId[];
  advice: string[];
  /**
   * Wall time of the audit and of each probe that ran, and the round trips on
   * the longest chain of probes that ran (the audit cannot take less than that
   * many round-trip times).
   */
  timings: {
    totalMs: number;
    probes: ProbeTiming;
    roundTrips?: number;
    /**
     * Present (true) when the server answered one of our ClientHellos only after
     * finishing another handshake (it runs one at a time, as gnutls-serv does):
     * the scan then sent its hellos one at a time (gate.ts).
     */
    handshakesQueued?: true;
  };
  scannedAt: string;
  scanner: string;
}

export interface ScanOptions {
  /** Bounds each wait: connect, handshake, a renegotiation's answer, a response (ms). */
  timeoutMs: number;
  /** Client-initiated renegotiations to try in a row (CVE-2011-1473). */
  maxRenegotiations: number;
  /** HTTP paths for server-initiated renegotiation. */
  paths: string[];
  /** Speak HTTP on the connection (server-initiated paths, the split request); off for other services. */
  http: boolean;
  /** Retries of a connection that failed before TLS began (refused, reset, timed out). */
  retries: number;
  /** Wait before sending a request to a server that has not answered a renegotiation. */
  nudgeAfterMs: number;
  /** Connections one target gets at once (dropped to 1 when the server turns out to serve one at a time). */
  connectionsPerTarget: number;
  /** Which probes run: every check (default), or `quick` (RFC 5746 and one renegotiation of each kind). */
  plan?: 'full' | 'quick';
  /** Shared connection rate limiter; undefined means no limit. */
  limiter?: { take(): Promise<void> };
}

export const DEFAULT_SCAN_OPTIONS: ScanOptions = {
  timeoutMs: 5000,
  maxRenegotiations: 10,
  paths: ['/'],
  http: true,
  retries: 1,
  nudgeAfterMs: 1500,
  connectionsPerTarget: 6,
};
