/**
 * RenegotiationWatch: the guard's sans-I/O inspector. One per connection, fed the bytes of each
 * direction as they arrive; it answers with the bytes that may go on now, what it saw, and
 * whether the connection must be closed. It never sees keys and never re-encodes: every byte
 * forwarded is a byte received.
 *
 * What TLS ≤ 1.2 leaves in clear (reference §5, RFC 5246 §6.2): every record header (type,
 * version, length), and the handshake up to each side's ChangeCipherSpec. From that alone:
 * - after a side's ChangeCipherSpec, its next handshake record is its Finished;
 * - any handshake record after that Finished starts a renegotiation: from the client, a
 *   ClientHello (client-initiated, or the answer to a HelloRequest just seen); from the server,
 *   a HelloRequest (server-initiated), or its ServerHello when the client has just started one;
 * - each renegotiation ends with its own ChangeCipherSpec and Finished in both directions;
 * - a Finished record may hide the next handshake message: its length, against the suite in force,
 *   says whether there is room (record-room.ts). A renegotiation that might be hidden there is
 *   judged before the record goes on, and where the guard cannot tell which side started a
 *   renegotiation, the policy must allow both (fail closed).
 *
 * Memory: per direction, at most one partial record header (4 bytes) and, at the start, the
 * initial hello held back until it is whole: one copy, grown as its bytes arrive (at most twice
 * the bytes received, and at most MAX_HELD_WHILE_COLLECTING, see hello.ts), never allocated from
 * the length a header claims. Payloads are passed on as views of the input. docs/guard.md lists
 * the edge cases handled here.
 */
import { ContentType, HandshakeType, ProtocolVersion } from '../wire/enums.ts';
import { MAX_CIPHERTEXT, RECORD_HEADER_LEN } from '../wire/record.ts';
import type {
  Block,
  BlockReason,
  ClientHelloFacts,
  Evidence,
  GuardEvent,
  Initiator,
  Judge,
  Question,
  ServerHelloFacts,
  Side,
  Verdict,
} from './events.ts';
import {
  HeldBytes,
  MAX_HELD_WHILE_COLLECTING,
  SSLV2_HEADER_LEN,
  Sslv2HelloCollector,
  TlsHelloCollector,
  clientHelloFacts,
  isSslv2HeaderByte,
  serverHelloFacts,
  sslv2ClientHelloFacts,
  sslv2RecordLength,
  type HelloCollector,
} from './hello.ts';
import {
  HELLO_REQUEST_LEN,
  MIN_CLIENT_HELLO_LEN,
  finishedLength,
  initialShape,
  plaintextRange,
  type RecordShape,
} from './record-room.ts';

/**
 * Where one direction stands, named after what it waits for:
 * - expect-hello: its initial hello (held back until whole and judged);
 * - expect-change-cipher-spec: a handshake in progress (clear, or encrypted in a renegotiation);
 * - expect-finished: ChangeCipherSpec seen, the next handshake record is the Finished;
 * - traffic: Finished seen; a handshake record now starts a renegotiation.
 */
type LaneState = 'expect-hello' | 'expect-change-cipher-spec' | 'expect-finished' | 'traffic';

/** What to do with a record whose header was just read. */
type Action = 'forward' | 'hold' | 'blocked' | 'pass-through';

/** msg_type + version + three uint16 lengths: the fixed part of a V2ClientHello. */
const SSLV2_MIN_BODY = 9;
const SSL3 = ProtocolVersion.SSLv3;

interface Renegotiation {
  readonly index: number;
  readonly initiator: Initiator;
  /** Each side's part starts with its first handshake message (the server's is its ServerHello, not the HelloRequest). */
  readonly started: Record<Side, boolean>;
  readonly finished: Record<Side, boolean>;
}

type Phase =
  | { readonly kind: 'idle' }
  | { readonly kind: 'hello-requested'; readonly renegotiation: Renegotiation }
  | { readonly kind: 'renegotiating'; readonly renegotiation: Renegotiation };

type Mode =
  | { readonly kind: 'inspect' }
  | { readonly kind: 'pass-through' }
  | { readonly kind: 'blocked'; readonly block: Block };

const UNKNOWN_SHAPE: RecordShape = { kind: 'unknown' };
const INSPECT: Mode = { kind: 'inspect' };
const PASS_THROUGH: Mode = { kind: 'pass-through' };
/** The events of a feed that saw none (most feeds): shared, never written to. */
const NO_EVENTS: readonly GuardEvent[] = Object.freeze([]);

