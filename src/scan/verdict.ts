/**
 * From evidence to verdicts and advice: one pure function over a report's
 * probe results. Each verdict is yes / no / could-not-test and cites the facts
 * it rests on; a missing extension is not by itself a vulnerability, and a probe
 * that could not run never counts as safe. The advice follows the decision tree
 * of 2009 (Microsoft advisory 977377 and the MVP guidance around it): no client
 * authentication and no renegotiation → nothing to do; client certificates by
 * renegotiation → ask for them up front or make sure RFC 5746 is there;
 * insecure renegotiation → upgrade, or switch it off knowing what breaks.
 */
import type {
  ClientInitiatedResult,
  Reachability,
  RenegotiationOutcome,
  ScanReport,
  Verdict,
  VerdictId,
} from './types.ts';

export type Evidence = Omit<ScanReport, 'verdicts' | 'vulnerabilities' | 'advice'>;

export interface Judgement {
  verdicts: Verdict[];
  vulnerabilities: VerdictId[];
  advice: string[];
}

const REFUSED: readonly RenegotiationOutcome[] = ['refused-alert', 'refused-fatal', 'closed', 'ignored'];

function outcomeText(kind: string, r: ClientInitiatedResult): string {
  if (r.outcome === 'not-tested') return `${kind} client-initiated renegotiation: not tested (${r.reason})`;
  return `${kind} client-initiated renegotiation: ${r.outcome}${r.alert ? ` (${r.alert})` : ''}`;
}

function tls13Only(e: Evidence): boolean {
  const v = e.versions;
  return v['TLSv1.3'] === true && v['TLSv1'] !== true && v['TLSv1.1'] !== true && v['TLSv1.2'] !== true && !e.baseline;
}

function renegotiatingPaths(e: Evidence): string[] {
  return e.serverInitiated.filter((p) => p.renegotiates === true).map((p) => p.path);
}

function certificatePaths(e: Evidence): string[] {
  return e.serverInitiated.filter((p) => p.requestsClientCert === true).map((p) => p.path);
}

function insecureRenegotiation(e: Evidence): Verdict {
  const title = 'Insecure renegotiation: plaintext prefix injection (CVE-2009-3555)';
  const ci = e.clientInitiated;
  const sr = e.secureRenegotiation;
  const yes: string[] = [];
  if (ci.insecure === 'completed') yes.push('a client that signals no RFC 5746 renegotiated (client-initiated)');
  if (ci.secure === 'completed' && e.baseline && !e.baseline.secureRenegotiation)
    yes.push('client-initiated renegotiation completed without RFC 5746');
  if (sr.enforced === false) {
    const carried = sr.enforcement.filter(
      (x) => x.result.outcome === 'completed' || (x.result.outcome !== 'not-tested' && x.result.serverHello),
    );
    yes.push(
      `RFC 5746 is advertised but not enforced: the server carried on after ${carried.map((x) => x.sent).join('; ')}`,
    );
  }
  for (const p of e.serverInitiated) {
    if (p.insecure === true) yes.push(`server-initiated renegotiation on ${p.path} without RFC 5746`);
  }
  if (yes.length > 0) return { id: 'CVE-2009-3555', title, answer: 'yes', reason: yes.join('; '), evidence: yes };

  const facts = [outcomeText('insecure', ci.details.insecure)];
  if (sr.required === true) facts.push('the server refuses clients without RFC 5746 at the initial handshake');
  if (sr.enforced === true) facts.push('RFC 5746 is enforced in renegotiations');
  const triedPaths = e.serverInitiated.filter((p) => p.insecure === false).map((p) => p.path);
  if (triedPaths.length > 0) facts.push(`no insecure server-initiated renegotiation on ${triedPaths.join(', ')}`);

  const insecureKnown = ci.insecure !== 'not-tested' || sr.required === true;
  if (!insecureKnown) {
    const r = ci.details.insecure;
    return {
      id: 'CVE-2009-3555',
      title,
      answer: 'could-not-test',
      reason: `the insecure renegotiation probe could not run: ${r.outcome === 'not-tested' ? r.reason : r.outcome}`,
      evidence: facts,
    };
  }
  const caveats: string[] = [];
  const untested = e.serverInitiated.filter((p) => p.insecure === null);
  if (untested.length > 0 && e.baseline && !e.baseline.secureRenegotiation) {
    caveats.push(
      `server-initiated renegotiation could not be observed (${untested.map((p) => p.reason ?? p.path).join('; ')}); without RFC 5746 any renegotiation the server starts would be insecure`,
    );
  }
  return {
    id: 'CVE-2009-3555',
    title,
    answer: 'no',
    reason: ['no renegotiation without RFC 5746 was accepted', ...caveats].join('; '),
    evidence: facts,
  };
}

