/**
 * Records the golden transcripts of test/connection/golden/ from real OpenSSL sessions:
 *
 *   npx tsx test/connection/golden/record.ts [NAME…]     (all sessions, or the named ones)
 *
 * For each session it starts `openssl s_server` on 127.0.0.1 with a throwaway certificate,
 * installs the seeded random source and clock (test/support/seeded-random.ts), runs the client
 * engine against it over TCP (each received record fed whole, the output sent after each call)
 * and writes every record both ways to test/connection/golden/NAME.txt. test/connection/golden.test.ts then replays the
 * server's records into a client engine on the same seed and compares its bytes with the file.
 * Rerun it when a change to the engine is meant to change its bytes (or the order in which it
 * draws random numbers), and review the diff of the .txt files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ClientConnection } from '../../../src/connection/client-connection.ts';
import type { ConnectionEvent } from '../../../src/handshake/events.ts';
import { createTestPki, writePkiFiles } from '../../../src/pki/throwaway.ts';
import { RECORD_HEADER_LEN } from '../../../src/wire/record.ts';
import { startOpensslServer } from '../../peers/openssl-server.ts';
import { parseRecords, record } from '../../support/records.ts';
import { installSeededRandom } from '../../support/seeded-random.ts';
import { GOLDEN_SESSIONS, type GoldenSession } from './sessions.ts';
import { endSummary, formatTranscript, type Step } from './transcript.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const WAIT_MS = 5_000;
const SETTLE_MS = 300;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; !done() && waited < ms; waited += 20) await sleep(20);
}

async function recordSession(s: GoldenSession, certFile: string, keyFile: string): Promise<string> {
  const server = await startOpensslServer({ cert: certFile, key: keyFile, msg: false, args: s.serverArgs });
  const random = installSeededRandom(s.seed, s.time);
  let socket: Socket | undefined;
  try {
    const client = new ClientConnection(s.client);
    const steps: Step[] = [];
    const events: ConnectionEvent[] = [];
    let closed = false;
    const sock = connect(server.port, server.host);
    socket = sock;
    const flush = (): void => {
      const out = client.takeOutput();
      for (const r of parseRecords(out)) steps.push({ kind: 'sent', record: record(r.type, r.fragment, r.version) });
      if (out.length > 0 && !sock.destroyed) sock.write(out);
    };
    let inbox = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      inbox = Buffer.concat([inbox, chunk]);
      while (inbox.length >= RECORD_HEADER_LEN) {
        const end = RECORD_HEADER_LEN + inbox.readUInt16BE(3);
        if (inbox.length < end) break;
        const rec = new Uint8Array(inbox.subarray(0, end));
        inbox = inbox.subarray(end);
        steps.push({ kind: 'received', record: rec });
        events.push(...client.receive(rec));
        flush();
      }
    });
    sock.on('close', () => (closed = true));
    sock.on('error', () => (closed = true));
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const handshakes = (): number => events.filter((e) => e.type === 'handshake-complete').length;
    const over = (): boolean => closed || client.error !== undefined;
    steps.push({ kind: 'start' });
    events.push(...client.start());
    flush();
    await until(() => handshakes() >= 1 || over(), WAIT_MS);
    for (let i = 0; i < s.renegotiations && !over(); i++) {
      const before = events.length;
      steps.push({ kind: 'renegotiate' });
      events.push(...client.renegotiate());
      flush();
      await until(
        () =>
          handshakes() >= i + 2 ||
          over() ||
          events.slice(before).some((e) => e.type === 'alert' && e.direction === 'received'),
        WAIT_MS,
      );
      await sleep(SETTLE_MS);
    }
    if (!over()) {
      const data = new TextEncoder().encode('golden\n');
      steps.push({ kind: 'write', data });
      client.write(data);
      flush();
      await sleep(SETTLE_MS);
    }
    const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
    return formatTranscript({
      comments: [
        s.description,
        `Recorded against openssl ${['s_server', ...s.serverArgs].join(' ')} (${version}) by test/connection/golden/record.ts;`,
        'replayed by test/connection/golden.test.ts. Regenerate: npx tsx test/connection/golden/record.ts ' + s.name,
      ],
      seed: s.seed,
      time: s.time,
      client: s.client,
      steps,
      end: endSummary(events, client.error),
    });
  } finally {
    random.restore();
    socket?.destroy();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const sessions = GOLDEN_SESSIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name));
  if (sessions.length === 0) throw new Error(`no session named ${wanted.join(', ')}`);
  const dir = await mkdtemp(join(tmpdir(), 'renego-golden-'));
  try {
    const files = await writePkiFiles(dir, await createTestPki({ keyType: 'rsa' }));
    for (const s of sessions) {
      const text = await recordSession(s, files.serverCert, files.serverKey);
      await writeFile(join(HERE, `${s.name}.txt`), text);
      console.log(`${s.name}: ${text.trimEnd().split('\n').at(-1)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
