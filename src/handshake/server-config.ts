/**
 * Server configuration, with every renegotiation switch the field has used in
 * one place. Names are ours; docs/server-policy.md maps each to the SChannel,
 * IIS, OpenSSL, GnuTLS and JSSE knob it reproduces. Defaults are the safe ones;
 * the vulnerable settings are named DANGER.
 */
import type { RateLimit } from './rate-limit.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { ServerCertificate } from '../pki/credentials.ts';
import type { TrustStore } from '../pki/verify.ts';

export interface ServerRenegotiationPolicy {
  /**
   * Whether renegotiation exists at all. false: every renegotiation ClientHello is
   * refused and we never send HelloRequest (SChannel DisableRenegoOnServer,
   * OpenSSL -no_renegotiation / SSL_OP_NO_RENEGOTIATION).
   */
  enabled: boolean;
  /**
   * How a refused renegotiation ClientHello is answered: a no_renegotiation
   * warning (the session goes on), a fatal alert, or nothing at all ('ignore':
   * the ClientHello is dropped and the client left waiting, as some servers do).
   */
  refuseWith: 'warning' | 'fatal' | 'ignore';
  /**
   * Refused renegotiations a client may ask for before the connection is closed with a fatal
   * handshake_failure (rustls closes at the second; the client side has the same setting).
   */
  maxRefusals: number;
  /** Accept renegotiations the client starts (OpenSSL 3 refuses them unless -client_renegotiation). */
  allowClientInitiated: boolean;
  /**
   * Implement RFC 5746 at all. false reproduces the unpatched servers of 2009:
   * renegotiation_info and the SCSV are ignored and never answered.
   * DANGER: CVE-2009-3555, for the lab and for testing scanners.
   */
  rfc5746: boolean;
  /**
   * Renegotiate with clients that did not signal RFC 5746 (SChannel
   * AllowInsecureRenegoClients, OpenSSL -legacy_renegotiation, GnuTLS
   * %UNSAFE_RENEGOTIATION). DANGER: CVE-2009-3555.
   */
  allowUnsafeLegacy: boolean;
  /** Refuse even the initial handshake of clients that do not signal RFC 5746 (KB980436 strict mode, GnuTLS %SAFE_RENEGOTIATION). */
  requireSecureClients: boolean;
  /**
   * At most `count` client-initiated renegotiations per `windowMs` on one
   * connection (Node's CLIENT_RENEG_LIMIT/WINDOW: 3 per 10 min); beyond it the
   * connection is closed (CVE-2011-1473). count 0 means no limit.
   */
  clientLimit: RateLimit;
}

export interface ServerConfig {
  /** The first is the default; SNI picks another whose names match (RFC 6066 §3). */
  certificates: readonly ServerCertificate[];
  minVersion: number;
  maxVersion: number;
  /** In server preference order. */
  cipherSuites: readonly CipherSuiteInfo[];
  groups: readonly number[];
  signatureSchemes: readonly number[];
  /** ALPN protocols in server preference order; unset means we do not negotiate ALPN. */
  alpn?: readonly string[];
  /** Ask for a client certificate in the initial handshake (IIS SSLAlwaysNegoClientCert) or only when the application renegotiates for one. */
  clientCertificate: 'none' | 'initial' | 'renegotiate';
  /** With a request: may the client send none. */
  clientCertificateRequired: boolean;
  /** Verifies client certificates and supplies the CA names of CertificateRequest. */
  clientTrust?: TrustStore;
  extendedMasterSecret: boolean;
  /** Resumption by session ID (server-side cache) and by ticket (RFC 5077). */
  sessionCache: boolean;
  sessionTickets: boolean;
  /** 32 bytes; random per process unless given (a ticket key shared by a cluster). */
  ticketKey?: Uint8Array;
  sessionLifetimeMs: number;
  renegotiation: ServerRenegotiationPolicy;
  /**
   * The longest handshake message accepted, checked from its header (a DoS bound on
   * reassembly memory). The default is the longest ClientHello the protocol allows
   * (MAX_CLIENT_HELLO_LENGTH, 131396 bytes, OpenSSL's limit too), so no ClientHello a
   * peer may legally send is refused; it also bounds a client's Certificate chain.
   */
  maxHandshakeMessageSize: number;
}

export const SAFE_SERVER_RENEGOTIATION: ServerRenegotiationPolicy = {
  enabled: true,
  refuseWith: 'warning',
  maxRefusals: 5,
  allowClientInitiated: false,
  rfc5746: true,
  allowUnsafeLegacy: false,
  requireSecureClients: false,
  clientLimit: { count: 3, windowMs: 600_000 },
};