function renegotiationDos(e: Evidence): Verdict {
  const title = 'Client-initiated renegotiation DoS (CVE-2011-1473)';
  const d = e.dos;
  const ci = e.clientInitiated;
  const first = [outcomeText('secure', ci.details.secure), outcomeText('insecure', ci.details.insecure)];
  if (d.accepted !== null && d.accepted > 0) {
    const run = `${d.accepted} of ${d.max} renegotiations accepted in a row on one connection (${d.over})${d.ratePerSecond !== null ? `, ${d.ratePerSecond}/s` : ''}`;
    if (d.accepted >= d.max) {
      return { id: 'CVE-2011-1473', title, answer: 'yes', reason: `no limit met: ${run}`, evidence: [run, ...first] };
    }
    return {
      id: 'CVE-2011-1473',
      title,
      answer: 'limited',
      reason: `accepted, then limited: ${run}, then ${d.stoppedBy ?? 'stopped'}`,
      evidence: [run, `attempt ${d.accepted + 1}: ${d.stoppedBy ?? 'not completed'}`, ...first],
    };
  }
  const secureRefused =
    REFUSED.includes(ci.secure) || (ci.secure === 'not-tested' && e.baseline?.secureRenegotiation === false);
  const insecureRefused =
    REFUSED.includes(ci.insecure) || (ci.insecure === 'not-tested' && e.secureRenegotiation.required === true);
  if (secureRefused && insecureRefused) {
    return {
      id: 'CVE-2011-1473',
      title,
      answer: 'no',
      reason: 'client-initiated renegotiation is refused',
      evidence: first,
    };
  }
  return {
    id: 'CVE-2011-1473',
    title,
    answer: 'could-not-test',
    reason: d.reason ?? 'client-initiated renegotiation could not be tested',
    evidence: first,
  };
}

function anyRenegotiationCompleted(e: Evidence): boolean | null {
  if (e.clientInitiated.secure === 'completed' || e.clientInitiated.insecure === 'completed') return true;
  if (e.serverInitiated.some((p) => p.renegotiates === true)) return true;
  const clientKnown = e.clientInitiated.secure !== 'not-tested' || e.clientInitiated.insecure !== 'not-tested';
  return clientKnown ? false : null;
}

