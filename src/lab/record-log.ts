/** The lab's record-by-record transcript: who sent what to whom, and under whose keys. */
import { contentTypeName, handshakeTypeName } from '../wire/enums.ts';

export type Party = 'victim' | 'attacker' | 'server';

export interface RecordLogEntry {
  at: number;
  from: Party;
  to: Party;
  contentType: string;
  /** For a readable plaintext handshake record, its first message type. */
  message?: string;
  /** Every handshake message the record carries, in order (a server's flight is often one record). */
  messages?: string[];
  length: number;
  /** 'clear', or whose session keys protect it on this hop. */
  protection: 'clear' | 'attacker-server keys' | 'victim-server keys';
  /** Application bytes the attacker injected or saw, as text. */
  text?: string;
  note?: string;
}

export class RecordLog {
  readonly entries: RecordLogEntry[] = [];
  private readonly t0 = performance.now();

  add(e: Omit<RecordLogEntry, 'at'>): void {
    this.entries.push({ at: Math.round(performance.now() - this.t0), ...e });
  }

  static describe(
    type: number,
    plaintext: Uint8Array | undefined,
  ): { contentType: string; message?: string; messages?: string[] } {
    const contentType = contentTypeName(type);
    if (type !== 22 || !plaintext || plaintext.length === 0) return { contentType };
    const messages = handshakeMessages(plaintext);
    return { contentType, message: messages[0]!, messages };
  }

  format(): string {
    return this.entries
      .map((e) => {
        const what = e.message ? `${e.contentType}/${(e.messages ?? [e.message]).join('+')}` : e.contentType;
        const text = e.text ? ` ${JSON.stringify(e.text.length > 60 ? e.text.slice(0, 57) + '...' : e.text)}` : '';
        return `${String(e.at).padStart(5)} ms  ${e.from.padEnd(8)} -> ${e.to.padEnd(8)} ${what.padEnd(32)} ${String(e.length).padStart(5)} B  ${e.protection}${text}${e.note ? `  (${e.note})` : ''}`;
      })
      .join('\n');
  }
}

/**
 * The type of each handshake message in a record: RFC 5246 §7.4, `HandshakeType
 * msg_type; uint24 length; body`. A message cut at the record's end (fragmented
 * across records) is still named.
 */
function handshakeMessages(record: Uint8Array): string[] {
  const names: string[] = [];
  let at = 0;
  while (at < record.length) {
    names.push(handshakeTypeName(record[at]!));
    if (at + 4 > record.length) break;
    at += 4 + ((record[at + 1]! << 16) | (record[at + 2]! << 8) | record[at + 3]!);
  }
  return names;
}
