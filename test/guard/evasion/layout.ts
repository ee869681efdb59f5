/**
 * How one endpoint lays out the records it sends (the engine's RecordLayout hook), and what it
 * sent that the guard must judge: every ClientHello (tagged with why it was sent) or every
 * HelloRequest (visible in a record of its own, or hidden in a Finished record).
 *
 * The hostile layouts seal a whole extra message in the same record as the sender's Finished:
 * a ClientHello the test builds (an unprompted renegotiation, with the right renegotiation_info
 * when the client signals RFC 5746, so the server takes it as genuine) or a HelloRequest.
 */
import type { LaidOutRecord, RecordLayout } from '../../../src/connection/record-layer.ts';
import type { Side } from '../../../src/guard/events.ts';
import { concat } from '../../../src/wire/codec.ts';
import { ContentType, HandshakeType } from '../../../src/wire/enums.ts';
import { extendedMasterSecret, renegotiationInfo, type Extension } from '../../../src/wire/extensions.ts';
import { encodeHandshake } from '../../../src/wire/handshake.ts';
import { MAX_PLAINTEXT } from '../../../src/wire/record.ts';
import type { Plan } from './plan.ts';
import type { Prng } from './prng.ts';

/**
 * Why a message was sent. ClientHello: 'initial', 'answer' (to a HelloRequest the client
 * received), 'unprompted' (the client's own renegotiation, visible or hidden). HelloRequest:
 * 'visible' or 'hidden'.
 */
export type Why = 'initial' | 'answer' | 'unprompted' | 'visible' | 'hidden';

export interface Sent {
  readonly raw: Uint8Array;
  readonly why: Why;
  readonly hidden: boolean;
}

/** What the engine is doing while it seals: the runner sets it around each call into the engine. */
export type Activity = 'start' | 'receive' | 'renegotiate' | 'write';

const HELLO_REQUEST = encodeHandshake({ type: HandshakeType.hello_request });

/**
 * Whether `side` splits its Finished over records. No TLS stack does (OpenSSL, GnuTLS, NSS,
 * SChannel, JSSE, Go and node:tls send it whole); a guard reading CBC lengths cannot always tell
 * where such a Finished ends, so only a side the policy may have to stop lays it out that way: the
 * side the policy protects is a real stack (docs/guard.md, "Hidden messages").
 */
export function splitsFinished(plan: Plan, side: Side): boolean {
  if (!plan.sender.splitFinished) return false;
  if (plan.mode === 'deny-client-initiated') return side === 'client';
  if (plan.mode === 'deny-server-initiated') return side === 'server';
  return true;
}

export class Sender {
  /** ClientHellos (client) or HelloRequests (server), in wire order. */
  readonly messages: Sent[] = [];
  activity: Activity = 'start';
  hiddenSent = false;
  private afterChangeCipherSpec = false;
  private finishedCount = 0;

  constructor(
    private readonly side: Side,
    private readonly plan: Plan,
    private readonly rng: Prng,
  ) {}

  readonly layout: RecordLayout = (r) => {
    if (r.type === ContentType.change_cipher_spec) {
      this.afterChangeCipherSpec = true;
      return undefined;
    }
    if (r.type !== ContentType.handshake) return this.padded(r.plaintext, r.encrypted);
    const finished = this.afterChangeCipherSpec;
    this.afterChangeCipherSpec = false;
    if (finished) return this.finished(r.plaintext, r.encrypted);
    this.tag(r.plaintext);
    return this.split(r.plaintext, r.encrypted);
  };

  private tag(plaintext: Uint8Array): void {
    const type = plaintext[0];
    if (this.side === 'client' && type === HandshakeType.client_hello) {
      const why: Why = this.activity === 'start' ? 'initial' : this.activity === 'receive' ? 'answer' : 'unprompted';
      this.messages.push({ raw: plaintext.slice(), why, hidden: false });
    }
    if (this.side === 'server' && type === HandshakeType.hello_request) {
      this.messages.push({ raw: plaintext.slice(), why: 'visible', hidden: false });
    }
  }

  private finished(plaintext: Uint8Array, encrypted: boolean): readonly LaidOutRecord[] | undefined {
    const index = this.finishedCount++;
    const hostile = this.plan.hostile;
    const mine = hostile?.kind === (this.side === 'client' ? 'client-hides-hello' : 'server-hides-hello-request');
    if (!mine || hostile.handshake !== index || this.hiddenSent) {
      return splitsFinished(this.plan, this.side)
        ? this.split(plaintext, encrypted)
        : this.padded(plaintext, encrypted);
    }
    // RFC 5246 §7.4.9: the Finished's verify_data is what the next ClientHello's renegotiation_info carries (RFC 5746 §3.5).
    const extra = this.side === 'client' ? this.hiddenClientHello(plaintext.subarray(4)) : HELLO_REQUEST;
    this.messages.push({ raw: extra, why: this.side === 'client' ? 'unprompted' : 'hidden', hidden: true });
    this.hiddenSent = true;
    return [{ plaintext: concat(plaintext, extra), padding: this.padding(encrypted) }];
  }

  /**
   * A ClientHello of 45 bytes and more: one to 40 suites, renegotiation_info when the client
   * signals RFC 5746, extended_master_secret or not.
   */
  private hiddenClientHello(verifyData: Uint8Array): Uint8Array {
    const rng = this.rng;
    const suites = [this.plan.suite.id, ...Array.from({ length: rng.int(0, 39) }, () => rng.int(0x0001, 0xc0ff))];
    // With both, the server takes it for a genuine renegotiation (RFC 5746 §3.7, RFC 7627 §5.3); without, it still decodes it.
    const extensions: Extension[] = [];
    if (this.plan.clientSignal !== 'none') extensions.push(renegotiationInfo(verifyData.slice()));
    if (rng.chance(0.5)) extensions.push(extendedMasterSecret());
    return encodeHandshake({
      type: HandshakeType.client_hello,
      version: this.plan.version,
      random: rng.bytes(32),
      sessionId: new Uint8Array(0),
      cipherSuites: suites,
      compressionMethods: Uint8Array.of(0),
      extensions: extensions.length === 0 ? null : extensions,
    });
  }

  /** Handshake plaintext in records of 1 to `fragment` bytes (the engine's own layout when 0). */
  private split(plaintext: Uint8Array, encrypted: boolean): readonly LaidOutRecord[] | undefined {
    const max = this.plan.sender.fragment;
    if (max === 0) return this.padded(plaintext, encrypted);
    const out: LaidOutRecord[] = [];
    for (let at = 0; at < plaintext.length;) {
      const n = Math.min(this.rng.int(1, max), plaintext.length - at);
      out.push({ plaintext: plaintext.subarray(at, at + n), padding: this.padding(encrypted) });
      at += n;
    }
    return out;
  }

  /** One record per 2^14 bytes, each with random CBC padding when the plan asks for it. */
  private padded(plaintext: Uint8Array, encrypted: boolean): readonly LaidOutRecord[] | undefined {
    if (!encrypted || !this.plan.sender.padding) return undefined;
    const out: LaidOutRecord[] = [];
    for (let at = 0; at < plaintext.length || at === 0; at += MAX_PLAINTEXT) {
      out.push({ plaintext: plaintext.subarray(at, at + MAX_PLAINTEXT), padding: this.padding(encrypted) });
      if (plaintext.length === 0) break;
    }
    return out;
  }

  private padding(encrypted: boolean): number | undefined {
    return encrypted && this.plan.sender.padding ? this.rng.int(0, 255) : undefined;
  }
}
