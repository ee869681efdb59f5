/**
 * Records the golden transcripts of test/connection/golden/ from real OpenSSL sessions:
 *
 *   npx tsx test/connection/golden/record.ts [NAME…]     (all sessions, or the named ones)
 *
 * For each session it installs the seeded random source and clock (test/support/seeded-random.ts)
 * and runs the engine over TCP on 127.0.0.1 against OpenSSL with the fixture certificate
 * (engine.ts): the client engine against `openssl s_server`, or `openssl s_client` against the
 * server engine. Each record the peer sends is fed to the engine whole, the engine's output is
 * sent after each call, and every record both ways is written to test/connection/golden/NAME.txt.
 * test/connection/golden.test.ts then replays the peer's records into a fresh engine on the same
 * seed and compares its bytes with the file. Rerun it when a change to the engine is meant to
 * change its bytes (or the order in which it draws random numbers), and review the diff of the
 * .txt files.
 */
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConnectionEvent } from '../../../src/handshake/events.ts';
import { RECORD_HEADER_LEN } from '../../../src/wire/record.ts';
import { opensslBinary, startOpensslServer } from '../../peers/openssl-server.ts';
import { startProcess, type PeerProcess } from '../../peers/peer-process.ts';
import { parseRecords, record } from '../../support/records.ts';
import { installSeededRandom } from '../../support/seeded-random.ts';
import { GOLDEN_CERT_FILE, GOLDEN_KEY_FILE, callEngine, createEngine, type GoldenConnection } from './engine.ts';
import { GOLDEN_SESSIONS, type GoldenSession } from './sessions.ts';
import { endSummary, formatTranscript, type Role, type Step } from './transcript.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const HOST = '127.0.0.1';
const WAIT_MS = 5_000;
const SETTLE_MS = 300;
/** What the client writes after the last handshake, and the server answers with. */
const DATA = 'golden\n';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until done() or ms; counts its own steps, since Date.now is the seeded clock meanwhile. */
async function until(done: () => boolean, ms: number): Promise<void> {
  for (let waited = 0; !done() && waited < ms; waited += 20) await sleep(20);
}

/** One recorded session between an engine and its OpenSSL peer, connected by `socket`. */
class Wire {
  readonly steps: Step[] = [];
  readonly events: ConnectionEvent[] = [];
  closed = false;

