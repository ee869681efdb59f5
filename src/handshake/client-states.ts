/**
 * The client's states (RFC 5246 §7.3), each named after the message it waits
 * for and holding exactly what is known when it is entered, as rustls'
 * client/tls12.rs does: the ClientHello's offer from the start, the
 * ServerHello's choices after it, the server's verified certificate and key
 * exchange after those, the master secret once agreed. The states are plain
 * data; client-hello.ts, client-key-exchange.ts and client-finish.ts compute
 * the next one, and client.ts is the machine that switches over them.
 */
import type * as crypto from 'node:crypto';
import type { HandshakeHash } from '../crypto/prf.ts';
import type { RecordProtector } from '../crypto/record-protection.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { CertificateRequest } from '../wire/handshake.ts';
import type { ClientSession } from './client-config.ts';
import type { VerifiedChain, VerifiedFinished, VerifiedServerKeyExchange } from './proofs.ts';

/** What our ClientHello offered: known from the moment it is sent. */
export interface ClientOffer {
  readonly transcript: HandshakeHash;
  readonly random: Uint8Array;
  readonly version: number;
  readonly suites: readonly number[];
  /** The extension types offered; renegotiation_info counts as offered when only the SCSV was (RFC 5746 §3.5). */
  readonly extensions: ReadonlySet<number>;
  /** The session we try to resume, if any. */
  readonly session: ClientSession | undefined;
  readonly sessionId: Uint8Array;
  /** A handshake completed on this connection before this one. */
  readonly renegotiation: boolean;
}

/** What the ServerHello settled. */
export interface ServerChoice {
  readonly version: number;
  readonly suite: CipherSuiteInfo;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly ems: boolean;
  /** RFC 5746: the ServerHello carried renegotiation_info (a correct one: it was checked). */
  readonly secureRenegotiation: boolean;
  /** RFC 5077 §3.2: the server may send NewSessionTicket. */
  readonly ticketExpected: boolean;
  readonly alpn: string | undefined;
}

/** The server's certificate in a full handshake: verified, or (under `insecure`) only parsed. */
export type ServerCertificate =
  | { readonly kind: 'verified'; readonly chain: VerifiedChain }
  | { readonly kind: 'unverified'; readonly certificates: readonly Uint8Array[]; readonly key: crypto.KeyObject };

/** Who the server is: its certificate, or on resumption the one the resumed session recorded. */
export type ServerIdentity =
  ServerCertificate | { readonly kind: 'resumed'; readonly certificates: readonly Uint8Array[] };

/** What we answered a CertificateRequest with (full handshakes only). */
export interface ClientAuthentication {
  readonly request: CertificateRequest | undefined;
  readonly certificateSent: boolean;
}

/** Everything known once the master secret is: the finishing states carry it. */
export interface ClientKeyed {
  readonly offer: ClientOffer;
  readonly choice: ServerChoice;
  readonly server: ServerIdentity;
  readonly masterSecret: Uint8Array;
  readonly clientAuth: ClientAuthentication;
  /**
   * A full handshake sent our Finished already; an abbreviated one (RFC 5246 §7.3
   * Figure 2) sends it after the server's, under this writer.
   */
  readonly finish: { readonly kind: 'full' } | { readonly kind: 'resumed'; readonly writer: RecordProtector };
}

export interface NotStarted {
  readonly name: 'NotStarted';
}

export interface ExpectServerHello {
  readonly name: 'ExpectServerHello';
  readonly offer: ClientOffer;
  /** On a renegotiation: the traffic state it left, which a no_renegotiation answer returns to. */
  readonly previous: ClientTraffic | undefined;
}

export interface ExpectCertificate {
  readonly name: 'ExpectCertificate';
  readonly offer: ClientOffer;
  readonly choice: ServerChoice;
}

export interface ExpectServerKeyExchange {
  readonly name: 'ExpectServerKeyExchange';
  readonly offer: ClientOffer;
  readonly choice: ServerChoice;
  readonly server: ServerCertificate;
}

export interface ExpectCertificateRequestOrDone {
  readonly name: 'ExpectCertificateRequestOrServerHelloDone';
  readonly offer: ClientOffer;
  readonly choice: ServerChoice;
  readonly server: ServerCertificate;
  /** Undefined for the RSA key exchange, which has no ServerKeyExchange. */
  readonly kx: VerifiedServerKeyExchange | undefined;
}

export interface ExpectServerHelloDone {
  readonly name: 'ExpectServerHelloDone';
  readonly offer: ClientOffer;
  readonly choice: ServerChoice;
  readonly server: ServerCertificate;
  readonly kx: VerifiedServerKeyExchange | undefined;
  readonly certificateRequest: CertificateRequest | undefined;
}

export interface ExpectTicketOrCcs {
  readonly name: 'ExpectNewSessionTicketOrChangeCipherSpec';
  readonly keyed: ClientKeyed;
}

export interface NewTicket {
  readonly ticket: Uint8Array;
  readonly lifetimeHint: number;
}

export interface ExpectCcs {
  readonly name: 'ExpectChangeCipherSpec';
  readonly keyed: ClientKeyed;
  readonly ticket: NewTicket | undefined;
}

export interface ExpectFinished {
  readonly name: 'ExpectFinished';
  readonly keyed: ClientKeyed;
  readonly ticket: NewTicket | undefined;
}

/** Application data flows; entered only with the server's verified Finished. */
export interface ClientTraffic {
  readonly name: 'Traffic';
  readonly serverFinished: VerifiedFinished;
}

export type ClientState =
  | NotStarted
  | ExpectServerHello
  | ExpectCertificate
  | ExpectServerKeyExchange
  | ExpectCertificateRequestOrDone
  | ExpectServerHelloDone
  | ExpectTicketOrCcs
  | ExpectCcs
  | ExpectFinished
  | ClientTraffic;
