/**
 * The server's states (RFC 5246 §7.3), each named after the message it waits
 * for and holding exactly what is known when it is entered: what the
 * ClientHello settled from the start, the client's verified chain after its
 * Certificate, the master secret after its ClientKeyExchange. The states are
 * plain data; server-hello.ts, server-key-exchange.ts and server-finish.ts
 * compute the next one, and server.ts is the machine that switches over them.
 */
import type { KeyShare } from '../crypto/key-exchange.ts';
import type { HandshakeHash } from '../crypto/prf.ts';
import type { RecordProtector } from '../crypto/record-protection.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { ClientHello } from '../wire/handshake.ts';
import type { VerifiedCertificateVerify, VerifiedChain, VerifiedFinished } from './proofs.ts';
import type { ServerCertificate } from '../pki/credentials.ts';
import type { ServerConfig } from './server-config.ts';
import type { SessionStore } from './server-sessions.ts';

/** What every server handshake of one listener shares. */
export interface ServerEnvironment {
  readonly config: ServerConfig;
  readonly sessions: SessionStore | undefined;
}

/** What the ClientHello settled: known from our ServerHello on. */
export interface ServerNegotiated {
  readonly transcript: HandshakeHash;
  readonly hello: ClientHello;
  /** A handshake completed on this connection before this one. */
  readonly renegotiation: boolean;
  readonly serverRandom: Uint8Array;
  readonly version: number;
  readonly suite: CipherSuiteInfo;
  readonly cert: ServerCertificate;
  readonly ems: boolean;
  /** RFC 5746: the client signalled it (a correct renegotiation_info: it was checked). */
  readonly secureRenegotiation: boolean;
  readonly sessionId: Uint8Array;
  /** RFC 5077 §3.3: a NewSessionTicket goes before our Finished. */
  readonly issueTicket: boolean;
  readonly alpn: string | undefined;
  /** The SNI name the client asked for. */
  readonly serverName: string | undefined;
}

/** The key share our ServerKeyExchange carried, with its kind (what the ClientKeyExchange holds). */
export interface EphemeralShare {
  readonly kind: 'ECDHE' | 'DHE';
  readonly key: KeyShare;
}

/** Our CertificateRequest's CA names (RFC 5246 §7.4.4), when this handshake asked for a certificate. */
export type CertificateRequested = { readonly certificateAuthorities: readonly Uint8Array[] } | undefined;

/** Who the client proved to be. */
export type ClientIdentity =
  /** Not asked, or it sent an empty certificate list (RFC 5246 §7.4.6). */
  | { readonly kind: 'anonymous' }
  /** A verified chain and a CertificateVerify made with its key. */
  | { readonly kind: 'verified'; readonly proof: VerifiedCertificateVerify }
  /** On resumption: the chain the resumed session recorded. */
  | { readonly kind: 'resumed'; readonly certificates: readonly Uint8Array[] };

/** Everything known once the master secret is: the finishing states carry it. */
export interface ServerKeyed {
  readonly hs: ServerNegotiated;
  readonly masterSecret: Uint8Array;
  readonly client: ClientIdentity;
  readonly request: CertificateRequested;
  /**
   * A full handshake answers the client's Finished with ours, under this writer; an
   * abbreviated one (RFC 5246 §7.3 Figure 2) sent ours already.
   */
  readonly finish: { readonly kind: 'full'; readonly writer: RecordProtector } | { readonly kind: 'resumed' };
}

export interface ExpectClientHello {
  readonly name: 'ExpectClientHello';
  /** Ask for a client certificate in this handshake. */
  readonly requestClientCertificate: boolean;
}

export interface ExpectCertificate {
  readonly name: 'ExpectCertificate';
  readonly hs: ServerNegotiated;
  /** Our ECDHE or DHE share; undefined for the RSA key exchange. */
  readonly share: EphemeralShare | undefined;
  readonly request: NonNullable<CertificateRequested>;
}

export interface ExpectClientKeyExchange {
  readonly name: 'ExpectClientKeyExchange';
  readonly hs: ServerNegotiated;
  readonly share: EphemeralShare | undefined;
  readonly request: CertificateRequested;
  /** The client's verified chain, when it sent one. */
  readonly chain: VerifiedChain | undefined;
}

export interface ExpectCertificateVerify {
  readonly name: 'ExpectCertificateVerify';
  readonly hs: ServerNegotiated;
  readonly masterSecret: Uint8Array;
  readonly request: CertificateRequested;
  readonly chain: VerifiedChain;
  readonly writer: RecordProtector;
}

export interface ExpectCcs {
  readonly name: 'ExpectChangeCipherSpec';
  readonly keyed: ServerKeyed;
}

export interface ExpectFinished {
  readonly name: 'ExpectFinished';
  readonly keyed: ServerKeyed;
}

/** Application data flows; entered only with the client's verified Finished. */
export interface ServerTraffic {
  readonly name: 'Traffic';
  readonly clientFinished: VerifiedFinished;
}

export type ServerState =
  | ExpectClientHello
  | ExpectCertificate
  | ExpectClientKeyExchange
  | ExpectCertificateVerify
  | ExpectCcs
  | ExpectFinished
  | ServerTraffic;