/** One direction of the connection. */
class Lane {
  state: LaneState = 'expect-hello';
  /**
   * A record header split across chunks, while its bytes arrive (held, not yet forwarded);
   * allocated only then: a whole header is read where it lies in the chunk.
   */
  head: Uint8Array | undefined;
  /** Bytes of that header received so far. */
  headHave = 0;
  payloadLeft = 0;
  /** Record headers read. */
  records = 0;
  collecting: HelloCollector | undefined;
  /** The one copy of the bytes held back while the hello is collected, in order. */
  readonly held = new HeldBytes();
  /** The initial handshake's Finished has been seen. */
  finishedOnce = false;
  /** How record lengths relate to plaintext since this side's last ChangeCipherSpec. */
  shape: RecordShape = UNKNOWN_SHAPE;
  /** The least number of Finished bytes still to come (a Finished may span records, RFC 5246 §6.2.1). */
  finishedLeft = 0;
  /**
   * This side's last Finished record had room for a hidden message that the guard let through
   * (a HelloRequest in CBC padding, a ClientHello the policy allows): the other side's next
   * renegotiation record may be the answer to it.
   */
  roomAfterFinished = false;

  constructor(readonly side: Side) {}

  get heldBytes(): number {
    return this.held.length + this.headHave;
  }
}

/**
 * Collects forwarded bytes, merging adjacent views of the same buffer. Bytes of the chunk being
 * fed are kept as one run of offsets while they follow each other (records forwarded one after
 * another), and a view of the chunk is made only when the run ends: one per run, not one per
 * record header and payload.
 */
class Output {
  private readonly parts: Uint8Array[] = [];
  /** A run of the chunk not yet in `parts`: bytes [runStart, runEnd); empty when equal. */
  private runStart = 0;
  private runEnd = 0;

  constructor(private readonly chunk: Uint8Array) {}

  /** Bytes [start, end) of the chunk being fed. */
  pushRange(start: number, end: number): void {
    if (start === end) return;
    if (this.runStart !== this.runEnd && this.runEnd === start) {
      this.runEnd = end;
      return;
    }
    this.endRun();
    this.runStart = start;
    this.runEnd = end;
  }

  /** Bytes from anywhere: held bytes, a header that arrived in pieces, or a view of the chunk. */
  push(b: Uint8Array): void {
    if (b.length === 0) return;
    const chunk = this.chunk;
    const start = b.byteOffset - chunk.byteOffset;
    if (b.buffer === chunk.buffer && start >= 0 && start + b.length <= chunk.length) {
      this.pushRange(start, start + b.length);
      return;
    }
    this.endRun();
    this.append(b);
  }

  /** The parts, with a whole input chunk given back as itself (a Buffer stays a Buffer). */
  result(): Uint8Array[] {
    if (this.parts.length === 0 && this.runStart === 0 && this.runEnd === this.chunk.length && this.runEnd > 0) {
      return [this.chunk];
    }
    this.endRun();
    return this.parts;
  }

  private endRun(): void {
    if (this.runStart === this.runEnd) return;
    this.append(this.chunk.subarray(this.runStart, this.runEnd));
    this.runStart = this.runEnd = 0;
  }

  private append(b: Uint8Array): void {
    const last = this.parts[this.parts.length - 1];
    if (last !== undefined && last.buffer === b.buffer && last.byteOffset + last.byteLength === b.byteOffset) {
      this.parts[this.parts.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.byteLength + b.byteLength);
      return;
    }
    this.parts.push(b);
  }
}

const IDLE: Phase = { kind: 'idle' };

export class RenegotiationWatch {
  private readonly lanes: Record<Side, Lane> = { client: new Lane('client'), server: new Lane('server') };
  private mode: Mode = INSPECT;
  private phase: Phase = IDLE;
  /** This feed's events; NO_EVENTS until the first. */
  private events: readonly GuardEvent[] = NO_EVENTS;
  private renegotiationCount = 0;
  private clientFacts: ClientHelloFacts | undefined;
  private serverFacts: ServerHelloFacts | undefined;

  constructor(private readonly judge: Judge) {}

  /** Renegotiations let through so far. */
  get renegotiations(): number {
    return this.renegotiationCount;
  }

  get clientHello(): ClientHelloFacts | undefined {
    return this.clientFacts;
  }

  get serverHello(): ServerHelloFacts | undefined {
    return this.serverFacts;
  }

