/**
 * What a handshake state machine may ask of its connection, and the security
 * state that outlives one handshake: RFC 5746 §3.1's secure_renegotiation flag
 * with client_verify_data and server_verify_data, and what the triple-handshake
 * defences compare across handshakes.
 */
import type { RecordProtector } from '../crypto/record-protection.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { HandshakeMessage, UnknownHandshake } from '../wire/handshake.ts';
import type { ConnectionEvent } from './events.ts';

export interface ConnectionSecurity {
  /** RFC 5746 §3.1: TRUE once both hellos signalled support; never changes after the first handshake. */
  secureRenegotiation: boolean;
  clientVerifyData: Uint8Array;
  serverVerifyData: Uint8Array;
  version: number | undefined;
  suite: CipherSuiteInfo | undefined;
  extendedMasterSecret: boolean;
  /** DER, leaf first, of the last handshake's peer; empty before the first. */
  peerCertificates: readonly Uint8Array[];
  alpn: string | undefined;
  /** Completed handshakes on this connection, the first included. */
  handshakes: number;
  /** Server side: the cached session the last handshake established or resumed (empty when none). */
  sessionId: Uint8Array;
}

export function initialSecurity(): ConnectionSecurity {
  return {
    secureRenegotiation: false,
    clientVerifyData: new Uint8Array(0),
    serverVerifyData: new Uint8Array(0),
    version: undefined,
    suite: undefined,
    extendedMasterSecret: false,
    peerCertificates: [],
    alpn: undefined,
    handshakes: 0,
    sessionId: new Uint8Array(0),
  };
}

export type HandshakeInput =
  { kind: 'message'; msg: HandshakeMessage | UnknownHandshake; raw: Uint8Array } | { kind: 'ccs' };

export interface HandshakeContext {
  readonly security: ConnectionSecurity;
  /** Encodes nothing: queues an already encoded message for the current flight. */
  send(raw: Uint8Array): void;
  /** Agrees the record version (after ServerHello). */
  setVersion(version: number): void;
  /** Flushes the flight, sends ChangeCipherSpec and switches write keys. */
  changeWriteKeys(p: RecordProtector): void;
  /** Keys that apply from the peer's next ChangeCipherSpec. */
  setPendingReader(p: RecordProtector): void;
  emit(e: ConnectionEvent): void;
}

/** One state of a handshake state machine: consumes one input, returns the next state. */
export interface HandshakeState {
  readonly name: string;
  /**
   * The handshake types this state accepts, when it knows them: any other is unexpected_message
   * before its body is decoded (RFC 5246 §7.2.2), as OpenSSL checks the type against its state
   * first. Undefined: the state checks the message itself.
   */
  readonly expects?: readonly number[];
  /** True while application data may flow in both directions (no handshake under way). */
  readonly isTraffic?: boolean;
  handle(cx: HandshakeContext, input: HandshakeInput): HandshakeState;
}
