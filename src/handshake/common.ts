/** What the client and server state machines share: message plumbing. */
import * as crypto from 'node:crypto';
import type { FinishedLabel, HandshakeHash } from '../crypto/prf.ts';
import type { RecordProtector } from '../crypto/record-protection.ts';
import { HandshakeType, handshakeTypeName } from '../wire/enums.ts';
import { TlsError } from '../wire/errors.ts';
import { encodeHandshake, isUnknown, type HandshakeMessage } from '../wire/handshake.ts';
import type { CipherSuiteInfo } from '../crypto/suites.ts';
import type { ConnectionSecurity, HandshakeContext, HandshakeInput } from './context.ts';
import { finishedVerifyData, type FinishedInputs } from './proofs.ts';

/** The awaited message, or unexpected_message (RFC 5246 §7.4: messages MUST come in the order given). */
export function expectMessage<T extends HandshakeMessage['type']>(
  input: HandshakeInput,
  type: T,
  state: string,
): { msg: Extract<HandshakeMessage, { type: T }>; raw: Uint8Array } {
  if (input.kind === 'ccs') throw new TlsError('UnexpectedMessage', `ChangeCipherSpec while in ${state}`);
  if (isUnknown(input.msg) || input.msg.type !== type) {
    throw new TlsError('UnexpectedMessage', `${handshakeTypeName(input.msg.type)} while in ${state}`);
  }
  return { msg: input.msg as Extract<HandshakeMessage, { type: T }>, raw: input.raw };
}

/** A ChangeCipherSpec, or unexpected_message for any handshake message in its place (RFC 5246 §7.4.9). */
export function expectCcs(input: HandshakeInput, state: string): void {
  if (input.kind !== 'ccs') {
    throw new TlsError('UnexpectedMessage', `${handshakeTypeName(input.msg.type)} while in ${state}`);
  }
}

/** Encodes a message, adds it to the transcript and queues it for the current flight. */
export function sendMessage(cx: HandshakeContext, transcript: HandshakeHash, m: HandshakeMessage): void {
  const raw = encodeHandshake(m);
  transcript.append(raw);
  cx.send(raw);
  cx.emit({ type: 'handshake-message', direction: 'out', message: m, raw });
}

/** ChangeCipherSpec, then our Finished under the new write keys; returns its verify_data (RFC 5746 §3.1). */
export function sendFinished(
  cx: HandshakeContext,
  hs: FinishedInputs,
  writer: RecordProtector,
  label: FinishedLabel,
): Uint8Array {
  cx.changeWriteKeys(writer);
  const vd = finishedVerifyData(hs, label);
  sendMessage(cx, hs.transcript, { type: HandshakeType.finished, verifyData: vd });
  return vd;
}

/** RFC 5246 §7.4.1.2: gmt_unix_time then 28 random bytes. */
export function randomWithTime(): Uint8Array {
  const r = new Uint8Array(crypto.randomBytes(32));
  const t = Math.floor(Date.now() / 1000);
  r[0] = t >>> 24;
  r[1] = t >>> 16;
  r[2] = t >>> 8;
  r[3] = t;
  return r;
}

/** What a completed handshake established, as both sides record it on the connection. */
export interface Established {
  /** This handshake renegotiated (it was not the connection's first). */
  readonly renegotiation: boolean;
  readonly secureRenegotiation: boolean;
  readonly version: number;
  readonly suite: CipherSuiteInfo;
  readonly ems: boolean;
  readonly peerCertificates: readonly Uint8Array[];
  readonly alpn: string | undefined;
}

/** Records a completed handshake on the connection; answers how many came before it. */
export function recordHandshake(sec: ConnectionSecurity, e: Established): number {
  const before = sec.handshakes;
  // RFC 5746 §3.4 and §3.6: the flag is set by the first handshake and never changes afterwards.
  if (!e.renegotiation) sec.secureRenegotiation = e.secureRenegotiation;
  sec.version = e.version;
  sec.suite = e.suite;
  sec.extendedMasterSecret = e.ems;
  sec.peerCertificates = e.peerCertificates;
  sec.alpn = e.alpn;
  sec.handshakes++;
  return before;
}
