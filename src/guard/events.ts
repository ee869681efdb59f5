/**
 * The guard's vocabulary: what the inspector learns from the clear parts of TLS ≤ 1.2
 * (hello facts), what it asks the policy (questions), what the policy answers (decisions with
 * reasons that read as sentences), and what it reports (events). Plain data, no I/O.
 */

/** Who sent the bytes: the client (towards the upstream server) or the server (back to the client). */
export type Side = 'client' | 'server';

/** Who started a renegotiation: the client by an unprompted ClientHello, the server by a HelloRequest. */
export type Initiator = 'client' | 'server';

/** How a ClientHello signalled RFC 5746 (§3.3): the empty extension, the SCSV, both, or neither (a legacy client). */
export type ClientRfc5746 = 'extension' | 'scsv' | 'extension+scsv' | 'none';

/** What an initial ClientHello tells in clear. */
export interface ClientHelloFacts {
  /** 'sslv2-compatible': the SSL 2.0 CLIENT-HELLO envelope of RFC 5246 Appendix E.2. */
  readonly format: 'tls' | 'sslv2-compatible';
  /** client_version. */
  readonly version: number;
  readonly rfc5746: ClientRfc5746;
  /** The client could negotiate TLS 1.2 or below, where renegotiation exists (false for a TLS 1.3-only hello). */
  readonly offersLegacyVersions: boolean;
  readonly offersTls13: boolean;
  /** RFC 7627 extended_master_secret offered. */
  readonly ems: boolean;
  /** RFC 6066 server_name, when sent and readable. */
  readonly sni: string | undefined;
  /** RFC 7301 protocols offered. */
  readonly alpn: readonly string[] | undefined;
}

/** What an initial ServerHello tells in clear. */
export interface ServerHelloFacts {
  /** The negotiated version: supported_versions (RFC 8446 §4.2.1) when present, else server_version. */
  readonly version: number;
  /** TLS 1.3 selected (or a HelloRetryRequest for it): no renegotiation exists, the guard stops inspecting. */
  readonly tls13: boolean;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  /** renegotiation_info present: the server implements RFC 5746 (§3.6). */
  readonly rfc5746: boolean;
  readonly ems: boolean;
  /** The protocol the server selected by ALPN, if any. */
  readonly alpn: string | undefined;
}

/**
 * Why the guard closed a connection. Renegotiation reasons name the rule; the rest are
 * protocol violations that leave the stream unreadable, or non-TLS traffic.
 */
export type BlockReason =
  /** deny, deny-client-initiated: the client sent a ClientHello after its Finished, unprompted. */
  | 'client-initiated-renegotiation-denied'
  /** deny, deny-server-initiated: the server sent a HelloRequest (or a handshake record after its Finished). */
  | 'server-initiated-renegotiation-denied'
  /**
   * A renegotiation whose initiator a keyless observer cannot know, where the policy forbids one of
   * the two: a ClientHello (or server flight) right after the other side's Finished record had room
   * for a hidden HelloRequest (or ClientHello), so it may be the answer to it.
   */
  | 'ambiguous-renegotiation-denied'
  /** secure-only: a renegotiation on a connection whose initial hellos did not both signal RFC 5746. */
  | 'insecure-renegotiation-denied'
  /** Any policy: ALPN selected h2, and HTTP/2 forbids renegotiation (RFC 7540 §9.2.1, RFC 9113 §9.2.1). */
  | 'h2-renegotiation'
  /** require-rfc5746: an initial ClientHello or ServerHello without RFC 5746 signalling. */
  | 'legacy-peer-rfc5746-required'
  /** More renegotiations on one connection than the configured limit (CVE-2011-1473). */
  | 'connection-renegotiation-limit'
  /** More renegotiations from one client address in the window than the configured limit (CVE-2011-1473). */
  | 'rate-limit'
  /** The first bytes are not TLS (and the listener does not allow non-TLS traffic). */
  | 'non-tls'
  /** A record header that no TLS ≤ 1.2 peer sends: major version not 3, or longer than 2^14 + 2048. */
  | 'malformed-record'
  /** An initial hello that does not decode, or a record of another type in the middle of it. */
  | 'malformed-hello'
  /** An initial hello longer than the guard reads (it must hold the hello back until it is whole). */
  | 'hello-too-large';

