/**
 * The golden transcript format (test/connection/golden/*.txt), one line per step, readable as a ladder:
 *
 *   # comment                 what the session is, how it was recorded
 *   seed: TEXT                the engine's random source (test/support/seeded-random.ts)
 *   time: MS                  the engine's clock (Date.now), for gmt_unix_time
 *   client: {JSON}            the ClientConnection's config
 *   ! start | ! renegotiate   a call on the client engine
 *   ! write HEX               application data the client writes
 *   > HEX                     one record the client sent (header included)
 *   < HEX                     one record the server sent, fed to the client whole
 *   end: SUMMARY              what the client saw (endSummary below)
 */
import type { ClientConfigInput } from '../../../src/connection/client-connection.ts';
import type { ConnectionEvent } from '../../../src/handshake/events.ts';

export type Step =
  | { kind: 'start' | 'renegotiate' }
  | { kind: 'write'; data: Uint8Array }
  | { kind: 'sent' | 'received'; record: Uint8Array };

export interface Transcript {
  comments: string[];
  seed: string;
  time: number;
  client: ClientConfigInput;
  steps: Step[];
  end: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

export function formatTranscript(t: Transcript): string {
  const lines = [
    ...t.comments.map((c) => `# ${c}`),
    `seed: ${t.seed}`,
    `time: ${t.time}`,
    `client: ${JSON.stringify(t.client)}`,
    ...t.steps.map((s) => {
      switch (s.kind) {
        case 'start':
        case 'renegotiate':
          return `! ${s.kind}`;
        case 'write':
          return `! write ${hex(s.data)}`;
        case 'sent':
          return `> ${hex(s.record)}`;
        case 'received':
          return `< ${hex(s.record)}`;
      }
    }),
    `end: ${t.end}`,
  ];
  return lines.join('\n') + '\n';
}

export function parseTranscript(text: string): Transcript {
  const t: Transcript = { comments: [], seed: '', time: 0, client: {}, steps: [], end: '' };
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const [head, ...rest] = line.split(' ');
    const arg = rest.join(' ');
    if (head === '#') t.comments.push(arg);
    else if (head === 'seed:') t.seed = arg;
    else if (head === 'time:') t.time = Number(arg);
    else if (head === 'client:') t.client = JSON.parse(arg) as ClientConfigInput;
    else if (head === 'end:') t.end = arg;
    else if (head === '>') t.steps.push({ kind: 'sent', record: bytes(arg) });
    else if (head === '<') t.steps.push({ kind: 'received', record: bytes(arg) });
    else if (head === '!' && (arg === 'start' || arg === 'renegotiate')) t.steps.push({ kind: arg });
    else if (head === '!' && rest[0] === 'write') t.steps.push({ kind: 'write', data: bytes(rest[1] ?? '') });
    else throw new Error(`line ${i + 1}: cannot read ${JSON.stringify(line.slice(0, 40))}`);
  }
  if (t.seed === '' || t.end === '') throw new Error('a transcript needs seed: and end: lines');
  return t;
}

/** What the client saw, in one line: handshakes completed, refusals, alerts received, the error. */
export function endSummary(events: readonly ConnectionEvent[], error: { kind: string } | undefined): string {
  const handshakes = events.filter((e) => e.type === 'handshake-complete').length;
  const secure = events.flatMap((e) => (e.type === 'handshake-complete' ? [e.summary.secureRenegotiation] : []));
  const alerts = events.flatMap((e) =>
    e.type === 'alert' && e.direction === 'received' ? [`${e.level}/${e.description}`] : [],
  );
  return [
    `handshakes=${handshakes}`,
    `secure=${secure.join(',') || '-'}`,
    `alerts-received=${alerts.join(',') || '-'}`,
    `error=${error?.kind ?? 'none'}`,
  ].join(' ');
}
