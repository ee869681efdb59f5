/**
 * The evidence log of one probe connection: every handshake message and alert
 * as a one-line note (bounded), with the ServerHello and the last alert kept for
 * the probes that judge them.
 */
import type { ConnectionEvent } from '../handshake/events.ts';
import { HandshakeType, alertLevelName, alertName } from '../wire/enums.ts';
import type { HandshakeMessage, UnknownHandshake } from '../wire/handshake.ts';
import { describeHandshake } from './evidence.ts';

/** Records and messages as one-line notes, for evidence. */
export class EvidenceLog {
  readonly lines: string[] = [];
  serverHello: (HandshakeMessage & { type: typeof HandshakeType.server_hello }) | undefined;
  alertReceived: string | undefined;
  /** The server sent a handshake message or an alert: it speaks TLS. */
  heardTls = false;
  private readonly limit = 64;

  note(line: string): void {
    if (this.lines.length < this.limit) this.lines.push(line);
  }

  onEvent(e: ConnectionEvent): void {
    switch (e.type) {
      case 'handshake-message':
        this.onMessage(e.direction, e.message);
        return;
      case 'alert': {
        const text = `${alertLevelName(e.level)} ${alertName(e.description)}`;
        if (e.direction === 'received') {
          this.alertReceived = text;
          this.heardTls = true;
        }
        this.note(`${e.direction === 'received' ? '←' : '→'} alert ${text}`);
        return;
      }
      default:
        return;
    }
  }

  private onMessage(direction: 'in' | 'out', m: HandshakeMessage | UnknownHandshake): void {
    if (direction === 'in') this.heardTls = true;
    if (direction === 'in' && m.type === HandshakeType.server_hello) this.serverHello = m as typeof this.serverHello;
    this.note(`${direction === 'in' ? '←' : '→'} ${describeHandshake(m)}`);
  }
}