function tripleHandshake(e: Evidence): Verdict {
  const title = 'Triple handshake: renegotiation without the extended master secret (RFC 7627)';
  const any = anyRenegotiationCompleted(e);
  if (e.extendedMasterSecret === true) {
    return {
      id: 'triple-handshake',
      title,
      answer: 'no',
      reason: 'the server negotiates the extended master secret',
      evidence: ['ServerHello carries extended_master_secret'],
    };
  }
  if (any === false) {
    return {
      id: 'triple-handshake',
      title,
      answer: 'no',
      reason: 'no renegotiation is accepted, so the attack has nothing to ride on',
      evidence: ['no renegotiation completed in either direction'],
    };
  }
  if (any === true && e.extendedMasterSecret === false) {
    const how = [
      e.clientInitiated.secure === 'completed' || e.clientInitiated.insecure === 'completed' ? 'client-initiated' : '',
      renegotiatingPaths(e).length > 0 ? `server-initiated (${renegotiatingPaths(e).join(', ')})` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return {
      id: 'triple-handshake',
      title,
      answer: 'yes',
      reason: `renegotiation is accepted (${how}) and the server does not negotiate the extended master secret`,
      evidence: ['ServerHello has no extended_master_secret', `renegotiation completed: ${how}`],
    };
  }
  return {
    id: 'triple-handshake',
    title,
    answer: 'could-not-test',
    reason: 'renegotiation or EMS support could not be determined',
    evidence: [],
  };
}

function noRenegotiation(e: Evidence): Verdict {
  const title = 'No renegotiation possible';
  if (tls13Only(e))
    return {
      id: 'no-renegotiation',
      title,
      answer: 'yes',
      reason: 'TLS 1.3 only: renegotiation does not exist there',
      evidence: ['TLS 1.0–1.2 handshakes refused, TLS 1.3 accepted'],
    };
  const any = anyRenegotiationCompleted(e);
  if (any === true)
    return { id: 'no-renegotiation', title, answer: 'no', reason: 'a renegotiation completed', evidence: [] };
  const serverTried = e.serverInitiated.length > 0 && e.serverInitiated.every((p) => p.renegotiates === false);
  if (any === false && serverTried) {
    return {
      id: 'no-renegotiation',
      title,
      answer: 'yes',
      reason: 'every client-initiated renegotiation was refused and no path made the server renegotiate',
      evidence: [
        outcomeText('secure', e.clientInitiated.details.secure),
        outcomeText('insecure', e.clientInitiated.details.insecure),
      ],
    };
  }
  return {
    id: 'no-renegotiation',
    title,
    answer: 'could-not-test',
    reason:
      any === false
        ? 'client-initiated renegotiation is refused; server-initiated renegotiation could not be ruled out'
        : 'renegotiation could not be tested',
    evidence: [],
  };
}

function adviceFor(e: Evidence, v: Record<VerdictId, Verdict>): string[] {
  const advice: string[] = [];
  const certPaths = certificatePaths(e);
  const renegPaths = renegotiatingPaths(e);
  const breaks =
    renegPaths.length > 0
      ? `switching renegotiation off would break ${renegPaths.join(', ')}${certPaths.length > 0 ? ' (client certificates obtained by renegotiation)' : ''}`
      : 'no path was seen to rely on renegotiation';
  if (v['no-renegotiation'].answer === 'yes' && certPaths.length === 0 && !e.baseline?.initialCertificateRequest) {
    advice.push('Nothing to do: no client authentication by renegotiation and no renegotiation accepted.');
  }
  if (certPaths.length > 0) {
    advice.push(
      `Client certificates are obtained by renegotiation on ${certPaths.join(', ')}: ask for them in the initial handshake instead (IIS SSLAlwaysNegoClientCert, HTTP.sys clientcertnegotiation=enable, Apache SSLVerifyClient at server level), or make sure RFC 5746 is supported and enforced.`,
    );
  }
  if (v['CVE-2009-3555'].answer === 'yes') {
    advice.push(
      `Upgrade to RFC 5746 (MS10-049/KB980436, OpenSSL ≥ 0.9.8m, GnuTLS without %UNSAFE_RENEGOTIATION) or switch renegotiation off (DisableRenegoOnServer, SSL_OP_NO_RENEGOTIATION); ${breaks}. Or put renego guard in front of it.`,
    );
  }
  if (e.secureRenegotiation.enforced === false) {
    advice.push('Upgrade the TLS stack, whose RFC 5746 support is faulty; until then, treat the server as unpatched.');
  }
  if (v['CVE-2011-1473'].answer === 'yes') {
    advice.push(
      'Refuse client-initiated renegotiation (OpenSSL 3 default, SSL_OP_NO_RENEGOTIATION, jdk.tls.rejectClientInitiatedRenegotiation=true) or rate-limit it.',
    );
  } else if (v['CVE-2011-1473'].answer === 'limited') {
    advice.push(
      `Refuse client-initiated renegotiation entirely: the limit still lets ${e.dos.accepted} through on each connection, and refusing costs nothing unless clients depend on it.`,
    );
  }
  if (v['triple-handshake'].answer === 'yes') {
    advice.push('Enable the extended master secret (RFC 7627) on the server, or stop renegotiating.');
  }
  if (e.certificateChange === true)
    advice.push(
      'Keep the server certificate the same across renegotiations: clients that pin it (BoringSSL, Go) fail, and without EMS a change is the triple-handshake pattern.',
    );
  if (advice.length === 0 && v['CVE-2009-3555'].answer === 'no') {
    advice.push(
      `No action needed for renegotiation: RFC 5746 holds${renegPaths.length > 0 ? `; ${breaks}, so keep it on` : ''}.`,
    );
  }
  if (Object.values(v).some((x) => x.answer === 'could-not-test')) {
    advice.push('Some checks could not run (see the reasons): their answer is unknown, not "safe".');
  }
  return advice;
}

/** What to look at first when a target could not be scanned, by how far the scan got. */
const NOT_SCANNED_ADVICE: Record<Reachability, string> = {
  reachable: 'a TLS server answered, but no TLS 1.0–1.2 handshake the scanner can finish completed',
  unresolvable: 'the name does not resolve; check its spelling and the resolver',
  refused: 'nothing accepts connections on that port (refused); check the host and the port',
  unroutable: 'there is no route to the address from here',
  'connect-timeout': 'nothing answered the TCP connection; a firewall dropping it, or a host that is down',
  reset:
    'the connection was reset before the server sent a byte; a full accept queue (try again later), or a device that resets TLS',
  'starttls-failed': 'the STARTTLS dialogue did not reach its go-ahead; check the protocol',
  closed: 'the server closed the connection without answering the ClientHello',
  silent:
    'the server accepted the connection but never answered the ClientHello; a service that waits for the client to speak another protocol (try --starttls), or a longer --timeout',
  'not-tls': 'something answered, but not in TLS; a plaintext service on that port, or one that needs --starttls',
  'invalid-target': 'the line is not a target',
  unfinished: 'the scan did not run to its end',
};

export function judge(e: Evidence): Judgement {
  if (!e.ok) {
    return {
      verdicts: [],
      vulnerabilities: [],
      advice: [
        `The target could not be scanned: ${NOT_SCANNED_ADVICE[e.reachability]} (${e.error ?? 'unknown error'}).`,
      ],
    };
  }
  const list = [insecureRenegotiation(e), renegotiationDos(e), tripleHandshake(e), noRenegotiation(e)];
  if (tls13Only(e)) {
    for (const v of list) {
      if (v.id === 'no-renegotiation') continue;
      v.answer = 'no';
      v.reason = 'TLS 1.3 only: renegotiation does not exist there';
      v.evidence = ['TLS 1.0–1.2 handshakes refused, TLS 1.3 accepted'];
    }
  }
  const byId = Object.fromEntries(list.map((v) => [v.id, v])) as Record<VerdictId, Verdict>;
  const vulnerabilities = list.filter((v) => v.answer === 'yes' && v.id !== 'no-renegotiation').map((v) => v.id);
  return {
    verdicts: list,
    vulnerabilities,
    advice: tls13Only(e) ? ['Nothing to do: TLS 1.3 only, renegotiation does not exist there.'] : adviceFor(e, byId),
  };
}

/**
 * How bad a finding is, for `--fail-on`: `high` an attacker can inject
 * plaintext into another client's session (CVE-2009-3555); `medium` a
 * renegotiation DoS without limit (CVE-2011-1473) or renegotiation without the
 * extended master secret (triple handshake); `low` client-initiated
 * renegotiation accepted but limited.
 */
export type Severity = 'high' | 'medium' | 'low';

export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low'];

export function severityOf(v: Verdict): Severity | undefined {
  if (v.id === 'no-renegotiation') return undefined;
  if (v.answer === 'limited') return 'low';
  if (v.answer !== 'yes') return undefined;
  return v.id === 'CVE-2009-3555' ? 'high' : 'medium';
}

/** The verdicts of a report that are findings, worst first. */
export function findingsOf(verdicts: readonly Verdict[]): { verdict: Verdict; severity: Severity }[] {
  return verdicts
    .flatMap((verdict) => {
      const severity = severityOf(verdict);
      return severity ? [{ verdict, severity }] : [];
    })
    .sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
}

/** Does any finding reach `threshold` (`any`: a finding of any severity)? */
export function reachesThreshold(verdicts: readonly Verdict[], threshold: Severity | 'any'): boolean {
  const limit = threshold === 'any' ? SEVERITIES.length - 1 : SEVERITIES.indexOf(threshold);
  return findingsOf(verdicts).some((f) => SEVERITIES.indexOf(f.severity) <= limit);
}
