/**
 * Client configuration, with the renegotiation policy in one place. Each switch
 * names the field knob it reproduces; the defaults are the safe ones.
 */
import type * as crypto from 'node:crypto';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { TrustStore } from '../pki/verify.ts';
import type { Extension } from '../wire/extensions.ts';

export interface ClientRenegotiationPolicy {
  /**
   * Answer to a server's HelloRequest, as Go's crypto/tls: 'never' refuses every
   * one (Microsoft's DisableRenegoOnClient), 'once' accepts the first, 'freely'
   * accepts all. Default 'freely': with RFC 5746 enforced below, accepting is safe.
   */
  accept: 'never' | 'once' | 'freely';
  /** How a refusal is sent: a no_renegotiation warning (RFC 5246 §7.2.2) or a fatal handshake_failure. */
  refuseWith: 'warning' | 'fatal';
  /** Refusals tolerated before the connection is closed (rustls' TooManyRenegotiationRequests). */
  maxRefusals: number;
  /**
   * Complete the initial handshake with a server that does not signal RFC 5746
   * (OpenSSL's legacy_server_connect, SChannel's AllowInsecureRenegoServers).
   * Default false, as OpenSSL 3.
   */
  allowLegacyServer: boolean;
  /**
   * Renegotiate with such a server (OpenSSL's ALLOW_UNSAFE_LEGACY_RENEGOTIATION).
   * DANGER: this is the CVE-2009-3555 configuration. Default false.
   */
  allowUnsafeLegacyRenegotiation: boolean;
  /**
   * How the initial ClientHello signals RFC 5746: the empty extension, the SCSV
   * alone (SChannel's UseScsvForTls), or nothing at all (a 2009 legacy client,
   * for the lab and the scanner). Renegotiations always carry the extension
   * except under 'none' (RFC 5746 §3.5). A 'none' client cannot tell legacy
   * servers apart, so it connects to any; renegotiating still needs
   * allowUnsafeLegacyRenegotiation.
   */
  signal: 'extension' | 'scsv' | 'none';
  /**
   * Whether the server's certificate may change across a renegotiation: the
   * triple-handshake attack (RFC 7627 §1) relies on it. Default: only when both
   * handshakes used the extended master secret.
   */
  serverCertificateChange: 'refuse' | 'allow-with-ems' | 'allow';
}

export interface ClientSession {
  readonly version: number;
  readonly cipherSuite: number;
  readonly sessionId: Uint8Array;
  readonly ticket: Uint8Array | undefined;
  readonly masterSecret: Uint8Array;
  readonly extendedMasterSecret: boolean;
  readonly peerCertificates: readonly Uint8Array[];
  readonly serverName: string | undefined;
  readonly createdAt: number;
}

export interface ClientConfig {
  /** Sent as SNI and checked against the certificate; an IP literal is checked but not sent (RFC 6066 §3). */
  serverName?: string;
  minVersion: number;
  maxVersion: number;
  cipherSuites: readonly CipherSuiteInfo[];
  groups: readonly number[];
  signatureSchemes: readonly number[];
  alpn?: readonly string[];
  /** undefined: the system roots. */
  trust?: TrustStore;
  /** Skip certificate validation (auditing self-signed servers). The signature over the key exchange is still checked. */
  insecure: boolean;
  clientCertificates?: readonly Uint8Array[];
  clientKey?: crypto.KeyObject;
  /** Offer RFC 7627 (default true). */
  extendedMasterSecret: boolean;
  /** Ask for a session ticket (RFC 5077). */
  sessionTickets: boolean;
  /** A session to resume in the initial handshake. */
  session?: ClientSession;
  renegotiation: ClientRenegotiationPolicy;
  /** Cap on one handshake message, bounding memory (default 64 KiB; certificate chains may need more). */
  maxHandshakeMessageSize: number;
  /** Smallest DHE prime accepted, in bits. */
  minDhBits: number;
  /** Extra extensions appended to every ClientHello, for tools. */
  extraExtensions?: readonly Extension[];
}

export const DEFAULT_CLIENT_RENEGOTIATION: ClientRenegotiationPolicy = {
  accept: 'freely',
  refuseWith: 'warning',
  maxRefusals: 3,
  allowLegacyServer: false,
  allowUnsafeLegacyRenegotiation: false,
  signal: 'extension',
  serverCertificateChange: 'allow-with-ems',
};
