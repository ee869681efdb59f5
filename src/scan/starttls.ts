/**
 * STARTTLS: the plaintext dialogue that turns a connection into one where the
 * next byte is our ClientHello. One function per protocol, each bounded by the
 * caller's deadline; a server that says no gives an error naming its answer.
 */
import type * as net from 'node:net';
import type { StartTlsProtocol } from './types.ts';

export const STARTTLS_PROTOCOLS: readonly StartTlsProtocol[] = [
  'smtp',
  'imap',
  'pop3',
  'ftp',
  'xmpp',
  'ldap',
  'postgres',
];

/** The usual port of each protocol, used when a target gives none. */
export const STARTTLS_DEFAULT_PORT: Readonly<Record<StartTlsProtocol, number>> = {
  smtp: 25,
  imap: 143,
  pop3: 110,
  ftp: 21,
  xmpp: 5222,
  ldap: 389,
  postgres: 5432,
};

export function isStartTlsProtocol(s: string): s is StartTlsProtocol {
  return (STARTTLS_PROTOCOLS as readonly string[]).includes(s);
}

/** A request that makes an idle server of this protocol read (and answer) without changing anything. */
export function nudgeFor(protocol: StartTlsProtocol | undefined, host: string): string {
  switch (protocol) {
    case undefined:
      return `HEAD / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    case 'smtp':
    case 'pop3':
    case 'ftp':
      return 'NOOP\r\n';
    case 'imap':
      return 'r1 NOOP\r\n';
    case 'xmpp':
      return ' ';
    case 'ldap':
    case 'postgres':
      return '';
  }
}

/** More than any greeting, capability list or XMPP feature set: past it the server is not speaking the protocol. */
const MAX_DIALOGUE_BYTES = 64 * 1024;

/** Reads the socket as text until `done` says so, or the deadline passes. */
class Dialogue {
  private bytes: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly onData = (d: Buffer): void => {
    if (this.bytes.length + d.length > MAX_DIALOGUE_BYTES) {
      this.failure ??= new Error(
        `${this.protocol} STARTTLS: over ${MAX_DIALOGUE_BYTES} bytes without the expected answer`,
      );
      this.wake?.();
      return;
    }
    this.bytes = Buffer.concat([this.bytes, d]);
    this.wake?.();
  };
  private readonly onEnd = (): void => {
    this.failure ??= new Error(`${this.protocol} server closed the connection during STARTTLS`);
    this.wake?.();
  };
  private readonly onError = (e: Error): void => {
    this.failure ??= e;
    this.wake?.();
  };

  constructor(
    private readonly socket: net.Socket,
    private readonly protocol: StartTlsProtocol,
    private readonly deadline: number,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  send(s: string | Uint8Array): void {
    this.socket.write(s);
  }

  /** Waits until `match` finds what it wants in the text so far; consumes the text up to there. */
  async until<T>(
    what: string,
    match: (text: string, bytes: Buffer) => { value: T; used: number } | undefined,
  ): Promise<T> {
    for (;;) {
      // latin1 maps each byte to one character, so `used` counts both.
      const text = this.bytes.toString('latin1');
      const m = match(text, this.bytes);
      if (m) {
        this.bytes = this.bytes.subarray(m.used);
        return m.value;
      }
      if (this.failure) throw this.failure;
      const left = this.deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${this.protocol} STARTTLS: timed out waiting for ${what} (got ${JSON.stringify(text.slice(0, 120))})`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** A complete reply of a line protocol whose last line starts with `code ` (SMTP, FTP). */
  reply(what: string): Promise<{ code: string; text: string }> {
    return this.until(what, (text) => {
      const lines = text.split('\r\n');
      let used = 0;
      for (let i = 0; i < lines.length - 1; i++) {
        const line = lines[i]!;
        used += line.length + 2;
        if (/^\d{3}(?: |$)/.test(line)) return { value: { code: line.slice(0, 3), text: text.slice(0, used) }, used };
      }
      return undefined;
    });
  }

  line(what: string): Promise<string> {
    return this.until(what, (text) => {
      const i = text.indexOf('\n');
      return i < 0 ? undefined : { value: text.slice(0, i).replace(/\r$/, ''), used: i + 1 };
    });
  }

  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
  }

  checkNothingLeft(): void {
    if (this.bytes.length > 0) throw new Error(`${this.protocol} server sent data after agreeing to STARTTLS`);
  }

  refused(step: string, answer: string): Error {
    return new Error(`${this.protocol} STARTTLS refused at ${step}: ${JSON.stringify(answer.trim().slice(0, 200))}`);
  }
}

/** Runs the STARTTLS dialogue; resolves when the next bytes on the socket are TLS. */
export async function startTls(
  socket: net.Socket,
  protocol: StartTlsProtocol,
  host: string,
  timeoutMs: number,
): Promise<void> {
  const d = new Dialogue(socket, protocol, Date.now() + timeoutMs);
  try {
    await DIALOGUES[protocol](d, host);
  } finally {
    d.detach();
  }
  d.checkNothingLeft();
}

