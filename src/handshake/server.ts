/**
 * The server handshake of TLS 1.0–1.2 (RFC 5246 §7.3) as a machine over the
 * closed union of server-states.ts: every transition is in this file's one
 * switch, and each phase's messages are handled in order in server-hello.ts,
 * server-key-exchange.ts and server-finish.ts. Whether a renegotiation may
 * start is the connection's policy (connection/server-connection.ts); starting
 * it is a transition, here.
 */
import { HandshakeType } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import type { HandshakeContext, HandshakeInput, HandshakeMachine } from './context.ts';
import type { ServerConfig } from './server-config.ts';
import { onCcs, onFinished } from './server-finish.ts';
import { onClientHello } from './server-hello.ts';
import { onCertificate, onCertificateVerify, onClientKeyExchange } from './server-key-exchange.ts';
import type { SessionStore } from './server-sessions.ts';
import type { ServerEnvironment, ServerState } from './server-states.ts';

/**
 * The handshake types each state accepts: any other is unexpected_message before
 * its body is decoded (RFC 5246 §7.2.2), as OpenSSL checks the type against its
 * state first. In traffic the renegotiation policy looks at the message instead.
 */
const EXPECTED: Readonly<Record<ServerState['name'], readonly number[] | undefined>> = {
  ExpectClientHello: [HandshakeType.client_hello],
  ExpectCertificate: [HandshakeType.certificate],
  ExpectClientKeyExchange: [HandshakeType.client_key_exchange],
  ExpectCertificateVerify: [HandshakeType.certificate_verify],
  ExpectChangeCipherSpec: [],
  ExpectFinished: [HandshakeType.finished],
  Traffic: undefined,
};

export class ServerHandshake implements HandshakeMachine {
  private readonly env: ServerEnvironment;
  private state: ServerState;

  constructor(config: ServerConfig, sessions: SessionStore | undefined) {
    this.env = { config, sessions };
    this.state = { name: 'ExpectClientHello', requestClientCertificate: config.clientCertificate === 'initial' };
  }

  get stateName(): ServerState['name'] {
    return this.state.name;
  }

  get inTraffic(): boolean {
    return this.state.name === 'Traffic';
  }

  get awaitingFinished(): boolean {
    return this.state.name === 'ExpectFinished';
  }

  get expects(): readonly number[] | undefined {
    return EXPECTED[this.state.name];
  }

  /**
   * A renegotiation the connection's policy accepted: its ClientHello starts a
   * new handshake, asking for a client certificate when told to.
   */
  renegotiate(cx: HandshakeContext, requestClientCertificate: boolean, input: HandshakeInput): void {
    this.state = { name: 'ExpectClientHello', requestClientCertificate };
    this.handle(cx, input);
  }

  handle(cx: HandshakeContext, input: HandshakeInput): void {
    this.state = this.next(cx, this.state, input);
  }

  private next(cx: HandshakeContext, s: ServerState, input: HandshakeInput): ServerState {
    const env = this.env;
    switch (s.name) {
      case 'ExpectClientHello':
        return onClientHello(cx, env, s, input);
      case 'ExpectCertificate':
        return onCertificate(env.config, s, input);
      case 'ExpectClientKeyExchange':
        return onClientKeyExchange(cx, s, input);
      case 'ExpectCertificateVerify':
        return onCertificateVerify(env.config, s, input);
      case 'ExpectChangeCipherSpec':
        return onCcs(s, input);
      case 'ExpectFinished':
        return onFinished(cx, env, s, input);
      case 'Traffic':
        // The connection gives a message in traffic to its renegotiation policy instead.
        throw new TlsError('InternalError', 'a handshake message reached the machine in Traffic');
    }
  }
}
