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

/**
 * A side's handshake state machine as the connection sees it: the connection
 * feeds it messages and ChangeCipherSpec while a handshake is under way, and
 * asks it where it stands. The states themselves are each side's closed union
 * (client-states.ts, server-states.ts); every transition happens inside.
 */
export interface HandshakeMachine {
  /** The current state's name, for error messages and tests. */
  readonly stateName: string;
  /** True while application data may flow in both directions (no handshake under way). */
  readonly inTraffic: boolean;
  /** RFC 5246 §7.4.9: the peer's ChangeCipherSpec came and its Finished must be next. */
  readonly awaitingFinished: boolean;
  /**
   * The handshake types the current state accepts, when it knows them: any other is
   * unexpected_message before its body is decoded (RFC 5246 §7.2.2), as OpenSSL checks the
   * type against its state first. Undefined: the state checks the message itself.
   */
  readonly expects: readonly number[] | undefined;
  /** Consumes one input while a handshake is under way (never in traffic). */
  handle(cx: HandshakeContext, input: HandshakeInput): void;
}