  /** The initial handshake is over (both Finished seen) or no longer inspected (TLS 1.3, allowed non-TLS). */
  get handshakeDone(): boolean {
    return this.mode.kind === 'pass-through' || (this.lanes.client.finishedOnce && this.lanes.server.finishedOnce);
  }

  get inspecting(): boolean {
    return this.mode.kind === 'inspect';
  }

  get blocked(): Block | undefined {
    return this.mode.kind === 'blocked' ? this.mode.block : undefined;
  }

  /** Bytes held back from one direction, for tests of the memory bound. */
  heldBytes(side: Side): number {
    return this.lanes[side].heldBytes;
  }

  /** Bytes allocated to hold them (the record-header buffer aside): what the guard's memory budget counts. */
  retainedBytes(side: Side): number {
    return this.lanes[side].held.capacity;
  }

  /** Takes the next bytes `from` one side; returns what may be sent on to the other. */
  feed(from: Side, chunk: Uint8Array): Verdict {
    const lane = this.lanes[from];
    const out = new Output(chunk);
    this.events = NO_EVENTS;
    if (this.mode.kind === 'blocked') return { forward: [], events: NO_EVENTS, block: this.mode.block };
    if (this.mode.kind === 'pass-through') {
      this.flushHeld(lane, out);
      out.pushRange(0, chunk.length);
      return { forward: out.result(), events: NO_EVENTS, block: undefined };
    }
    let at = 0;
    while (at < chunk.length && this.mode.kind === 'inspect') {
      at = lane.payloadLeft > 0 ? this.payload(lane, chunk, at, out) : this.header(lane, chunk, at, out);
    }
    // What is still held may be a view of this chunk, which the caller is about to let go.
    lane.held.settle();
    // `mode` changes inside the loop; read it again through a widening cast.
    const mode = this.mode as Mode;
    if (mode.kind === 'pass-through') out.pushRange(at, chunk.length);
    return { forward: out.result(), events: this.events, block: this.blocked };
  }

  private emit(e: GuardEvent): void {
    if (this.events === NO_EVENTS) this.events = [e];
    else (this.events as GuardEvent[]).push(e);
  }

  // --- framing ---------------------------------------------------------------------

  private payload(lane: Lane, chunk: Uint8Array, at: number, out: Output): number {
    const n = Math.min(lane.payloadLeft, chunk.length - at);
    lane.payloadLeft -= n;
    const collecting = lane.collecting;
    if (collecting === undefined) {
      out.pushRange(at, at + n);
      return at + n;
    }
    const part = chunk.subarray(at, at + n);
    lane.held.append(part);
    const result = collecting.push(part);
    if (result.status === 'more') {
      if (lane.held.length > MAX_HELD_WHILE_COLLECTING) this.block(lane, 'hello-too-large');
      return at + n;
    }
    lane.collecting = undefined;
    if (result.status === 'error') this.block(lane, result.reason);
    else if (this.onHello(lane, collecting.message(lane.held.view()), collecting.format)) this.release(lane, out);
    return at + n;
  }

  private header(lane: Lane, chunk: Uint8Array, at: number, out: Output): number {
    const had = lane.headHave;
    const n = Math.min(RECORD_HEADER_LEN - had, chunk.length - at);
    const end = at + n;
    // The first byte is enough to tell a TLS peer from anything else (an HTTP request, an SMTP banner).
    if (lane.records === 0 && had === 0 && !firstByteIsTls(lane.side, chunk[at]!)) {
      if (this.admitNonTls(lane)) out.pushRange(at, end);
      return end;
    }
    // A whole header is read where it lies in the chunk (a view of it is made only to hold it);
    // one split across chunks is gathered in lane.head.
    let split: Uint8Array | undefined;
    if (had !== 0 || n !== RECORD_HEADER_LEN) {
      split = lane.head ??= new Uint8Array(RECORD_HEADER_LEN);
      split.set(chunk.subarray(at, end), had);
      lane.headHave += n;
      if (lane.headHave < RECORD_HEADER_LEN) return end;
      // Handed over whole (held or written out), never written again.
      lane.headHave = 0;
      lane.head = undefined;
    }
    switch (split === undefined ? this.onHeader(lane, chunk, at) : this.onHeader(lane, split, 0)) {
      case 'forward':
        if (split === undefined) out.pushRange(at, end);
        else out.push(split);
        break;
      case 'hold':
        lane.held.append(split ?? chunk.subarray(at, end));
        // Empty handshake records (forbidden, RFC 5246 §6.2.1) would otherwise grow it 5 bytes at a time.
        if (lane.held.length > MAX_HELD_WHILE_COLLECTING) this.block(lane, 'hello-too-large');
        break;
      case 'pass-through':
        this.release(lane, out);
        if (split === undefined) out.pushRange(at, end);
        else out.push(split);
        break;
      case 'blocked':
        break;
    }
    return end;
  }

