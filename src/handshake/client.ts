/**
 * The client handshake of TLS 1.0–1.2 (RFC 5246 §7.3) as a machine over the
 * closed union of client-states.ts: every transition is in this file's one
 * switch, and each phase's messages are handled in order in client-hello.ts,
 * client-key-exchange.ts and client-finish.ts (Go's handshake_client.go read top
 * to bottom). Whether a renegotiation may start is the connection's policy
 * (connection/client-connection.ts); how it starts and how a refusal ends it
 * are transitions, here.
 */
import { HandshakeType } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import type { ClientConfig } from './client-config.ts';
import { onFinished, onCcs, onTicketOrCcs } from './client-finish.ts';
import { onServerHello, sendClientHello, type ClientHelloOptions } from './client-hello.ts';
import {
  onCertificate,
  onCertificateRequestOrDone,
  onServerHelloDone,
  onServerKeyExchange,
} from './client-key-exchange.ts';
import type { ClientState } from './client-states.ts';
import type { HandshakeContext, HandshakeInput, HandshakeMachine } from './context.ts';

export class ClientHandshake implements HandshakeMachine {
  private state: ClientState = { name: 'NotStarted' };

  constructor(private readonly config: ClientConfig) {}

  get stateName(): ClientState['name'] {
    return this.state.name;
  }

  get inTraffic(): boolean {
    return this.state.name === 'Traffic';
  }

  get awaitingFinished(): boolean {
    return this.state.name === 'ExpectFinished';
  }

  /** The client checks every message against its state after decoding it. */
  get expects(): undefined {
    return undefined;
  }

  /** Sends a ClientHello: the first handshake, or a renegotiation from the traffic state. */
  start(cx: HandshakeContext, opts: ClientHelloOptions): void {
    const previous = this.state.name === 'Traffic' ? this.state : undefined;
    this.state = sendClientHello(cx, this.config, opts, previous);
  }

  /**
   * The server answered our renegotiation's ClientHello with a no_renegotiation
   * warning (RFC 5246 §7.2.2): the session in force carries on. False when no
   * renegotiation of ours awaits its ServerHello.
   */
  renegotiationRefused(): boolean {
    if (this.state.name !== 'ExpectServerHello' || this.state.previous === undefined) return false;
    this.state = this.state.previous;
    return true;
  }

  handle(cx: HandshakeContext, input: HandshakeInput): void {
    // RFC 5246 §7.4.1.1: a HelloRequest received while negotiating is ignored, and it is never
    // part of the transcript.
    if (input.kind === 'message' && input.msg.type === HandshakeType.hello_request) return;
    this.state = this.next(cx, this.state, input);
  }

  private next(cx: HandshakeContext, s: ClientState, input: HandshakeInput): ClientState {
    const config = this.config;
    switch (s.name) {
      case 'NotStarted':
        throw new TlsError('UnexpectedMessage', 'data before the ClientHello was sent');
      case 'ExpectServerHello':
        return onServerHello(cx, config, s, input);
      case 'ExpectCertificate':
        return onCertificate(cx, config, s, input);
      case 'ExpectServerKeyExchange':
        return onServerKeyExchange(config, s, input);
      case 'ExpectCertificateRequestOrServerHelloDone':
        return onCertificateRequestOrDone(cx, config, s, input);
      case 'ExpectServerHelloDone':
        return onServerHelloDone(cx, config, s, input);
      case 'ExpectNewSessionTicketOrChangeCipherSpec':
        return onTicketOrCcs(s, input);
      case 'ExpectChangeCipherSpec':
        return onCcs(s, input);
      case 'ExpectFinished':
        return onFinished(cx, config, s, input);
      case 'Traffic':
        // The connection gives a message in traffic to its renegotiation policy instead.
        throw new TlsError('InternalError', 'a handshake message reached the machine in Traffic');
    }
  }
}
