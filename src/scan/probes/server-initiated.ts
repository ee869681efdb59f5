/**
 * Check 5: server-initiated renegotiation, which is how IIS and Apache asked for
 * client certificates on protected paths. Each path is requested over HTTP; we
 * watch for a HelloRequest, whether the new handshake carries a
 * CertificateRequest (and its CA names), and what the server does when we have
 * no certificate. These are the paths that break if renegotiation is switched
 * off. A second request as a 2009 client (no RFC 5746 signal) shows whether the
 * server would renegotiate insecurely when a legacy client asks for such a path.
 * Where the server renegotiated a secure session, its HelloRequest is answered
 * with each renegotiation_info RFC 5746 §3.7 says it MUST abort on: a server
 * that refuses client-initiated renegotiation can only show enforcement here.
 */
import type { ConnectionEvent, HandshakeSummary } from '../../handshake/events.ts';
import { HandshakeType } from '../../wire/enums.ts';
import type { CertificateRequest } from '../../wire/handshake.ts';
import { distinguishedName } from '../evidence.ts';
import { answerSettled, isHttpResponse, request, statusOf } from '../http.ts';
import type { ProbeSession } from '../probe-session.ts';
import type { ClientInitiatedResult, SecureRenegotiationResult, ServerInitiatedPath, Tri } from '../types.ts';
import { describeAttempt } from './client-initiated.ts';
import { open, type Negotiated, type ProbeContext } from './context.ts';
import { misbehaviours } from './enforcement.ts';
import { CONNECT_ROUND_TRIPS, RENEGOTIATION_ROUND_TRIPS, type Probe } from './probe.ts';

interface Observation {
  helloRequest: boolean;
  /** The server answered our renegotiation ClientHello: it went ahead with the new handshake. */
  serverHello: boolean;
  certificateRequest: CertificateRequest | undefined;
  completed: HandshakeSummary | undefined;
  failed: string | undefined;
  response: string;
  closed: boolean;
  alert: string | undefined;
}

/** Requests `path` and watches what the server does with the connection meanwhile. */
async function requestAndWatch(s: ProbeSession, path: string, host: string, timeoutMs: number): Promise<Observation> {
  const o: Observation = {
    helloRequest: false,
    serverHello: false,
    certificateRequest: undefined,
    completed: undefined,
    failed: undefined,
    response: '',
    closed: false,
    alert: undefined,
  };
  const onEvent = (e: ConnectionEvent): void => {
    if (e.type === 'handshake-message' && e.direction === 'in') {
      if (e.message.type === HandshakeType.hello_request) o.helloRequest = true;
      if (e.message.type === HandshakeType.server_hello && o.helloRequest) o.serverHello = true;
      if (e.message.type === HandshakeType.certificate_request && o.helloRequest)
        o.certificateRequest = e.message as CertificateRequest;
    }
    if (e.type === 'alert' && e.direction === 'received' && e.description !== 0)
      o.alert = `${e.level === 2 ? 'fatal' : 'warning'} ${e.description}`;
    if (e.type === 'error') o.failed = e.error.message;
  };
  const onRenegotiated = (summary: HandshakeSummary): void => {
    o.completed = summary;
  };
  s.sock.on('tlsEvent', onEvent);
  s.sock.on('renegotiated', onRenegotiated);
  try {
    s.write(request('GET', path, host));
    o.response = await s.read(timeoutMs, answerSettled);
    o.closed = s.closed;
    if (s.log.alertReceived) o.alert = s.log.alertReceived;
  } finally {
    s.sock.off('tlsEvent', onEvent);
    s.sock.off('renegotiated', onRenegotiated);
  }
  return o;
}

function withoutCertificate(o: Observation): string {
  const status = statusOf(o.response);
  if (status) return status;
  if (o.alert) return `alert ${o.alert}`;
  if (o.closed) return 'connection closed';
  return 'no answer';
}

async function legacyRenegotiates(
  cx: ProbeContext,
  n: Negotiated,
  path: string,
  host: string,
): Promise<{ value: Tri; note: string }> {
  const r = await open(cx, n, 'none');
  if (!r.ok)
    return {
      value: false,
      note: `a 2009 client cannot connect (${r.failure.alert ?? r.failure.error}), so it cannot be renegotiated with`,
    };
  try {
    const o = await requestAndWatch(r.session, path, host, cx.opts.timeoutMs);
    if (o.completed)
      return {
        value: true,
        note: `as a 2009 client (no RFC 5746 signal): the server renegotiated (insecure) and answered ${withoutCertificate(o)}`,
      };
    if (o.serverHello)
      return {
        value: true,
        note: `as a 2009 client: the server went ahead with the renegotiation (ServerHello) without RFC 5746; then ${o.failed ?? withoutCertificate(o)}`,
      };
    if (o.helloRequest)
      return {
        value: false,
        note: `as a 2009 client: the server sent HelloRequest but refused the renegotiation without RFC 5746 (${o.alert ?? o.failed ?? withoutCertificate(o)})`,
      };
    return { value: false, note: `as a 2009 client: no HelloRequest; the server answered ${withoutCertificate(o)}` };
  } finally {
    r.session.close();
  }
}