  /** The five bytes of the record header are bytes[at, at + 5). */
  private onHeader(lane: Lane, bytes: Uint8Array, at: number): Action {
    const type = bytes[at]!;
    if (lane.side === 'client' && lane.records === 0 && isSslv2HeaderByte(type)) {
      return this.startSslv2(lane, bytes.subarray(at, at + RECORD_HEADER_LEN));
    }
    const length = (bytes[at + 3]! << 8) | bytes[at + 4]!;
    // RFC 5246 §6.2.1/§6.2.3: every TLS record has major version 3 and at most 2^14 + 2048 bytes.
    if (bytes[at + 1] !== 3 || length > MAX_CIPHERTEXT) {
      if (lane.records === 0) return this.admitNonTls(lane) ? 'pass-through' : 'blocked';
      return this.block(lane, 'malformed-record');
    }
    lane.records++;
    lane.payloadLeft = length;
    switch (lane.state) {
      case 'expect-hello':
        return this.helloRecord(lane, type);
      case 'expect-change-cipher-spec':
        if (type === ContentType.change_cipher_spec) this.changeCipherSpec(lane);
        return 'forward';
      case 'expect-finished':
        return type === ContentType.handshake ? this.finished(lane, length) : 'forward';
      case 'traffic':
        if (type === ContentType.handshake) return this.handshakeInTraffic(lane, length, 'record');
        if (type === ContentType.alert) this.alertInTraffic(lane);
        return 'forward';
    }
  }

  // --- the initial hellos -------------------------------------------------------------

  private helloRecord(lane: Lane, type: number): Action {
    if (type === ContentType.handshake) {
      const expected = lane.side === 'client' ? HandshakeType.client_hello : HandshakeType.server_hello;
      lane.collecting ??= new TlsHelloCollector(expected);
      return 'hold';
    }
    // A server may refuse the ClientHello with a clear alert before any ServerHello.
    if (lane.side === 'server' && lane.collecting === undefined) return 'forward';
    return this.block(lane, 'malformed-hello');
  }

  /** RFC 5246 Appendix E.2: a 2-byte header with the top bit set; three bytes of its body are already in `head`. */
  private startSslv2(lane: Lane, head: Uint8Array): Action {
    const length = sslv2RecordLength(head);
    if (length < SSLV2_MIN_BODY) return this.block(lane, 'malformed-hello');
    lane.records++;
    const collector = new Sslv2HelloCollector(length);
    collector.push(head.subarray(SSLV2_HEADER_LEN));
    lane.collecting = collector;
    lane.payloadLeft = length - (RECORD_HEADER_LEN - SSLV2_HEADER_LEN);
    return 'hold';
  }

  /** Judges a whole hello; false when the connection is now blocked. */
  private onHello(lane: Lane, message: Uint8Array, format: 'tls' | 'sslv2'): boolean {
    if (lane.side === 'client') {
      const hello = format === 'sslv2' ? sslv2ClientHelloFacts(message) : clientHelloFacts(message);
      if (hello === undefined) return this.refuse(lane, 'malformed-hello');
      // A real SSL 2.0 hello (version 0x0002) leads to SSL 2.0, whose records the guard cannot read.
      if (hello.version < SSL3) return this.admitNonTls(lane);
      this.clientFacts = hello;
      this.emit({ type: 'client-hello', hello });
      const decision = this.judge({ kind: 'client-hello', hello });
      if (!decision.allow) return this.refuse(lane, decision.reason);
      lane.state = 'expect-change-cipher-spec';
      return true;
    }
    const hello = serverHelloFacts(message);
    if (hello === undefined) return this.refuse(lane, 'malformed-hello');
    this.serverFacts = hello;
    this.emit({ type: 'server-hello', hello });
    const decision = this.judge({ kind: 'server-hello', hello, client: this.clientFacts });
    if (!decision.allow) return this.refuse(lane, decision.reason);
    // RFC 8446: TLS 1.3 has no renegotiation, and its handshake records are disguised as application data.
    if (hello.tls13) this.passThrough('tls13');
    else lane.state = 'expect-change-cipher-spec';
    return true;
  }

