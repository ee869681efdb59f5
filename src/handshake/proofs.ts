/**
 * Values that only a check can make (STYLE.md §7). Each class has a private
 * constructor and one static method that runs the check and returns the value,
 * so a state that holds one cannot be entered unless the check ran: the traffic
 * states hold the peer's verified Finished, the states after a peer's
 * certificate hold its verified chain, and the client's key exchange holds the
 * verified ServerKeyExchange signature. The private `proof` member (declared,
 * never emitted) makes each class nominal: an object literal of the same shape
 * is not one.
 */
import type * as crypto from 'node:crypto';
import type { ServerKeyExchangeParams } from '../crypto/key-exchange.ts';
import { verifyData, type FinishedLabel, type HandshakeHash } from '../crypto/prf.ts';
import { verifySignature } from '../crypto/signatures.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import { verifyChain, type TrustStore } from '../pki/verify.ts';
import { TlsError } from '../wire/errors.ts';
import { constantTimeEqual } from './keys.ts';

/** A certificate chain that path validation (RFC 5280 §6) and, when named, the host check accepted. */
export class VerifiedChain {
  declare private readonly proof: 'VerifiedChain';
  private constructor(
    readonly certificates: readonly Uint8Array[],
    /** The leaf's public key: what the peer's signatures are checked with. */
    readonly leafKey: crypto.KeyObject,
  ) {}

  static verify(chain: readonly Uint8Array[], trust: TrustStore, host: string | undefined): VerifiedChain {
    return new VerifiedChain(chain, verifyChain(chain, trust, host)[0]!.publicKey);
  }
}

/** ServerKeyExchange parameters whose signature by the certificate's key checked out (RFC 5246 §7.4.3). */
export class VerifiedServerKeyExchange {
  declare private readonly proof: 'VerifiedServerKeyExchange';
  private constructor(readonly params: ServerKeyExchangeParams) {}

  /** `signed` is client_random + server_random + params. */
  static verify(
    version: number,
    key: crypto.KeyObject,
    params: ServerKeyExchangeParams,
    signed: Uint8Array,
    offered: readonly number[],
  ): VerifiedServerKeyExchange {
    verifySignature(version, key, params.scheme, signed, params.signature, offered);
    return new VerifiedServerKeyExchange(params);
  }
}

/** A client's CertificateVerify: it holds the private key of the chain it sent (RFC 5246 §7.4.8). */
export class VerifiedCertificateVerify {
  declare private readonly proof: 'VerifiedCertificateVerify';
  private constructor(readonly chain: VerifiedChain) {}

  /** `signed` is every handshake message before the CertificateVerify. */
  static verify(
    version: number,
    chain: VerifiedChain,
    scheme: number | null,
    signed: Uint8Array,
    signature: Uint8Array,
    offered: readonly number[],
  ): VerifiedCertificateVerify {
    verifySignature(version, chain.leafKey, scheme, signed, signature, offered);
    return new VerifiedCertificateVerify(chain);
  }
}

/** What both sides' Finished messages are computed from. */
export interface FinishedInputs {
  readonly version: number;
  readonly suite: CipherSuiteInfo;
  readonly masterSecret: Uint8Array;
  readonly transcript: HandshakeHash;
}

/** RFC 5246 §7.4.9: PRF(master_secret, finished_label, Hash(handshake_messages)) over the transcript so far. */
export function finishedVerifyData(hs: FinishedInputs, label: FinishedLabel): Uint8Array {
  return verifyData(
    hs.version,
    hs.suite.prfHash,
    hs.masterSecret,
    label,
    hs.transcript.hash(hs.version, hs.suite.prfHash),
  );
}

/**
 * The peer's Finished, checked in constant time against the transcript: the
 * proof that both sides saw the same handshake (RFC 5246 §7.4.9). Its
 * verify_data is what RFC 5746 §3.1 keeps for the next renegotiation.
 */
export class VerifiedFinished {
  declare private readonly proof: 'VerifiedFinished';
  private constructor(readonly verifyData: Uint8Array) {}

  /** Checks the Finished, then adds it to the transcript. */
  static check(hs: FinishedInputs, label: FinishedLabel, received: Uint8Array, raw: Uint8Array): VerifiedFinished {
    const expected = finishedVerifyData(hs, label);
    if (!constantTimeEqual(received, expected))
      throw new TlsError('DecryptError', `${label} verify_data does not match`);
    hs.transcript.append(raw);
    return new VerifiedFinished(expected);
  }
}
