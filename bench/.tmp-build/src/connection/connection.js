import { initialSecurity, } from "../handshake/context.js";
import { AlertDescription, AlertLevel, ContentType } from "../wire/enums.js";
import { TlsError, alertFor } from "../wire/errors.js";
import { decodeHandshake } from "../wire/handshake.js";
import { HandshakeJoiner } from "../wire/record.js";
import { RecordLayer } from "./record-layer.js";
/** Consecutive warning alerts tolerated (rustls caps them the same way). */
const MAX_WARNING_ALERTS = 4;
export class Connection {
    records = new RecordLayer();
    joiner;
    state;
    security = initialSecurity();
    events = [];
    failure;
    warnings = 0;
    sentCloseNotify = false;
    receivedCloseNotify = false;
    observe;
    cx;
    constructor(options, initial) {
        this.joiner = new HandshakeJoiner(options.maxHandshakeMessageSize);
        this.state = initial;
        this.observe = options.observe ?? false;
        if (this.observe) {
            this.records.observer = (direction, r) => this.emit({
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
    makeContext() {
        const records = this.records;
        return {
            security: this.security,
            send: (raw) => records.queueHandshake(raw),
            setVersion: (v) => {
                records.writeVersion = v;
                records.expectedReadVersion = v;
            },
            changeWriteKeys: (p) => records.changeWriteKeys(p),
            setPendingReader: (p) => records.setPendingReader(p),
            emit: (e) => this.emit(e),
        };
    }
    emit(e) {
        if (!this.observe && (e.type === 'record' || e.type === 'handshake-message'))
            return;
        this.events.push(e);
    }
    /** Feeds bytes from the peer; returns what happened. Never throws for anything the peer sent. */
    receive(bytes) {
        if (this.failure)
            return this.drainEvents();
        this.guard(() => {
            this.records.receive(bytes);
            for (let rec = this.records.nextRecord(); rec; rec = this.failure ? undefined : this.records.nextRecord()) {
                this.dispatch(rec);
            }
        });
        return this.drainEvents();
    }
    /** Events produced by calls other than receive (start, write, renegotiate). */
    drainEvents() {
        const out = this.events;
        this.events = [];
        return out;
    }
    /** Bytes to send to the peer, possibly empty. */
    takeOutput() {
        return this.records.takeOutput();
    }
    get pendingOutput() {
        return this.records.pendingOutput;
    }
    get error() {
        return this.failure;
    }
    get handshakeComplete() {
        return this.security.handshakes > 0;
    }
    get isHandshaking() {
        return !this.state.isTraffic;
    }
    get stateName() {
        return this.state.name;
    }
    get closed() {
        return this.failure !== undefined || this.receivedCloseNotify;
    }
    /** Sends application data under the keys in force (RFC 5246 §6.2: any size, fragmented to 2^14). */
    write(data) {
        if (this.failure)
            throw this.failure;
        if (this.sentCloseNotify)
            throw new TlsError('InternalError', 'write after close');
        if (!this.handshakeComplete)
            throw new TlsError('InternalError', 'write before the handshake completed');
        this.records.writeRecord(ContentType.application_data, data);
    }
    /** Sends close_notify (RFC 5246 §7.2.1). */
    close() {
        if (this.sentCloseNotify || this.failure)
            return;
        this.sentCloseNotify = true;
        this.sendAlert(AlertLevel.warning, AlertDescription.close_notify);
    }
    /** Low-level: sends raw handshake bytes in the current epoch, bypassing the state machine. */
    sendRawHandshake(raw) {
        this.records.queueHandshake(raw);
        this.records.flushHandshake();
    }
    /** Low-level: sends one alert as it is, e.g. a no_renegotiation warning. */
    sendAlert(level, description) {
        this.records.writeRecord(ContentType.alert, Uint8Array.of(level, description));
        this.emit({ type: 'alert', direction: 'sent', level, description });
    }
    /** Aborts locally (a timeout in the adapter, a tool's decision), sending the matching alert. */
    fail(error) {
        if (this.failure)
            return;
        this.failure = error;
        this.records.discardHandshake();
        const alert = alertFor(error.kind);
        if (alert !== undefined) {
            try {
                this.sendAlert(AlertLevel.fatal, alert);
            }
            catch {
                // The alert is best effort; the error is what the owner acts on.
            }
        }
        this.emit({ type: 'error', error });
    }
    guard(fn) {
        try {
            fn();
        }
        catch (e) {
            this.fail(e instanceof TlsError ? e : new TlsError('InternalError', e instanceof Error ? e.message : String(e)));
        }
    }
    dispatch(rec) {
        if (rec.type !== ContentType.alert)
            this.warnings = 0;
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
    onAlerts(data) {
        if (data.length === 0 || data.length % 2 !== 0)
            throw new TlsError('DecodeError', 'alert record of odd length');
        if (!this.joiner.isEmpty)
            throw new TlsError('UnexpectedMessage', 'alert inside a fragmented handshake message');
        for (let i = 0; i < data.length; i += 2) {
            const level = data[i];
            const description = data[i + 1];
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
            if (++this.warnings > MAX_WARNING_ALERTS)
                throw new TlsError('UnexpectedMessage', 'too many warning alerts');
            this.onWarningAlert(description);
        }
    }
    /** Warnings other than close_notify; subclasses handle no_renegotiation. */
    onWarningAlert(_description) { }
    onChangeCipherSpec(data) {
        // RFC 5246 §7.1: exactly one byte of value 1, on a handshake message boundary.
        if (data.length !== 1 || data[0] !== 1)
            throw new TlsError('DecodeError', 'malformed ChangeCipherSpec');
        if (!this.joiner.isEmpty)
            throw new TlsError('UnexpectedMessage', 'ChangeCipherSpec inside a handshake message');
        if (!this.records.hasPendingReader)
            throw new TlsError('UnexpectedMessage', `ChangeCipherSpec in ${this.state.name}`);
        this.advance({ kind: 'ccs' });
        this.records.activatePendingReader();
    }
    onHandshakeRecord(data) {
        if (data.length === 0)
            throw new TlsError('DecodeError', 'empty handshake record');
        this.joiner.push(data);
        for (let raw = this.joiner.next(); raw && !this.failure; raw = this.joiner.next()) {
            const msg = decodeHandshake(raw, this.security.version ?? this.negotiatingVersion());
            this.emit({ type: 'handshake-message', direction: 'in', message: msg, raw });
            if (this.state.isTraffic)
                this.onHandshakeInTraffic(msg, raw);
            else
                this.onHandshakeMessage(msg, raw);
        }
    }
    onHandshakeMessage(msg, raw) {
        this.advance({ kind: 'message', msg, raw });
    }
    advance(input) {
        this.state = this.state.handle(this.cx, input);
        this.records.flushHandshake();
    }
    onApplicationData(data) {
        // Before the first Finished there are no keys to trust data with (RFC 5246 §7.4.9).
        if (!this.handshakeComplete || !this.records.readEncrypted) {
            throw new TlsError('UnexpectedMessage', 'application data before the handshake completed');
        }
        if (!this.joiner.isEmpty)
            throw new TlsError('UnexpectedMessage', 'application data inside a handshake message');
        if (data.length > 0)
            this.emit({ type: 'data', data });
    }
}
//# sourceMappingURL=connection.js.map