  constructor(
    readonly engine: GoldenConnection,
    private readonly role: Role,
    private readonly socket: Socket,
  ) {
    const peer: Role = role === 'client' ? 'server' : 'client';
    let inbox = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      inbox = Buffer.concat([inbox, chunk]);
      while (inbox.length >= RECORD_HEADER_LEN) {
        const end = RECORD_HEADER_LEN + inbox.readUInt16BE(3);
        if (inbox.length < end) break;
        const rec = new Uint8Array(inbox.subarray(0, end));
        inbox = inbox.subarray(end);
        this.steps.push({ kind: 'record', from: peer, record: rec });
        this.events.push(...engine.receive(rec));
        this.flush();
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  /** Makes a `!` call on the engine and sends what it wrote. */
  call(step: Exclude<Step, { kind: 'record' }>): void {
    this.steps.push(step);
    this.events.push(...callEngine(this.engine, step));
    this.flush();
  }

  private flush(): void {
    const out = this.engine.takeOutput();
    for (const r of parseRecords(out)) {
      this.steps.push({ kind: 'record', from: this.role, record: record(r.type, r.fragment, r.version) });
    }
    if (out.length > 0 && !this.socket.destroyed) this.socket.write(out);
  }

  handshakes(): number {
    return this.events.filter((e) => e.type === 'handshake-complete').length;
  }

  over(): boolean {
    return this.closed || this.engine.error !== undefined;
  }

  /** Waits until the handshake number `n` completed, a renegotiation was refused either way, or the session ended. */
  async handshakeOrRefusal(n: number): Promise<void> {
    const before = this.events.length;
    const refused = (e: ConnectionEvent): boolean =>
      (e.type === 'renegotiation-requested' && !e.accepted) ||
      e.type === 'renegotiation-refused' ||
      (e.type === 'alert' && e.direction === 'received');
    await until(() => this.handshakes() >= n || this.over() || this.events.slice(before).some(refused), WAIT_MS);
  }

  dataReceived(): number {
    return this.events.reduce((n, e) => n + (e.type === 'data' ? e.data.length : 0), 0);
  }
}

/** The client engine against `openssl s_server`. */
async function recordClientSession(s: GoldenSession): Promise<Wire> {
  if (s.engine.role !== 'client' || s.initiator !== 'engine') throw new Error(`${s.name}: not a client session`);
  const server = await startOpensslServer({
    cert: GOLDEN_CERT_FILE,
    key: GOLDEN_KEY_FILE,
    msg: false,
    args: s.peerArgs,
  });
  const random = installSeededRandom(s.seed, s.time);
  let socket: Socket | undefined;
  try {
    const engine = createEngine(s.engine);
    socket = connect(server.port, server.host);
    const wire = new Wire(engine, 'client', socket);
    await once(socket, 'connect');
    wire.call({ kind: 'start' });
    await until(() => wire.handshakes() >= 1 || wire.over(), WAIT_MS);
    for (let i = 0; i < s.renegotiations && !wire.over(); i++) {
      wire.call({ kind: 'renegotiate' });
      await wire.handshakeOrRefusal(i + 2);
      await sleep(SETTLE_MS);
    }
    if (!wire.over()) {
      wire.call({ kind: 'write', data: new TextEncoder().encode(DATA) });
      await sleep(SETTLE_MS);
    }
    return wire;
  } finally {
    random.restore();
    socket?.destroy();
    await server.stop();
  }
}

/**
 * `openssl s_client` against the server engine. s_client renegotiates when `R` arrives alone on
 * its stdin, answers a HelloRequest as its options allow, sends other lines as data, and ends
 * with close_notify at EOF on stdin (test/peers/openssl-client.ts).
 */
async function recordServerSession(s: GoldenSession): Promise<Wire> {
  if (s.engine.role !== 'server') throw new Error(`${s.name}: not a server session`);
  const listener: Server = createServer();
  listener.listen({ host: HOST, port: 0 });
  await once(listener, 'listening');
  const address = listener.address();
  if (address === null || typeof address === 'string') throw new Error('no port for the listener');
  const random = installSeededRandom(s.seed, s.time);
  let client: PeerProcess | undefined;
  let socket: Socket | undefined;
  try {
    const engine = createEngine(s.engine);
    const accepted = once(listener, 'connection', { signal: AbortSignal.timeout(WAIT_MS) }) as Promise<[Socket]>;
    client = await startProcess({
      name: 'openssl s_client',
      command: opensslBinary(),
      args: ['s_client', '-connect', `${HOST}:${address.port}`, ...s.peerArgs],
      host: HOST,
      port: address.port,
    });
    const peer = client;
    [socket] = await accepted.catch(() => {
      throw new Error(`s_client did not connect within ${WAIT_MS} ms:\n${peer.output()}`);
    });
    const wire = new Wire(engine, 'server', socket);
    await until(() => wire.handshakes() >= 1 || wire.over(), WAIT_MS);
    for (let i = 0; i < s.renegotiations && !wire.over(); i++) {
      if (s.initiator === 'engine') wire.call({ kind: 'renegotiate' });
      else peer.write('R\n');
      await wire.handshakeOrRefusal(i + 2);
      await sleep(SETTLE_MS);
    }
    if (!wire.over()) {
      peer.write(DATA);
      await until(() => wire.dataReceived() >= DATA.length || wire.over(), WAIT_MS);
      wire.call({ kind: 'write', data: new TextEncoder().encode(DATA) });
      await sleep(SETTLE_MS);
      peer.endInput();
      await until(() => wire.over(), WAIT_MS);
      await sleep(SETTLE_MS);
    }
    return wire;
  } finally {
    // Before stopping s_client: its stop waits on Date.now, which must run again.
    random.restore();
    socket?.destroy();
    await client?.stop();
    listener.close();
  }
}

async function recordSession(s: GoldenSession): Promise<string> {
  const wire = s.engine.role === 'client' ? await recordClientSession(s) : await recordServerSession(s);
  const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  const peer = s.engine.role === 'client' ? 's_server' : 's_client';
  return formatTranscript({
    comments: [
      s.description,
      `Recorded against openssl ${[peer, ...s.peerArgs].join(' ')} (${version}) by test/connection/golden/record.ts;`,
      'replayed by test/connection/golden.test.ts. Regenerate: npx tsx test/connection/golden/record.ts ' + s.name,
    ],
    seed: s.seed,
    time: s.time,
    engine: s.engine,
    steps: wire.steps,
    end: endSummary(wire.events, wire.engine.error),
  });
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const sessions = GOLDEN_SESSIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name));
  if (sessions.length === 0) throw new Error(`no session named ${wanted.join(', ')}`);
  for (const s of sessions) {
    const text = await recordSession(s);
    await writeFile(join(HERE, `${s.name}.txt`), text);
    console.log(`${s.name}: ${text.trimEnd().split('\n').at(-1)}`);
  }
}

await main();
