/**
 * The client's finishing phase (RFC 5246 §7.4.9, RFC 5077 §3.3): the server's
 * optional NewSessionTicket, its ChangeCipherSpec and Finished, our Finished
 * when resuming, and what a completed handshake leaves on the connection.
 */
import { HandshakeType } from '../wire/enums.ts';
import type { NewSessionTicket } from '../wire/handshake.ts';
import type { ClientConfig, ClientSession } from './client-config.ts';
import type {
  ClientKeyed,
  ClientTraffic,
  ExpectCcs,
  ExpectFinished,
  ExpectTicketOrCcs,
  NewTicket,
  ServerIdentity,
} from './client-states.ts';
import { expectCcs, expectMessage, recordHandshake, sendFinished } from './common.ts';
import type { HandshakeContext, HandshakeInput } from './context.ts';
import { VerifiedFinished, type FinishedInputs } from './proofs.ts';

/** NewSessionTicket comes only when the ServerHello announced it (RFC 5077 §3.2); otherwise ChangeCipherSpec. */
export function onTicketOrCcs(state: ExpectTicketOrCcs, input: HandshakeInput): ExpectCcs | ExpectFinished {
  const keyed = state.keyed;
  if (input.kind === 'message' && input.msg.type === HandshakeType.new_session_ticket && keyed.choice.ticketExpected) {
    keyed.offer.transcript.append(input.raw);
    const m = input.msg as NewSessionTicket;
    return { name: 'ExpectChangeCipherSpec', keyed, ticket: { ticket: m.ticket, lifetimeHint: m.lifetimeHint } };
  }
  return onCcs({ name: 'ExpectChangeCipherSpec', keyed, ticket: undefined }, input);
}

export function onCcs(state: ExpectCcs, input: HandshakeInput): ExpectFinished {
  expectCcs(input, state.name);
  return { name: 'ExpectFinished', keyed: state.keyed, ticket: state.ticket };
}

export function onFinished(
  cx: HandshakeContext,
  config: ClientConfig,
  state: ExpectFinished,
  input: HandshakeInput,
): ClientTraffic {
  const { msg, raw } = expectMessage(input, HandshakeType.finished, state.name);
  const keyed = state.keyed;
  const inputs = finishedInputs(keyed);
  const serverFinished = VerifiedFinished.check(inputs, 'server finished', msg.verifyData, raw);
  cx.security.serverVerifyData = serverFinished.verifyData;
  if (keyed.finish.kind === 'resumed') {
    cx.security.clientVerifyData = sendFinished(cx, inputs, keyed.finish.writer, 'client finished');
  }
  completeHandshake(cx, config, keyed, state.ticket);
  return { name: 'Traffic', serverFinished };
}

function finishedInputs(keyed: ClientKeyed): FinishedInputs {
  return {
    version: keyed.choice.version,
    suite: keyed.choice.suite,
    masterSecret: keyed.masterSecret,
    transcript: keyed.offer.transcript,
  };
}

function peerCertificates(server: ServerIdentity): readonly Uint8Array[] {
  return server.kind === 'verified' ? server.chain.certificates : server.certificates;
}

/** Records the handshake on the connection (RFC 5746 §3.1's state among it) and reports it. */
function completeHandshake(
  cx: HandshakeContext,
  config: ClientConfig,
  keyed: ClientKeyed,
  ticket: NewTicket | undefined,
): void {
  const { offer, choice, server, clientAuth } = keyed;
  const resumed = keyed.finish.kind === 'resumed';
  const certificates = peerCertificates(server);
  const renegotiation = recordHandshake(cx.security, {
    renegotiation: offer.renegotiation,
    secureRenegotiation: choice.secureRenegotiation,
    version: choice.version,
    suite: choice.suite,
    ems: choice.ems,
    peerCertificates: certificates,
    alpn: choice.alpn,
  });
  const session: ClientSession = {
    version: choice.version,
    cipherSuite: choice.suite.id,
    // A resumed session keeps the ID we offered, which the ServerHello echoed.
    sessionId: resumed ? offer.sessionId : choice.sessionId,
    ticket: ticket?.ticket ?? (resumed ? offer.session?.ticket : undefined),
    masterSecret: keyed.masterSecret,
    extendedMasterSecret: choice.ems,
    peerCertificates: certificates,
    serverName: config.serverName,
    createdAt: Date.now(),
  };
  if (session.sessionId.length > 0 || session.ticket) cx.emit({ type: 'session', session });
  cx.emit({
    type: 'handshake-complete',
    summary: {
      version: choice.version,
      cipherSuite: choice.suite.id,
      secureRenegotiation: choice.secureRenegotiation,
      extendedMasterSecret: choice.ems,
      resumed,
      alpn: choice.alpn,
      peerCertificates: certificates,
      // A resumed session was authenticated when it was established.
      peerVerified: server.kind !== 'unverified',
      renegotiation,
      certificateRequested: clientAuth.request
        ? { certificateAuthorities: clientAuth.request.certificateAuthorities }
        : undefined,
      clientCertificateSent: clientAuth.certificateSent,
    },
  });
}
