/**
 * The sans-I/O connection: bytes in (`receive`), events out, bytes out
 * (`takeOutput`). It owns the record layer and dispatches each record: alerts
 * and ChangeCipherSpec here, handshake messages to the state machine,
 * application data to the owner. Errors are sticky; the alert they call for is
 * queued before the connection stops (STYLE.md §8).
 */
import type { RecordProtector } from '../crypto/record-protection.ts';
import type { ConnectionEvent } from '../handshake/events.ts';
import {
  initialSecurity,
  type ConnectionSecurity,
  type HandshakeContext,
  type HandshakeInput,
  type HandshakeMachine,
} from '../handshake/context.ts';
import { AlertDescription, AlertLevel, ContentType, handshakeTypeName } from '../wire/enums.ts';
import { TlsError, alertFor } from '../wire/errors.ts';
import { decodeHandshake, type HandshakeMessage, type UnknownHandshake } from '../wire/handshake.ts';
import { HandshakeJoiner } from '../wire/record.ts';
import { RecordLayer, type PlainRecord } from './record-layer.ts';

export interface ConnectionOptions {
  maxHandshakeMessageSize: number;
  /** Emit 'record' and 'handshake-message' events for every record and message both ways. */
  observe?: boolean;
}

/** Consecutive warning alerts tolerated (rustls caps them the same way). */
const MAX_WARNING_ALERTS = 4;

export abstract class Connection<M extends HandshakeMachine = HandshakeMachine> {
  protected readonly records = new RecordLayer();
  protected readonly joiner: HandshakeJoiner;
  readonly security: ConnectionSecurity = initialSecurity();
  private events: ConnectionEvent[] = [];
  private failure: TlsError | undefined;
  private warnings = 0;
  private sentCloseNotify = false;
  private receivedCloseNotify = false;
  protected readonly observe: boolean;
  protected readonly cx: HandshakeContext;

  constructor(
    options: ConnectionOptions,
    protected readonly machine: M,
  ) {
    this.joiner = new HandshakeJoiner(options.maxHandshakeMessageSize);
    this.observe = options.observe ?? false;
    if (this.observe) {
      this.records.observer = (direction, r: PlainRecord) =>
        this.emit({
          type: 'record',
          direction,
          contentType: r.type,
          version: r.version,
          wireLength: r.wireLength,
          encrypted: r.encrypted,
        });
    }
    this.cx = this.makeContext();
  }

  private makeContext(): HandshakeContext {
    const records = this.records;
    return {
      security: this.security,
      send: (raw) => records.queueHandshake(raw),
      setVersion: (v) => {
        records.writeVersion = v;
        records.expectedReadVersion = v;
      },
      changeWriteKeys: (p: RecordProtector) => records.changeWriteKeys(p),
      setPendingReader: (p: RecordProtector) => records.setPendingReader(p),
      emit: (e) => this.emit(e),
    };
  }

  protected emit(e: ConnectionEvent): void {
    if (!this.observe && (e.type === 'record' || e.type === 'handshake-message')) return;
    this.events.push(e);
  }

  /** Feeds bytes from the peer; returns what happened. Never throws for anything the peer sent. */
  receive(bytes: Uint8Array): ConnectionEvent[] {
    if (this.failure) return this.drainEvents();
    this.guard(() => {
      this.records.receive(bytes);
      for (let rec = this.records.nextRecord(); rec; rec = this.failure ? undefined : this.records.nextRecord()) {
        this.dispatch(rec);
      }
    });
    return this.drainEvents();
  }

  /** Events produced by calls other than receive (start, write, renegotiate). */
  drainEvents(): ConnectionEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  /** Bytes to send to the peer, possibly empty. */
  takeOutput(): Uint8Array {
    return this.records.takeOutput();
  }

  /** The same bytes as takeOutput, as separate record pieces (for writev). */
  takeOutputChunks(): Uint8Array[] {
    return this.records.takeOutputChunks();
  }