  // --- Finished and renegotiations ----------------------------------------------------------

  private changeCipherSpec(lane: Lane): void {
    lane.state = 'expect-finished';
    // The initial handshake's suite is in the clear ServerHello; a renegotiation's was negotiated
    // under encryption, so only the bound over all suites applies (and the shortest Finished).
    const initial = !lane.finishedOnce;
    lane.shape = initial ? initialShape(this.serverFacts) : { kind: 'unknown' };
    lane.finishedLeft = finishedLength(initial ? this.serverFacts?.version : undefined);
  }

  /** A handshake record after this side's ChangeCipherSpec: its Finished, and maybe more. */
  private finished(lane: Lane, length: number): Action {
    const range = plaintextRange(lane.shape, length);
    const left = lane.finishedLeft;
    if (range.max < left) {
      // Too short for the rest of the Finished: it goes on in the next record.
      lane.finishedLeft = left - range.max;
      return 'forward';
    }
    lane.state = 'traffic';
    this.onFinished(lane);
    // What a renegotiation would start with after this Finished (RFC 5246 §7.4.1.1, §7.4.1.2).
    const hidden = lane.side === 'client' ? MIN_CLIENT_HELLO_LEN : HELLO_REQUEST_LEN;
    if (range.min - left >= hidden) return this.handshakeInTraffic(lane, length, 'coalesced');
    if (range.max - left >= hidden) return this.roomAfterFinished(lane);
    return 'forward';
  }

  /**
   * A Finished record with room for a message the guard cannot rule out. A ClientHello must not
   * reach the server unjudged, so it is judged now as the renegotiation it would start. A
   * HelloRequest fits in the padding of nearly every CBC Finished, so blocking there would close
   * every CBC connection: the client's answer is judged instead. Whatever passes makes the other
   * side's next renegotiation record ambiguous (it may answer the hidden message).
   */
  private roomAfterFinished(lane: Lane): Action {
    if (lane.side === 'client') {
      const decision = this.judge(this.question(lane.side, 'finished-room'));
      if (!decision.allow) return this.block(lane, decision.reason, lane.side, 'finished-room');
    }
    lane.roomAfterFinished = true;
    return 'forward';
  }

  private onFinished(lane: Lane): void {
    if (!lane.finishedOnce) {
      lane.finishedOnce = true;
      if (this.lanes.client.finishedOnce && this.lanes.server.finishedOnce) this.emit({ type: 'handshake-complete' });
      return;
    }
    const phase = this.phase;
    if (phase.kind !== 'renegotiating' || !phase.renegotiation.started[lane.side]) return;
    const r = phase.renegotiation;
    r.finished[lane.side] = true;
    if (!r.finished.client || !r.finished.server) return;
    this.emit({ type: 'renegotiation-complete', initiator: r.initiator, index: r.index });
    this.phase = IDLE;
  }

  /** A handshake record from a side in traffic (or its Finished record, certainly with more in it). */
  private handshakeInTraffic(lane: Lane, length: number, evidence: 'record' | 'coalesced'): Action {
    const phase = this.phase;
    const otherLane = this.other(lane);
    const ambiguous = otherLane.roomAfterFinished;
    lane.roomAfterFinished = false;
    otherLane.roomAfterFinished = false;
    // RFC 5246 §7.4.1.1: the client answers a HelloRequest with a ClientHello; that is the
    // server-initiated renegotiation going on, not one the client starts.
    if (lane.side === 'client' && phase.kind === 'hello-requested') {
      const r = phase.renegotiation;
      r.started.client = true;
      this.phase = { kind: 'renegotiating', renegotiation: r };
      lane.state = 'expect-change-cipher-spec';
      this.emit({ type: 'renegotiation-answered', index: r.index });
      return 'forward';
    }
    // The server's ServerHello flight in a renegotiation the client (or its HelloRequest) started.
    if (lane.side === 'server' && phase.kind === 'renegotiating' && !phase.renegotiation.started.server) {
      phase.renegotiation.started.server = true;
      lane.state = 'expect-change-cipher-spec';
      return 'forward';
    }
    if (!ambiguous) return this.startRenegotiation(lane, lane.side, evidence);
    // The record may answer a message hidden in the other side's Finished. A server record
    // certainly longer than a HelloRequest can only be the answer to a hidden ClientHello.
    const initiator =
      lane.side === 'server' && plaintextRange(lane.shape, length).min > HELLO_REQUEST_LEN ? 'client' : lane.side;
    return this.startRenegotiation(lane, initiator, 'after-finished-room');
  }

