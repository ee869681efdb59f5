/**
 * Check 3, the prefix-injection shape (CVE-2009-3555): an HTTP request begun
 * before a renegotiation and finished after it. A server that answers the joined
 * request keeps application data across the handshake: with insecure
 * renegotiation accepted, that is exactly what lets an attacker's prefix run with
 * a victim's credentials (tlsfuzzer's "incomplete GET").
 */
import { answerSettled, isHttpResponse, statusOf } from '../http.ts';
import type { ClientInitiatedResult, SplitRequestResult } from '../types.ts';
import { describeAttempt } from './client-initiated.ts';
import { open, type Negotiated, type ProbeContext } from './context.ts';
import { CONNECT_ROUND_TRIPS, RENEGOTIATION_ROUND_TRIPS, type Probe } from './probe.ts';

export async function probeSplit(
  cx: ProbeContext,
  n: Negotiated,
  over: 'secure' | 'insecure' | undefined,
): Promise<SplitRequestResult & { ms: number }> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  if (over === undefined) {
    return {
      glued: null,
      over,
      reason: 'no client-initiated renegotiation completes, so nothing can be split across one',
      evidence: [],
      ms: 0,
    };
  }
  if (!cx.opts.http) return { glued: null, over, reason: 'HTTP checks are off (--no-http)', evidence: [], ms: 0 };
  if (cx.target.starttls)
    return { glued: null, over, reason: `not an HTTP service (${cx.target.starttls})`, evidence: [], ms: 0 };
  const r = await open(cx, n, over === 'secure' ? 'extension' : 'none', {}, 'chain');
  if (!r.ok) return { glued: null, over, reason: `handshake failed: ${r.failure.error}`, evidence: [], ms: ms() };
  const s = r.session;
  const host = cx.target.serverName ?? cx.target.host;
  const marker = `renego-split-${Math.random().toString(36).slice(2, 10)}`;
  const before = `GET /?${marker} HTTP/1.1\r\nHost: ${host}\r\nX-Renego-Scan: `;
  const afterPart = `${marker}\r\nConnection: close\r\n\r\n`;
  try {
    s.write(before);
    const a = await s.renegotiate(cx.opts, undefined, { nudge: false });
    const early = s.take();
    const evidence = [`sent ${JSON.stringify(before)}`, `renegotiation (${over}): ${describeAttempt(a)}`];
    if (early.length > 0 && !isHttpResponse(early)) {
      return {
        glued: null,
        over,
        reason: 'not an HTTP server (it answered the first half with something else)',
        evidence: [...evidence, `got ${JSON.stringify(early.slice(0, 80))}`],
        ms: ms(),
      };
    }
    if (early.length > 0) {
      return {
        glued: false,
        over,
        evidence: [
          ...evidence,
          `the server answered the incomplete request before the renegotiation: ${statusOf(early)}`,
        ],
        ms: ms(),
      };
    }
    if (a.outcome !== 'completed') {
      return { glued: null, over, reason: `the renegotiation did not complete (${a.outcome})`, evidence, ms: ms() };
    }
    s.write(afterPart);
    const reply = await s.read(cx.opts.timeoutMs, answerSettled);
    evidence.push(
      `sent ${JSON.stringify(afterPart)}`,
      `got ${reply.length === 0 ? 'nothing' : JSON.stringify(reply.split('\r\n')[0])}`,
    );
    if (reply.length === 0)
      return {
        glued: null,
        over,
        reason: s.closed ? 'the server closed the connection without answering' : 'no answer',
        evidence,
        ms: ms(),
      };
    if (!isHttpResponse(reply)) return { glued: null, over, reason: 'not an HTTP server', evidence, ms: ms() };
    const status = statusOf(reply)!;
    // 400 means the end arrived without its beginning: the server dropped the prefix at the renegotiation.
    return { glued: status !== 'HTTP 400', over, evidence, ms: ms() };
  } finally {
    s.close();
  }
}

declare module './probe.ts' {
  interface ProbeOutputs {
    'split-request': SplitRequestResult & { ms: number };
  }
}

/** The split runs over whichever kind of renegotiation the server accepts, insecure first. */
function renegotiating(
  insecure: ClientInitiatedResult,
  secure: ClientInitiatedResult,
): 'secure' | 'insecure' | undefined {
  if (insecure.outcome === 'completed') return 'insecure';
  return secure.outcome === 'completed' ? 'secure' : undefined;
}

export const splitProbe: Probe<'split-request'> = {
  id: 'split-request',
  needs: ['handshake', 'client-initiated-secure', 'client-initiated-insecure'],
  informs: ['CVE-2009-3555'],
  run: (r) =>
    probeSplit(
      r.cx,
      r.need('handshake').negotiated,
      renegotiating(r.need('client-initiated-insecure').result, r.need('client-initiated-secure').result),
    ),
  contribute(e, out) {
    const { ms: _ms, ...split } = out;
    e.clientInitiated.split = split;
  },
  // A new session, the first half, a renegotiation, the second half and its answer.
  roundTrips: (out) => (out.evidence.length > 0 ? CONNECT_ROUND_TRIPS + RENEGOTIATION_ROUND_TRIPS + 1 : 0),
};