  get pendingOutput(): number {
    return this.records.pendingOutput;
  }

  get error(): TlsError | undefined {
    return this.failure;
  }

  get handshakeComplete(): boolean {
    return this.security.handshakes > 0;
  }

  get isHandshaking(): boolean {
    return !this.machine.inTraffic;
  }

  get stateName(): string {
    return this.machine.stateName;
  }

  get closed(): boolean {
    return this.failure !== undefined || this.receivedCloseNotify;
  }

  /** Sends application data under the keys in force (RFC 5246 §6.2: any size, fragmented to 2^14). */
  write(data: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.sentCloseNotify) throw new TlsError('InternalError', 'write after close');
    if (!this.handshakeComplete) throw new TlsError('InternalError', 'write before the handshake completed');
    // An empty write (node:http ends a response with one) sends nothing: a zero-length
    // application_data record carries no data, and some stacks take it for the end of the stream.
    if (data.length === 0) return;
    this.records.writeRecord(ContentType.application_data, data);
  }

  /** Sends close_notify (RFC 5246 §7.2.1). */
  close(): void {
    if (this.sentCloseNotify || this.failure) return;
    this.sentCloseNotify = true;
    this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
  }

  /** Low-level: sends raw handshake bytes in the current epoch, bypassing the state machine. */
  sendRawHandshake(raw: Uint8Array): void {
    this.records.queueHandshake(raw);
    this.records.flushHandshake();
  }

  /**
   * Low-level, for the lab's man-in-the-middle: stops the state machine and hands
   * over the record layer with the keys in force, so a tool can relay records
   * it cannot itself complete a handshake for. The connection is dead afterwards.
   */
  detachRecordLayer(): RecordLayer {
    this.failure ??= new TlsError('InternalError', 'record layer detached');
    return this.records;
  }

  /** Low-level: sends one alert as it is, e.g. a no_renegotiation warning. */
  sendAlert(level: number, description: number): void {
    this.records.writeRecord(ContentType.alert, Uint8Array.of(level, description));
    this.emit({ type: 'alert', direction: 'sent', level, description });
  }

  /** Aborts locally (a timeout in the adapter, a tool's decision), sending the matching alert. */
  fail(error: TlsError): void {
    if (this.failure) return;
    this.failure = error;
    this.records.discardHandshake();
    const alert = alertFor(error.kind);
    if (alert !== undefined) {
      try {
        this.sendAlert(alert.level, alert.description);
      } catch {
        // The alert is best effort; the error is what the owner acts on.
      }
    }
    this.emit({ type: 'error', error });
  }

  protected guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e instanceof TlsError ? e : new TlsError('InternalError', e instanceof Error ? e.message : String(e)));
    }
  }

  private dispatch(rec: PlainRecord): void {
    if (rec.type !== ContentType.alert) this.warnings = 0;
    switch (rec.type) {
      case ContentType.alert:
        return this.onAlerts(rec.data);
      case ContentType.change_cipher_spec:
        return this.onChangeCipherSpec(rec.data);
      case ContentType.handshake:
        return this.onHandshakeRecord(rec.data);
      case ContentType.application_data:
        return this.onApplicationData(rec.data);
      default:
        throw new TlsError('UnexpectedMessage', `record of content type ${rec.type}`);
    }
  }

  private onAlerts(data: Uint8Array): void {
    if (data.length === 0 || data.length % 2 !== 0) throw new TlsError('DecodeError', 'alert record of odd length');
    if (!this.joiner.isEmpty) throw new TlsError('UnexpectedMessage', 'alert inside a fragmented handshake message');
    for (let i = 0; i < data.length; i += 2) {
      const level = data[i]!;
      const description = data[i + 1]!;
      this.emit({ type: 'alert', direction: 'received', level, description });
      if (level !== AlertLevel.warning || description === AlertDescription.close_notify) {
        if (description === AlertDescription.close_notify) {
          this.receivedCloseNotify = true;
          this.emit({ type: 'close-notify' });
          // RFC 5246 §7.2.1: answer with our own close_notify.
          this.close();
          this.failure = new TlsError('PeerClosed', 'peer sent close_notify');
          return;
        }
        this.failure = new TlsError('PeerSentFatalAlert', `peer sent fatal alert ${description}`, description);
        this.emit({ type: 'error', error: this.failure });
        return;
      }
      // A refusal we asked for (no_renegotiation to our request) is an answer, not noise to cap.
      if (this.onWarningAlert(description)) continue;
      if (++this.warnings > MAX_WARNING_ALERTS) throw new TlsError('UnexpectedMessage', 'too many warning alerts');
    }
  }

  /** Warnings other than close_notify; returns true when it answered a request of ours (no_renegotiation). */
  protected onWarningAlert(_description: number): boolean {
    return false;
  }

  private onChangeCipherSpec(data: Uint8Array): void {
    // RFC 5246 §7.1: exactly one byte of value 1, on a handshake message boundary. Anything else
    // is not a ChangeCipherSpec message at all: unexpected_message, as OpenSSL and tlsfuzzer's
    // test-ccs ("two bytes long CCS") expect, and never a key change.
    if (data.length !== 1 || data[0] !== 1) {
      throw new TlsError('UnexpectedMessage', `malformed ChangeCipherSpec of ${data.length} bytes`);
    }
    if (!this.joiner.isEmpty) throw new TlsError('UnexpectedMessage', 'ChangeCipherSpec inside a handshake message');
    if (!this.records.hasPendingReader)
      throw new TlsError('UnexpectedMessage', `ChangeCipherSpec in ${this.machine.stateName}`);
    this.advance({ kind: 'ccs' });
    this.records.activatePendingReader();
  }

  private onHandshakeRecord(data: Uint8Array): void {
    if (data.length === 0) throw new TlsError('DecodeError', 'empty handshake record');
    this.joiner.push(data);
    for (let raw = this.joiner.next(); raw && !this.failure; raw = this.joiner.next()) {
      const expects = this.machine.expects;
      if (expects !== undefined && !expects.includes(raw[0]!)) {
        throw new TlsError('UnexpectedMessage', `${handshakeTypeName(raw[0]!)} while in ${this.machine.stateName}`);
      }
      const msg = decodeHandshake(raw, this.security.version ?? this.negotiatingVersion());
      this.emit({ type: 'handshake-message', direction: 'in', message: msg, raw });
      if (this.machine.inTraffic) this.onHandshakeInTraffic(msg, raw);
      else this.advance({ kind: 'message', msg, raw });
    }
  }

  /** The version a message in flight should be decoded with, before any handshake completed. */
  protected abstract negotiatingVersion(): number | undefined;

  /** A handshake message while application data flows: a renegotiation request or an error. */
  protected abstract onHandshakeInTraffic(msg: HandshakeMessage | UnknownHandshake, raw: Uint8Array): void;

  /** One input to the handshake under way; its replies go out as one flight. */
  protected advance(input: HandshakeInput): void {
    this.machine.handle(this.cx, input);
    this.records.flushHandshake();
  }

  private onApplicationData(data: Uint8Array): void {
    // Before the first Finished there are no keys to trust data with (RFC 5246 §7.4.9).
    if (!this.handshakeComplete || !this.records.readEncrypted) {
      throw new TlsError('UnexpectedMessage', 'application data before the handshake completed');
    }
    if (!this.joiner.isEmpty) throw new TlsError('UnexpectedMessage', 'application data inside a handshake message');
    if (this.machine.awaitingFinished)
      throw new TlsError('UnexpectedMessage', 'application data between ChangeCipherSpec and Finished');
    if (data.length > 0) this.emit({ type: 'data', data });
  }
}
