/** The lab's record-by-record transcript: who sent what to whom, and under whose keys. */
import { contentTypeName, handshakeTypeName } from '../wire/enums.ts';

export type Party = 'victim' | 'attacker' | 'server';

export interface TranscriptEntry {
  at: number;
  from: Party;
  to: Party;
  contentType: string;
  /** For a readable plaintext handshake record, its first message type. */
  message?: string;
  length: number;
  /** 'clear', or whose session keys protect it on this hop. */
  protection: 'clear' | 'attacker-server keys' | 'victim-server keys';
  /** Application bytes the attacker injected or saw, as text. */
  text?: string;
  note?: string;
}

export class Transcript {
  readonly entries: TranscriptEntry[] = [];
  private readonly t0 = performance.now();

  add(e: Omit<TranscriptEntry, 'at'>): void {
    this.entries.push({ at: Math.round(performance.now() - this.t0), ...e });
  }

  static describe(type: number, plaintext: Uint8Array | undefined): { contentType: string; message?: string } {
    const contentType = contentTypeName(type);
    if (type === 22 && plaintext && plaintext.length > 0)
      return { contentType, message: handshakeTypeName(plaintext[0]!) };
    return { contentType };
  }

  format(): string {
    return this.entries
      .map((e) => {
        const what = e.message ? `${e.contentType}/${e.message}` : e.contentType;
        const text = e.text ? ` ${JSON.stringify(e.text.length > 60 ? e.text.slice(0, 57) + '...' : e.text)}` : '';
        return `${String(e.at).padStart(5)} ms  ${e.from.padEnd(8)} -> ${e.to.padEnd(8)} ${what.padEnd(32)} ${String(e.length).padStart(5)} B  ${e.protection}${text}${e.note ? `  (${e.note})` : ''}`;
      })
      .join('\n');
  }
}