/** How the server answered our reply to its HelloRequest, in the terms of a renegotiation attempt. */
function answerOf(o: Observation, ms: number): ClientInitiatedResult {
  if (!o.helloRequest) return { outcome: 'not-tested', reason: 'no HelloRequest on this connection' };
  const seen = { serverHello: o.serverHello || o.completed !== undefined, ms };
  if (o.completed) return { outcome: 'completed', ...seen };
  if (o.alert)
    return { outcome: o.alert.startsWith('fatal') ? 'refused-fatal' : 'refused-alert', alert: o.alert, ...seen };
  if (o.closed || o.failed) return { outcome: 'closed', ...(o.failed ? { error: o.failed } : {}), ...seen };
  return { outcome: 'ignored', ...seen };
}

/**
 * Answers the HelloRequest of `path` with each misbehaving renegotiation_info,
 * one connection each. Only meaningful where a correct answer went ahead.
 */
async function enforcement(
  cx: ProbeContext,
  n: Negotiated,
  path: string,
  host: string,
): Promise<Pick<ServerInitiatedPath, 'enforced' | 'enforcement'> & { reason?: string }> {
  const enforcement = await Promise.all(
    misbehaviours().map(async ({ sent, ri }) => {
      const r = await open(cx, n, 'extension');
      if (!r.ok) {
        const result: ClientInitiatedResult = { outcome: 'not-tested', reason: `handshake failed: ${r.failure.error}` };
        return { sent, result };
      }
      const t0 = performance.now();
      try {
        r.session.sock.answerHelloRequestsWith(ri);
        const o = await requestAndWatch(r.session, path, host, cx.opts.timeoutMs);
        return { sent, result: answerOf(o, Math.round(performance.now() - t0)) };
      } finally {
        r.session.close();
      }
    }),
  );
  const results = enforcement.map((e) => e.result);
  if (results.some((r) => r.outcome !== 'not-tested' && r.serverHello === true))
    return { enforced: false, enforcement };
  if (results.every((r) => r.outcome === 'refused-fatal' || r.outcome === 'refused-alert' || r.outcome === 'closed'))
    return { enforced: true, enforcement };
  return { enforced: null, enforcement, reason: 'some misbehaving answers got no HelloRequest or no answer' };
}

