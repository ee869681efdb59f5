/**
 * Low-level record access for a tool that stands between two TLS peers and relays their records
 * itself: the lab's man-in-the-middle of CVE-2009-3555 (src/lab/attacker.ts). It exposes four
 * verbs and nothing of the engine's record layer, deframer or handshake joiner:
 *
 * - cut a peer's byte stream into whole records as they are on the wire (`WireRecords`);
 * - hold back a peer's first handshake message, with the records it came in, before anything is
 *   sent on (`holdHandshakeMessage`: the ClientHello the attacker splices in later);
 * - take over the record layer of a live connection this process negotiated, keys in force
 *   (`takeOverSession`): inject a record under its current write keys, open the peer's records
 *   with its current read keys, and pass records on unread after a key change it does not share;
 * - write a record back as bytes (`encodeRecord`).
 *
 * Why a module of its own: the engine's classes keep invariants (a connection is dead once its
 * record layer is detached, the deframer's and joiner's memory bounds, when keys switch) that a
 * relay must not break, and their shape changes with the engine. A relay needs only these verbs,
 * so the lab depends on this file alone and the engine stays free to change behind it.
 */
import type * as net from 'node:net';
import type { PlainRecord } from '../connection/record-layer.ts';
import { Deframer, HandshakeJoiner, encodeRecord, type Record } from '../wire/record.ts';
import type { RenegoSocket } from './tls-socket.ts';

/** A record as it is on the wire: header fields and the fragment, protected or not. */
export type WireRecord = Record;

/** A record opened with the session's read keys; `wireLength` is its length on the wire. */
export type OpenedRecord = PlainRecord;

/**
 * A peer's byte stream cut into whole records, unopened. Holds at most one incomplete record
 * (5 + 2^14 + 2048 bytes, RFC 5246 §6.2.3); bytes that are not TLS records throw a TlsError.
 */
export class WireRecords {
  private readonly deframer = new Deframer();

  push(bytes: Uint8Array): void {
    this.deframer.push(bytes);
  }

  /** The next whole record, or undefined until more bytes come. */
  next(): WireRecord | undefined {
    return this.deframer.next();
  }
}

/** A record's bytes on the wire: its 5-byte header (RFC 5246 §6.2.1), then the fragment. */
export { encodeRecord };

/** The most a held handshake message may announce: a ClientHello is far smaller (RFC 5246 §7.4.1.2). */
const MAX_HELD_MESSAGE = 64 * 1024;

/**
 * Reads the peer's plaintext handshake records from `socket` into `records` until they hold one
 * whole handshake message (a ClientHello, possibly split across records), then stops reading:
 * the socket is paused and its `data` listener removed, so the message and anything behind it
 * wait until the caller resumes the socket. Resolves with the message and the records it came
 * in (to pass on as they were), or undefined when the peer closes first; rejects on bytes that
 * are not TLS records or a message announced over 64 KiB.
 */
export function holdHandshakeMessage(
  socket: net.Socket,
  records: WireRecords,
): Promise<{ message: Uint8Array; records: WireRecord[] } | undefined> {
  const held: WireRecord[] = [];
  const joiner = new HandshakeJoiner(MAX_HELD_MESSAGE);
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      try {
        records.push(d);
        for (let r = records.next(); r; r = records.next()) {
          held.push(r);
          joiner.push(r.fragment);
          const message = joiner.next();
          if (message) {
            socket.off('data', onData);
            socket.pause();
            return resolve({ message, records: held });
          }
        }
      } catch (e) {
        reject(e as Error);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(undefined));
  });
}

/**
 * The record layer of a connection this process negotiated, taken over from its RenegoSocket:
 * the socket emits nothing more, and the caller reads `socket` and writes what `flush` returns.
 */
export interface SessionRelay {
  /** The TCP socket to the session's peer. */
  readonly socket: net.Socket;
  /** Seals one record (split at 2^14) under the session's current write keys and queues it. */
  inject(type: number, data: Uint8Array): void;
  /** Queues a record as it is, unread: one protected under keys this relay does not hold. */
  passOn(record: WireRecord): void;
  /** Writes what is queued to the socket, if anything. */
  flush(): void;
  /** Bytes from the peer, to be read with open() or nextUnopened(). */
  receive(bytes: Uint8Array): void;
  /** The peer's next record opened with the session's current read keys (bad_record_mac if it cannot be). */
  open(): OpenedRecord | undefined;
  /** The peer's next record as it is on the wire, unopened. */
  nextUnopened(): WireRecord | undefined;
}

/**
 * Takes the session's socket and record layer over (`RenegoSocket.takeOver`): its handshake
 * machine stops, and from here the keys in force are used only through the returned relay.
 */
export function takeOverSession(session: RenegoSocket): SessionRelay {
  const { socket, records } = session.takeOver();
  return {
    socket,
    inject: (type, data) => records.writeRecord(type, data),
    passOn: (record) => records.writeRaw(encodeRecord(record)),
    flush: () => {
      const out = records.takeOutput();
      if (out.length > 0) socket.write(out);
    },
    receive: (bytes) => records.receive(bytes),
    open: () => records.nextRecord(),
    nextUnopened: () => records.nextRawRecord(),
  };
}
