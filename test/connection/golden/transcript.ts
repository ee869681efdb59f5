/**
 * The golden transcript format (test/connection/golden/*.txt), one line per step, readable as a
 * ladder whichever side the engine plays:
 *
 *   # comment                 what the session is, how it was recorded
 *   seed: TEXT                the engine's random source (test/support/seeded-random.ts)
 *   time: MS                  the engine's clock (Date.now), for gmt_unix_time and session times
 *   client: {JSON}            the engine is the client: its ClientConnection config
 *   server: {JSON}            the engine is the server: its ServerConnection config, without the
 *                             certificate (always the fixture server-cert.pem, sessions.ts)
 *   ! start                   client.start()
 *   ! renegotiate             client.renegotiate(), or server.requestRenegotiation() (a HelloRequest)
 *   ! write HEX               application data the engine writes
 *   > HEX                     one record the client sent (header included)
 *   < HEX                     one record the server sent
 *   end: SUMMARY              what the engine saw (endSummary below)
 *
 * The peer's records are fed to the engine whole, one receive() each; the engine's are what it
 * must write, byte for byte.
 */
import type { ClientConfigInput } from '../../../src/connection/client-connection.ts';
import type { ServerConfigInput } from '../../../src/connection/server-connection.ts';
import type { ConnectionEvent } from '../../../src/handshake/events.ts';

export type Role = 'client' | 'server';

/** A server config as a transcript holds it: JSON, so no certificate (sessions.ts adds the fixture). */
export type GoldenServerConfig = Omit<ServerConfigInput, 'certificates'>;

/** The side the engine plays, and its config. */
export type GoldenEngine =
  | { readonly role: 'client'; readonly config: ClientConfigInput }
  | { readonly role: 'server'; readonly config: GoldenServerConfig };

export type Step =
  | { kind: 'start' | 'renegotiate' }
  | { kind: 'write'; data: Uint8Array }
  /** One record on the wire, from the client (`>`) or the server (`<`). */
  | { kind: 'record'; from: Role; record: Uint8Array };

export interface Transcript {
  comments: string[];
  seed: string;
  time: number;
  engine: GoldenEngine;
  steps: Step[];
  end: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const ARROW: Record<Role, string> = { client: '>', server: '<' };

export function formatTranscript(t: Transcript): string {
  const lines = [
    ...t.comments.map((c) => `# ${c}`),
    `seed: ${t.seed}`,
    `time: ${t.time}`,
    `${t.engine.role}: ${JSON.stringify(t.engine.config)}`,
    ...t.steps.map((s) => {
      switch (s.kind) {
        case 'start':
        case 'renegotiate':
          return `! ${s.kind}`;
        case 'write':
          return `! write ${hex(s.data)}`;
        case 'record':
          return `${ARROW[s.from]} ${hex(s.record)}`;
      }
    }),
    `end: ${t.end}`,
  ];
  return lines.join('\n') + '\n';
}

export function parseTranscript(text: string): Transcript {
  const t: Omit<Transcript, 'engine'> & { engine: GoldenEngine | undefined } = {
    comments: [],
    seed: '',
    time: 0,
    engine: undefined,
    steps: [],
    end: '',
  };
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const [head, ...rest] = line.split(' ');
    const arg = rest.join(' ');
    if (head === '#') t.comments.push(arg);
    else if (head === 'seed:') t.seed = arg;
    else if (head === 'time:') t.time = Number(arg);
    else if (head === 'client:') t.engine = { role: 'client', config: JSON.parse(arg) as ClientConfigInput };
    else if (head === 'server:') t.engine = { role: 'server', config: JSON.parse(arg) as GoldenServerConfig };
    else if (head === 'end:') t.end = arg;
    else if (head === '>') t.steps.push({ kind: 'record', from: 'client', record: bytes(arg) });
    else if (head === '<') t.steps.push({ kind: 'record', from: 'server', record: bytes(arg) });
    else if (head === '!' && (arg === 'start' || arg === 'renegotiate')) t.steps.push({ kind: arg });
    else if (head === '!' && rest[0] === 'write') t.steps.push({ kind: 'write', data: bytes(rest[1] ?? '') });
    else throw new Error(`line ${i + 1}: cannot read ${JSON.stringify(line.slice(0, 40))}`);
  }
  const { engine } = t;
  if (t.seed === '' || t.end === '' || engine === undefined) {
    throw new Error('a transcript needs seed:, client: or server:, and end: lines');
  }
  return { ...t, engine };
}

/** What the engine made of the peer's renegotiation requests, and of its own. */
function renegotiationOutcomes(events: readonly ConnectionEvent[]): string[] {
  return events.flatMap((e) => {
    // The peer asked (a ClientHello in traffic, or a HelloRequest) and our policy answered.
    if (e.type === 'renegotiation-requested') return [e.accepted ? 'accepted' : 'refused'];
    // We asked, and the peer answered with a no_renegotiation warning.
    if (e.type === 'renegotiation-refused') return ['refused-by-peer'];
    return [];
  });
}

/**
 * What the engine saw, in one line: handshakes completed (and whether each was RFC 5746
 * secure), renegotiation requests and their answers, alerts both ways, application data
 * received, and the error it ended with.
 */
export function endSummary(events: readonly ConnectionEvent[], error: { kind: string } | undefined): string {
  const handshakes = events.filter((e) => e.type === 'handshake-complete').length;
  const secure = events.flatMap((e) => (e.type === 'handshake-complete' ? [e.summary.secureRenegotiation] : []));
  const alerts = (direction: 'received' | 'sent'): string =>
    events
      .flatMap((e) => (e.type === 'alert' && e.direction === direction ? [`${e.level}/${e.description}`] : []))
      .join(',') || '-';
  const dataBytes = events.reduce((n, e) => n + (e.type === 'data' ? e.data.length : 0), 0);
  return [
    `handshakes=${handshakes}`,
    `secure=${secure.join(',') || '-'}`,
    `renegotiation=${renegotiationOutcomes(events).join(',') || '-'}`,
    `alerts-received=${alerts('received')}`,
    `alerts-sent=${alerts('sent')}`,
    `data-received=${dataBytes}`,
    `error=${error?.kind ?? 'none'}`,
  ].join(' ');
}