export async function probeServerInitiated(
  cx: ProbeContext,
  n: Negotiated,
  path: string,
): Promise<ServerInitiatedPath & { ms: number }> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  const base: ServerInitiatedPath = {
    path,
    renegotiates: null,
    requestsClientCert: null,
    certificateAuthorities: [],
    insecure: null,
    enforced: null,
    enforcement: [],
    evidence: [],
  };
  if (!cx.opts.http) return { ...base, reason: 'HTTP checks are off (--no-http)', ms: 0 };
  if (cx.target.starttls)
    return {
      ...base,
      reason: `not an HTTP service (${cx.target.starttls}): no request triggers a renegotiation`,
      ms: 0,
    };
  const host = cx.target.serverName ?? cx.target.host;
  const r = await open(cx, n, 'extension');
  if (!r.ok) return { ...base, reason: `handshake failed: ${r.failure.error}`, ms: ms() };
  const s = r.session;
  let o: Observation;
  try {
    o = await requestAndWatch(s, path, host, cx.opts.timeoutMs);
  } finally {
    s.close();
  }
  const evidence: string[] = [`GET ${path}: ${o.helloRequest ? 'HelloRequest received' : 'no HelloRequest'}`];
  if (!o.helloRequest && o.response.length > 0 && !isHttpResponse(o.response)) {
    return {
      ...base,
      reason: 'not an HTTP server (its answer does not start with HTTP/)',
      evidence: [...evidence, `got ${JSON.stringify(o.response.slice(0, 60))}`],
      ms: ms(),
    };
  }
  if (!o.helloRequest && o.response.length === 0) {
    return {
      ...base,
      reason: o.closed ? 'the server closed the connection without answering' : 'no answer to the request',
      evidence,
      ms: ms(),
    };
  }
  if (!o.helloRequest) {
    return {
      ...base,
      renegotiates: false,
      requestsClientCert: false,
      insecure: false,
      status: statusOf(o.response),
      evidence: [...evidence, `answered ${statusOf(o.response)}`],
      ms: ms(),
    };
  }
  const cas = (o.certificateRequest?.certificateAuthorities ?? []).map(distinguishedName);
  if (o.certificateRequest)
    evidence.push(
      `the renegotiation asked for a client certificate; CA names: ${cas.length > 0 ? cas.join('; ') : 'none'}`,
    );
  evidence.push(
    o.completed
      ? `renegotiation completed without a certificate (${o.completed.secureRenegotiation ? 'secure' : 'INSECURE: no RFC 5746'})`
      : `renegotiation did not complete: ${o.failed ?? 'no answer'}`,
  );
  evidence.push(`without a client certificate: ${withoutCertificate(o)}`);
  let insecure: Tri = true;
  let enforced: Awaited<ReturnType<typeof enforcement>> = { enforced: null, enforcement: [] };
  if (s.summary.secureRenegotiation) {
    const wentAhead = o.serverHello || o.completed !== undefined;
    const [legacy, checked] = await Promise.all([
      legacyRenegotiates(cx, n, path, host),
      wentAhead
        ? enforcement(cx, n, path, host)
        : { ...enforced, reason: 'the correct answer to the HelloRequest did not go ahead either' },
    ]);
    insecure = legacy.value;
    enforced = checked;
    evidence.push(legacy.note);
    for (const e of checked.enforcement)
      evidence.push(`answered the HelloRequest with ${e.sent}: ${describeAttempt(e.result)}`);
    if (checked.reason) evidence.push(`RFC 5746 enforcement unknown here: ${checked.reason}`);
  } else {
    evidence.push('the server does not support RFC 5746: this renegotiation is insecure whatever the client does');
  }
  return {
    path,
    renegotiates: true,
    requestsClientCert: o.certificateRequest !== undefined,
    certificateAuthorities: cas,
    withoutCertificate: withoutCertificate(o),
    insecure,
    enforced: enforced.enforced,
    enforcement: enforced.enforcement,
    ...(statusOf(o.response) ? { status: statusOf(o.response) } : {}),
    evidence,
    ms: ms(),
  };
}

declare module './probe.ts' {
  interface ProbeOutputs {
    'server-initiated': (ServerInitiatedPath & { ms: number })[];
  }
}

/**
 * Where the server renegotiated on its own, its renegotiations show enforcement
 * too: one that carried on after a bad renegotiation_info is not enforcing RFC
 * 5746, whatever client-initiated renegotiation showed; one that aborted every
 * time answers what a server refusing client renegotiation left open.
 */
function addServerInitiatedEnforcement(sr: SecureRenegotiationResult, paths: ServerInitiatedPath[]): void {
  for (const p of paths) {
    sr.enforcement.push(
      ...p.enforcement.map((x) => ({ ...x, sent: `${x.sent}, answering the HelloRequest of GET ${p.path}` })),
    );
  }
  const failed = paths.find((p) => p.enforced === false);
  const held = paths.find((p) => p.enforced === true);
  if (failed) {
    sr.enforced = false;
    delete sr.reasons.enforced;
  } else if (sr.enforced === null && held) {
    sr.enforced = true;
    sr.reasons.enforced = `shown on the server-initiated renegotiation of GET ${held.path}: each misbehaving answer to its HelloRequest was refused`;
  }
}

export const serverInitiatedProbe: Probe<'server-initiated'> = {
  id: 'server-initiated',
  needs: ['handshake'],
  informs: ['CVE-2009-3555', 'no-renegotiation'],
  run(r) {
    const n = r.need('handshake').negotiated;
    return Promise.all(r.cx.opts.paths.map((p) => probeServerInitiated(r.cx, n, p)));
  },
  contribute(e, out) {
    e.serverInitiated = out.map(({ ms: _ms, ...p }) => p);
    addServerInitiatedEnforcement(e.secureRenegotiation, e.serverInitiated);
  },
  // A session, the request and its HelloRequest, the renegotiation; on a secure session the legacy and
  // misbehaving answers follow on new sessions, the same again.
  roundTrips: (out) =>
    Math.max(
      0,
      ...out.map((p) =>
        p.renegotiates !== true
          ? p.evidence.length > 0
            ? CONNECT_ROUND_TRIPS + 1
            : 0
          : 2 * (CONNECT_ROUND_TRIPS + 1 + RENEGOTIATION_ROUND_TRIPS),
      ),
    ),
};
