/**
 * The server side of each STARTTLS dialogue renego scan speaks, followed by a real
 * node:tls server socket (TLS 1.2, no renegotiation limit: a bare TLSSocket has none of
 * tls.Server's CLIENT_RENEG_LIMIT). The dialogues follow the RFCs the scanner cites; the
 * tests check each one against `openssl s_client -starttls PROTO` too, an independent
 * client implementation, before trusting it to judge ours.
 *
 * After the handshake every chunk the client sends is answered with one protocol-shaped
 * "OK" line, so the scanner's nudges (NOOP and the like) get an answer.
 */
import { listenLocal } from './local-server.ts';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { StartTlsProtocol } from '../../src/scan/types.ts';
import type { TestPki } from '../../src/pki/throwaway.ts';

/** Reads what the client sends and decides when to switch to TLS: returns the bytes that say "go ahead". */
type Dialogue = (input: Buffer, send: (s: string | Uint8Array) => void) => { consumed: number; goAhead?: Uint8Array };

const line = (input: Buffer): string | undefined => {
  const i = input.indexOf('\r\n');
  return i < 0 ? undefined : input.subarray(0, i).toString('latin1');
};

const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Line protocols: `answer` maps a command line to a reply, or to STARTTLS's go-ahead. */
function lineDialogue(answer: (l: string) => { reply?: string; goAhead?: string }): Dialogue {
  return (input, send) => {
    const l = line(input);
    if (l === undefined) return { consumed: 0 };
    const a = answer(l);
    if (a.reply) send(a.reply);
    return { consumed: l.length + 2, ...(a.goAhead ? { goAhead: text(a.goAhead) } : {}) };
  };
}

const SERVERS: Readonly<Record<StartTlsProtocol, { greeting?: string; dialogue: Dialogue; ok: string }>> = {
  // RFC 3207
  smtp: {
    greeting: '220 smtp.test ESMTP ready\r\n',
    dialogue: lineDialogue((l) =>
      /^(EHLO|HELO) /i.test(l)
        ? { reply: '250-smtp.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n' }
        : /^STARTTLS$/i.test(l)
          ? { goAhead: '220 2.0.0 Ready to start TLS\r\n' }
          : { reply: '502 5.5.1 not here\r\n' },
    ),
    ok: '250 OK\r\n',
  },
  // RFC 3501 §6.1.1, §6.2.1 (s_client asks for CAPABILITY first)
  imap: {
    greeting: '* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] imap.test ready\r\n',
    dialogue: lineDialogue((l) => {
      const [tag, command] = l.split(' ');
      if (/^CAPABILITY$/i.test(command ?? ''))
        return { reply: `* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n${tag} OK CAPABILITY completed\r\n` };
      if (/^STARTTLS$/i.test(command ?? '')) return { goAhead: `${tag} OK Begin TLS negotiation now\r\n` };
      return { reply: `${tag} BAD not here\r\n` };
    }),
    ok: '* OK still here\r\n',
  },
  // RFC 2595 §4
  pop3: {
    greeting: '+OK pop3.test ready\r\n',
    dialogue: lineDialogue((l) =>
      /^STLS$/i.test(l)
        ? { goAhead: '+OK Begin TLS negotiation\r\n' }
        : /^CAPA$/i.test(l)
          ? { reply: '+OK\r\nSTLS\r\n.\r\n' }
          : { reply: '-ERR not here\r\n' },
    ),
    ok: '+OK\r\n',
  },
  // RFC 4217 §4
  ftp: {
    greeting: '220-ftp.test\r\n220 ready\r\n',
    dialogue: lineDialogue((l) =>
      /^AUTH TLS$/i.test(l) ? { goAhead: '234 AUTH TLS successful\r\n' } : { reply: '502 not here\r\n' },
    ),
    ok: '200 OK\r\n',
  },
  // RFC 6120 §5.4: the client opens the stream; features offer starttls; <proceed/>.
  xmpp: {
    dialogue: (input, send) => {
      const s = input.toString('latin1');
      const open = /<stream:stream[^>]*>/.exec(s);
      if (open) {
        send(
          "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'" +
            " id='t1' from='localhost' version='1.0'><stream:features>" +
            "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
        );
        return { consumed: open.index + open[0].length };
      }
      const starttls = /<starttls[^>]*\/>/.exec(s);
      if (starttls)
        return {
          consumed: starttls.index + starttls[0].length,
          goAhead: text("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        };
      // The XML declaration and anything else: wait for a complete element.
      const decl = /^<\?xml[^>]*\?>/.exec(s);
      return { consumed: decl ? decl[0].length : 0 };
    },
    ok: ' ',
  },
  // RFC 4511 §4.14.1: ExtendedRequest (StartTLS OID) → ExtendedResponse, resultCode success, same messageID.
  ldap: {
    dialogue: (input) => {
      if (input.length < 2 || input[0] !== 0x30 || input.length < 2 + input[1]!) return { consumed: 0 };
      const id = input[2] === 0x02 && input[3] === 1 ? input[4]! : 1;
      const response = Uint8Array.of(0x30, 0x0c, 0x02, 0x01, id, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00);
      return { consumed: 2 + input[1]!, goAhead: response };
    },
    ok: '',
  },
  // PostgreSQL frontend/backend protocol: SSLRequest (8 bytes) → 'S'.
  postgres: {
    dialogue: (input) => (input.length < 8 ? { consumed: 0 } : { consumed: 8, goAhead: text('S') }),
    ok: '',
  },
};

/** A STARTTLS server for `protocol` on an ephemeral port of 127.0.0.1; `close()` ends every connection. */
export async function startStartTlsServer(
  protocol: StartTlsProtocol,
  pki: TestPki,
): Promise<{ port: number; close: () => Promise<void> }> {
  const spec = SERVERS[protocol];
  const context = tls.createSecureContext({ cert: pki.server.chainPem, key: pki.server.keyPem, maxVersion: 'TLSv1.2' });
  const server = net.createServer((raw) => {
    raw.on('error', () => undefined);
    if (spec.greeting) raw.write(spec.greeting);
    let input: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      input = Buffer.concat([input, d]);
      for (;;) {
        const step = spec.dialogue(input, (s) => raw.write(s));
        input = input.subarray(step.consumed);
        if (step.goAhead) {
          raw.off('data', onData);
          raw.write(step.goAhead, () => {
            const s = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
            s.on('error', () => s.destroy());
            s.on('data', () => spec.ok && s.write(spec.ok));
          });
          return;
        }
        if (step.consumed === 0) return;
      }
    };
    raw.on('data', onData);
  });
  const { port, close } = await listenLocal(server);
  return { port, close };
}
