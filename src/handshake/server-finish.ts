/**
 * The server's finishing phase (RFC 5246 §7.4.9, RFC 5077 §3.3): the client's
 * ChangeCipherSpec and Finished, our NewSessionTicket and Finished in a full
 * handshake, and what a completed handshake leaves on the connection and in
 * the session cache.
 */
import { HandshakeType } from '../wire/enums.ts';
import { expectCcs, expectMessage, recordHandshake, sendFinished, sendMessage } from './common.ts';
import type { HandshakeContext, HandshakeInput } from './context.ts';
import { VerifiedFinished, type FinishedInputs } from './proofs.ts';
import type { ServerSession } from './server-sessions.ts';
import type {
  ClientIdentity,
  ExpectCcs,
  ExpectFinished,
  ServerEnvironment,
  ServerKeyed,
  ServerTraffic,
} from './server-states.ts';

export function onCcs(state: ExpectCcs, input: HandshakeInput): ExpectFinished {
  expectCcs(input, state.name);
  return { name: 'ExpectFinished', keyed: state.keyed };
}

export function onFinished(
  cx: HandshakeContext,
  env: ServerEnvironment,
  state: ExpectFinished,
  input: HandshakeInput,
): ServerTraffic {
  const { msg, raw } = expectMessage(input, HandshakeType.finished, state.name);
  const keyed = state.keyed;
  const inputs = finishedInputs(keyed);
  const clientFinished = VerifiedFinished.check(inputs, 'client finished', msg.verifyData, raw);
  cx.security.clientVerifyData = clientFinished.verifyData;
  if (keyed.finish.kind === 'full') {
    if (keyed.hs.issueTicket) sendTicket(cx, env, keyed);
    cx.security.serverVerifyData = sendFinished(cx, inputs, keyed.finish.writer, 'server finished');
  }
  completeHandshake(cx, env, keyed);
  return { name: 'Traffic', clientFinished };
}

function finishedInputs(keyed: ServerKeyed): FinishedInputs {
  const { hs, masterSecret } = keyed;
  return { version: hs.version, suite: hs.suite, masterSecret, transcript: hs.transcript };
}

/** RFC 5077 §3.3: the session sealed into a ticket, sent before our ChangeCipherSpec. */
export function sendTicket(cx: HandshakeContext, env: ServerEnvironment, keyed: ServerKeyed): void {
  const ticket = env.sessions!.seal(sessionOf(keyed));
  sendMessage(cx, keyed.hs.transcript, {
    type: HandshakeType.new_session_ticket,
    lifetimeHint: Math.floor(env.config.sessionLifetimeMs / 1000),
    ticket,
  });
}

function clientCertificates(client: ClientIdentity): readonly Uint8Array[] {
  switch (client.kind) {
    case 'anonymous':
      return [];
    case 'verified':
      return client.proof.chain.certificates;
    case 'resumed':
      return client.certificates;
  }
}

function sessionOf(keyed: ServerKeyed): ServerSession {
  const hs = keyed.hs;
  return {
    version: hs.version,
    cipherSuite: hs.suite.id,
    masterSecret: keyed.masterSecret,
    extendedMasterSecret: hs.ems,
    clientCertificates: clientCertificates(keyed.client),
    createdAt: Date.now(),
  };
}

/** Records the handshake on the connection (RFC 5746 §3.1's state among it) and in the cache, and reports it. */
function completeHandshake(cx: HandshakeContext, env: ServerEnvironment, keyed: ServerKeyed): void {
  const { hs, client } = keyed;
  const resumed = keyed.finish.kind === 'resumed';
  const certificates = clientCertificates(client);
  const sec = cx.security;
  const renegotiation = recordHandshake(sec, {
    renegotiation: hs.renegotiation,
    secureRenegotiation: hs.secureRenegotiation,
    version: hs.version,
    suite: hs.suite,
    ems: hs.ems,
    peerCertificates: certificates,
    alpn: hs.alpn,
  });
  if (env.sessions && hs.sessionId.length > 0 && !resumed) env.sessions.put(hs.sessionId, sessionOf(keyed));
  sec.sessionId = hs.sessionId;
  cx.emit({
    type: 'handshake-complete',
    summary: {
      version: hs.version,
      cipherSuite: hs.suite.id,
      secureRenegotiation: hs.secureRenegotiation,
      extendedMasterSecret: hs.ems,
      resumed,
      alpn: hs.alpn,
      peerCertificates: certificates,
      // A resumed session with a client certificate had it verified when it was established.
      peerVerified: client.kind === 'verified' || (client.kind === 'resumed' && certificates.length > 0),
      renegotiation,
      certificateRequested: keyed.request,
      clientCertificateSent: certificates.length > 0,
      serverName: hs.serverName,
    },
  });
}
