/** What a connection reports to its owner (the socket adapter or a tool). */
import type { TlsError } from '../wire/errors.ts';
import type { HandshakeMessage, UnknownHandshake } from '../wire/handshake.ts';
import type { ClientSession } from './client-config.ts';

export interface HandshakeSummary {
  version: number;
  cipherSuite: number;
  /** The ServerHello (or ClientHello, on a server) carried renegotiation_info, or the SCSV was seen. */
  secureRenegotiation: boolean;
  extendedMasterSecret: boolean;
  resumed: boolean;
  alpn: string | undefined;
  peerCertificates: readonly Uint8Array[];
  /** The peer's certificate chain was verified (false under `insecure`). */
  peerVerified: boolean;
  /** 0 for the initial handshake, n for the n-th renegotiation. */
  renegotiation: number;
  /** The server asked for a client certificate, and with which CA names. */
  certificateRequested: { certificateAuthorities: readonly Uint8Array[] } | undefined;
  clientCertificateSent: boolean;
  /** On a server: the SNI name the client asked for. */
  serverName?: string | undefined;
}

export type ConnectionEvent =
  | { type: 'handshake-complete'; summary: HandshakeSummary }
  | { type: 'data'; data: Uint8Array }
  /** The peer asked for a renegotiation; `accepted` says what policy decided. */
  | { type: 'renegotiation-requested'; accepted: boolean; reason: string }
  /** The peer answered our renegotiation with a no_renegotiation warning; the old session carries on. */
  | { type: 'renegotiation-refused'; alert: number }
  | { type: 'alert'; direction: 'received' | 'sent'; level: number; description: number }
  | { type: 'close-notify' }
  | { type: 'session'; session: ClientSession }
  | { type: 'error'; error: TlsError }
  | {
      type: 'record';
      direction: 'in' | 'out';
      contentType: number;
      version: number;
      wireLength: number;
      encrypted: boolean;
    }
  | {
      type: 'handshake-message';
      direction: 'in' | 'out';
      message: HandshakeMessage | UnknownHandshake;
      raw: Uint8Array;
    };