export type RenegotiationBlockReason = Extract<
  BlockReason,
  | 'client-initiated-renegotiation-denied'
  | 'server-initiated-renegotiation-denied'
  | 'ambiguous-renegotiation-denied'
  | 'insecure-renegotiation-denied'
  | 'h2-renegotiation'
  | 'connection-renegotiation-limit'
  | 'rate-limit'
>;

/**
 * What shows that a renegotiation starts (src/guard/record-room.ts has the arithmetic):
 * - record: a handshake record where only application data belongs;
 * - coalesced: a Finished record certainly longer than a Finished (exact for AEAD suites);
 * - finished-room: a Finished record with room for the initiator's first message, which a
 *   keyless observer cannot rule out (CBC padding, a suite negotiated under encryption);
 * - after-finished-room: a visible record right after the other side's Finished had such room,
 *   so it may answer a hidden message: the initiator could be either side;
 * - unexplained-flight: a server handshake record certainly longer than a HelloRequest with no
 *   visible ClientHello to answer: the answer to a hidden one.
 */
export type Evidence = 'record' | 'coalesced' | 'finished-room' | 'after-finished-room' | 'unexplained-flight';

/** What the inspector asks the policy. */
export type Question =
  | { readonly kind: 'non-tls'; readonly side: Side }
  | { readonly kind: 'client-hello'; readonly hello: ClientHelloFacts }
  | { readonly kind: 'server-hello'; readonly hello: ServerHelloFacts; readonly client: ClientHelloFacts | undefined }
  | {
      readonly kind: 'renegotiation';
      /** The side whose record shows the renegotiation, or that the evidence names. */
      readonly initiator: Initiator;
      readonly evidence: Evidence;
      /** Renegotiations already let through on this connection. */
      readonly previous: number;
      readonly client: ClientHelloFacts | undefined;
      readonly server: ServerHelloFacts | undefined;
    };

export type Decision = { readonly allow: true } | { readonly allow: false; readonly reason: BlockReason };

/** The judge the inspector consults: the listener's policy, its limits, and the client's rate limit. */
export type Judge = (question: Question) => Decision;

export interface Block {
  readonly reason: BlockReason;
  /** Whose record was held back. */
  readonly side: Side;
  /** Set when the record started a renegotiation. */
  readonly initiator?: Initiator;
  /** Set with `initiator`: what showed the renegotiation. */
  readonly evidence?: Evidence;
}

/** What happened on a connection, in wire order, for logs and metrics. */
export type GuardEvent =
  | { readonly type: 'client-hello'; readonly hello: ClientHelloFacts }
  | { readonly type: 'server-hello'; readonly hello: ServerHelloFacts }
  /** Inspection stopped: TLS 1.3 was selected, or non-TLS traffic was allowed through. */
  | { readonly type: 'pass-through'; readonly why: 'tls13' | 'non-tls' }
  /** Both sides sent their Finished: the initial handshake is over. */
  | { readonly type: 'handshake-complete' }
  /** A renegotiation started and was let through; `evidence` says how the guard saw it. */
  | {
      readonly type: 'renegotiation';
      readonly initiator: Initiator;
      readonly index: number;
      readonly evidence: Evidence;
    }
  /** The client answered a HelloRequest: the server-initiated renegotiation goes on. */
  | { readonly type: 'renegotiation-answered'; readonly index: number }
  /** Both sides sent the renegotiation's Finished. */
  | { readonly type: 'renegotiation-complete'; readonly initiator: Initiator; readonly index: number }
  /** The other side answered with an alert instead of a handshake (a no_renegotiation warning, usually). */
  | { readonly type: 'renegotiation-refused'; readonly initiator: Initiator; readonly index: number; readonly by: Side }
  | { readonly type: 'blocked'; readonly block: Block };

/** The inspector's answer to one chunk of bytes. */
export interface Verdict {
  /** The bytes to send on now, in order (views of the input where possible; may be empty). */
  readonly forward: readonly Uint8Array[];
  readonly events: readonly GuardEvent[];
  /** Set once the connection must be closed: `forward` ends where the offending record starts. */
  readonly block: Block | undefined;
}