  private other(lane: Lane): Lane {
    return this.lanes[lane.side === 'client' ? 'server' : 'client'];
  }

  private question(initiator: Initiator, evidence: Evidence): Question {
    return {
      kind: 'renegotiation',
      initiator,
      evidence,
      previous: this.renegotiationCount,
      client: this.clientFacts,
      server: this.serverFacts,
    };
  }

  /** `lane` sent the record that shows the renegotiation; `initiator` started it. */
  private startRenegotiation(lane: Lane, initiator: Initiator, evidence: Evidence): Action {
    const decision = this.judge(this.question(initiator, evidence));
    if (!decision.allow) return this.block(lane, decision.reason, initiator, evidence);
    const renegotiation: Renegotiation = {
      index: ++this.renegotiationCount,
      initiator,
      started: { client: initiator === 'client', server: lane.side === 'server' && initiator === 'client' },
      finished: { client: false, server: false },
    };
    this.emit({ type: 'renegotiation', initiator, index: renegotiation.index, evidence });
    if (initiator === 'client') {
      // The server's record answers a hidden ClientHello: both sides are inside the handshake.
      this.phase = { kind: 'renegotiating', renegotiation };
      this.lanes.client.state = 'expect-change-cipher-spec';
      if (renegotiation.started.server) lane.state = 'expect-change-cipher-spec';
    } else {
      // A HelloRequest is a message of its own: the server's handshake starts with its ServerHello.
      this.phase = { kind: 'hello-requested', renegotiation };
    }
    return 'forward';
  }

  /**
   * An alert where the other side awaited a handshake is taken as a refusal (its description is
   * encrypted; a no_renegotiation warning in practice, RFC 5246 §7.2.2).
   */
  private alertInTraffic(lane: Lane): void {
    const phase = this.phase;
    // An alert answers whatever the other side's Finished may have hidden.
    this.other(lane).roomAfterFinished = false;
    if (phase.kind === 'idle') return;
    const r = phase.renegotiation;
    const clientRefused = lane.side === 'client' && phase.kind === 'hello-requested';
    const serverRefused =
      lane.side === 'server' && phase.kind === 'renegotiating' && r.initiator === 'client' && !r.started.server;
    if (!clientRefused && !serverRefused) return;
    this.emit({ type: 'renegotiation-refused', initiator: r.initiator, index: r.index, by: lane.side });
    this.phase = IDLE;
    // The client sent its ClientHello and now goes on with application data.
    if (serverRefused) this.lanes.client.state = 'traffic';
  }

  // --- outcomes -------------------------------------------------------------------------

  private admitNonTls(lane: Lane): boolean {
    const decision = this.judge({ kind: 'non-tls', side: lane.side });
    if (!decision.allow) {
      this.block(lane, decision.reason);
      return false;
    }
    this.passThrough('non-tls');
    return true;
  }

  private passThrough(why: 'tls13' | 'non-tls'): void {
    this.mode = PASS_THROUGH;
    this.emit({ type: 'pass-through', why });
  }

  private block(lane: Lane, reason: BlockReason, initiator?: Initiator, evidence?: Evidence): 'blocked' {
    const block: Block =
      initiator === undefined ? { reason, side: lane.side } : { reason, side: lane.side, initiator, evidence };
    this.mode = { kind: 'blocked', block };
    this.emit({ type: 'blocked', block });
    for (const l of Object.values(this.lanes)) {
      l.held.clear();
      l.collecting = undefined;
    }
    return 'blocked';
  }

  /** block() for callers that answer whether to go on. */
  private refuse(lane: Lane, reason: BlockReason): false {
    this.block(lane, reason);
    return false;
  }

  private release(lane: Lane, out: Output): void {
    out.push(lane.held.take());
  }

  /** Once inspection has stopped, everything held goes on, a partial header included. */
  private flushHeld(lane: Lane, out: Output): void {
    this.release(lane, out);
    if (lane.head !== undefined) out.push(lane.head.subarray(0, lane.headHave));
    lane.head = undefined;
    lane.headHave = 0;
  }
}

/** A client starts with a handshake record or an SSL 2.0-compatible hello; a server with a handshake record or an alert. */
function firstByteIsTls(side: Side, first: number): boolean {
  if (side === 'client') return first === ContentType.handshake || isSslv2HeaderByte(first);
  return first === ContentType.handshake || first === ContentType.alert;
}