const DIALOGUES: Readonly<Record<StartTlsProtocol, (d: Dialogue, host: string) => Promise<void>>> = {
  // RFC 3207
  async smtp(d) {
    const greeting = await d.reply('the 220 greeting');
    if (greeting.code !== '220') throw d.refused('greeting', greeting.text);
    d.send('EHLO renego-scan.invalid\r\n');
    const ehlo = await d.reply('the EHLO reply');
    if (ehlo.code !== '250') throw d.refused('EHLO', ehlo.text);
    d.send('STARTTLS\r\n');
    const go = await d.reply('the STARTTLS reply');
    if (go.code !== '220') throw d.refused('STARTTLS', go.text);
  },
  // RFC 3501 §6.2.1
  async imap(d) {
    const greeting = await d.line('the IMAP greeting');
    if (!greeting.startsWith('* OK')) throw d.refused('greeting', greeting);
    d.send('s1 STARTTLS\r\n');
    for (;;) {
      const line = await d.line('the STARTTLS reply');
      if (line.startsWith('*')) continue;
      if (!line.startsWith('s1 OK')) throw d.refused('STARTTLS', line);
      return;
    }
  },
  // RFC 2595 §4
  async pop3(d) {
    const greeting = await d.line('the POP3 greeting');
    if (!greeting.startsWith('+OK')) throw d.refused('greeting', greeting);
    d.send('STLS\r\n');
    const go = await d.line('the STLS reply');
    if (!go.startsWith('+OK')) throw d.refused('STLS', go);
  },
  // RFC 4217 §4
  async ftp(d) {
    const greeting = await d.reply('the 220 greeting');
    if (greeting.code !== '220') throw d.refused('greeting', greeting.text);
    d.send('AUTH TLS\r\n');
    const go = await d.reply('the AUTH TLS reply');
    if (go.code !== '234') throw d.refused('AUTH TLS', go.text);
  },
  // RFC 6120 §5.4
  async xmpp(d, host) {
    d.send(
      `<?xml version='1.0'?><stream:stream to='${host}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
    );
    await d.until('stream features', (text) => {
      const i = text.indexOf('</stream:features>');
      return i < 0 ? undefined : { value: true, used: i + '</stream:features>'.length };
    });
    d.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    const answer = await d.until('<proceed/>', (text) => {
      const m = /<(proceed|failure)[^>]*\/?>(?:<\/\1>)?/.exec(text);
      return m ? { value: m[1]!, used: m.index + m[0].length } : undefined;
    });
    if (answer !== 'proceed') throw d.refused('starttls', answer);
  },
  // RFC 4511 §4.14: ExtendedRequest with the StartTLS OID 1.3.6.1.4.1.1466.20037.
  async ldap(d) {
    const oid = Buffer.from('1.3.6.1.4.1.1466.20037', 'latin1');
    const extReq = Buffer.concat([Buffer.from([0x77, oid.length + 2, 0x80, oid.length]), oid]);
    const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01]), extReq]);
    d.send(Buffer.concat([Buffer.from([0x30, body.length]), body]));
    const code = await d.until('the ExtendedResponse', (_text, bytes) => {
      const len = berLength(bytes, 1);
      if (!len || bytes.length < len.offset + len.length) return undefined;
      // LDAPMessage { messageID, ExtendedResponse [APPLICATION 24] { resultCode ENUMERATED, ... } }
      const msg = bytes.subarray(len.offset, len.offset + len.length);
      const idLen = msg[1]!;
      const op = msg.subarray(2 + idLen);
      const opLen = berLength(op, 1);
      const result = opLen ? op.subarray(opLen.offset) : Buffer.alloc(0);
      return { value: result[0] === 0x0a ? result[2]! : -1, used: len.offset + len.length };
    });
    if (code !== 0) throw d.refused('StartTLS', `resultCode ${code}`);
  },
  // PostgreSQL protocol: SSLRequest (length 8, code 80877103), answered by one byte 'S' or 'N'.
  async postgres(d) {
    d.send(Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f));
    const answer = await d.until('the SSLRequest answer', (text) =>
      text.length >= 1 ? { value: text[0]!, used: 1 } : undefined,
    );
    if (answer !== 'S') throw d.refused('SSLRequest', answer);
  },
};

/** A BER length at `at`: short or long form. */
function berLength(b: Buffer, at: number): { length: number; offset: number } | undefined {
  if (b.length <= at) return undefined;
  const first = b[at]!;
  if (first < 0x80) return { length: first, offset: at + 1 };
  const n = first & 0x7f;
  if (n === 0 || n > 4 || b.length < at + 1 + n) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + b[at + 1 + i]!;
  return { length, offset: at + 1 + n };
}
