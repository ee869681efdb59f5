/**
 * One evasion session: a client engine and a server engine (the real ones, sans-I/O) talking
 * through a RenegotiationWatch in memory. The relay cuts each engine's output into chunks, feeds
 * them to the watch and hands what it forwards to the other engine, which decrypts it: what the
 * recipients report ('handshake-message' events) is what got past the guard.
 */
import { join } from '../../support/bytes.ts';
import { pump } from '../../support/engine-pair.ts';
import { ClientConnection, type ClientConfigInput } from '../../../src/connection/client-connection.ts';
import {
  ServerConnection,
  createServerContext,
  type ServerContext,
} from '../../../src/connection/server-connection.ts';
import type { RecordLayer } from '../../../src/connection/record-layer.ts';
import type { Block, GuardEvent, Side } from '../../../src/guard/events.ts';
import { judgeFor, type GuardPolicy } from '../../../src/guard/policy.ts';
import { RenegotiationWatch } from '../../../src/guard/watch.ts';
import type { ClientSession } from '../../../src/handshake/client-config.ts';
import type { ServerCertificate } from '../../../src/pki/credentials.ts';
import type { ConnectionEvent } from '../../../src/handshake/events.ts';
import { HandshakeType } from '../../../src/wire/enums.ts';
import { Sender, type Activity, type Sent } from './layout.ts';
import type { Plan } from './plan.ts';
import { Prng } from './prng.ts';

export interface Fixtures {
  readonly certificate: ServerCertificate;
}

/** A Block as the lead's watch reports it: `evidence` says a record's length, not its header, decided. */
export type EvidenceBlock = Block & { readonly evidence?: string };

export interface Outcome {
  readonly plan: Plan;
  readonly block: EvidenceBlock | undefined;
  /** The side whose bytes the watch was reading when it blocked. */
  readonly blockedWhileReading: Side | undefined;
  /** The hidden message was sealed before the block. */
  readonly blockAfterHidden: boolean;
  readonly hiddenSent: boolean;
  /** ClientHellos the client sent (the initial first) and those the server decrypted, in order. */
  readonly clientHellosSent: readonly Sent[];
  readonly clientHellosReceived: readonly Uint8Array[];
  /** HelloRequests the server sent and those the client decrypted, in order. */
  readonly helloRequestsSent: readonly Sent[];
  readonly helloRequestsReceived: readonly Uint8Array[];
  readonly dataSent: Record<Side, Uint8Array>;
  /** What each side sent, as the other decrypted it. */
  readonly dataReceived: Record<Side, Uint8Array>;
  /** Renegotiations the script started on the guarded connection. */
  readonly renegotiationsStarted: number;
  readonly handshakesCompleted: Record<Side, number>;
  readonly errors: Record<Side, string | undefined>;
  readonly guardEvents: readonly GuardEvent[];
  /** What each side's engine sent, in the order the watch was fed (the fuzzer's seed corpus). */
  readonly transcript: readonly (readonly [Side, Uint8Array])[];
}

const NO_LIMIT = { count: 0, windowMs: 0 };
const MAX_PUMP_ROUNDS = 200;

class EvasionClient extends ClientConnection {
  get recordLayer(): RecordLayer {
    return this.records;
  }
}

class EvasionServer extends ServerConnection {
  get recordLayer(): RecordLayer {
    return this.records;
  }
}

function serverContext(plan: Plan, fx: Fixtures): ServerContext {
  return createServerContext({
    certificates: [fx.certificate],
    cipherSuites: [plan.suite],
    sessionCache: plan.resumption !== 'ticket',
    sessionTickets: plan.resumption !== 'session-id',
    // The endpoints accept every renegotiation: whether it happens is the guard's decision alone.
    renegotiation: {
      enabled: true,
      allowClientInitiated: true,
      rfc5746: plan.serverRfc5746,
      allowUnsafeLegacy: true,
      refuseWith: 'warning',
      clientLimit: NO_LIMIT,
    },
  });
}

function clientConfig(plan: Plan, session: ClientSession | undefined): ClientConfigInput {
  return {
    serverName: 'localhost',
    // The chain is the engine's business, not the guard's: skipping its verification halves the run.
    insecure: true,
    minVersion: plan.version,
    maxVersion: plan.version,
    cipherSuites: [plan.suite],
    sessionTickets: plan.resumption !== 'session-id',
    session,
    observe: true,
    renegotiation: {
      accept: 'freely',
      allowLegacyServer: true,
      allowUnsafeLegacyRenegotiation: true,
      signal: plan.clientSignal,
      serverCertificateChange: 'allow',
    },
  };
}

/** A first connection, straight (no guard), for the session the guarded one resumes. */
function firstSession(plan: Plan, ctx: ServerContext): ClientSession {
  const client = new ClientConnection({ ...clientConfig(plan, undefined), observe: false });
  const events = [...client.start(), ...pump(client, new ServerConnection(ctx)).client];
  const session = events.flatMap((e) => (e.type === 'session' ? [e.session] : [])).at(-1);
  if (session === undefined) throw new Error(`seed ${plan.seed}: the first connection gave no session`);
  return session;
}

export function runSession(plan: Plan, fx: Fixtures, policy: GuardPolicy): Outcome {
  return new GuardedSession(plan, fx, policy).run();
}

class GuardedSession {
  private readonly rng: Prng;
  private readonly ctx: ServerContext;
  private readonly client: EvasionClient;
  private readonly server: EvasionServer;
  private readonly senders: Record<Side, Sender>;
  private readonly watch: RenegotiationWatch;
  private readonly events: Record<Side, ConnectionEvent[]> = { client: [], server: [] };
  private readonly guardEvents: GuardEvent[] = [];
  private readonly transcript: [Side, Uint8Array][] = [];
  private readonly written: Record<Side, Uint8Array[]> = { client: [], server: [] };
  private block: EvidenceBlock | undefined;
  private blockedWhileReading: Side | undefined;
  private blockAfterHidden = false;
  private renegotiationsStarted = 0;

  constructor(
    private readonly plan: Plan,
    fx: Fixtures,
    policy: GuardPolicy,
  ) {
    // One stream for the plan (plan.ts), another for the run: layouts, chunking, hidden messages.
    this.rng = new Prng(plan.seed ^ 0x5bd1e995);
    this.ctx = serverContext(plan, fx);
    const session = plan.resumption === 'none' ? undefined : firstSession(plan, this.ctx);
    this.client = new EvasionClient(clientConfig(plan, session));
    this.server = new EvasionServer(this.ctx, { observe: true });
    this.senders = {
      client: new Sender('client', plan, this.rng.fork()),
      server: new Sender('server', plan, this.rng.fork()),
    };
    this.client.recordLayer.layout = this.senders.client.layout;
    this.server.recordLayer.layout = this.senders.server.layout;
    this.watch = new RenegotiationWatch(judgeFor(policy, undefined, '127.0.0.1'));
  }

  run(): Outcome {
    this.call('client', 'start', () => this.client.start());
    this.pump();
    for (const step of this.plan.steps) {
      if (this.stopped) break;
      if (step.kind === 'data') {
        const data = this.rng.bytes(step.length);
        this.written[step.from].push(data);
        this.call(step.from, 'write', () => {
          this.engine(step.from).write(data);
          return [];
        });
        if (step.pumpAfter) this.pump();
        continue;
      }
      // Application data not yet pumped goes out in one chunk with the renegotiation's first record.
      if (this.handshaking) this.pump();
      if (this.stopped || this.handshaking) break;
      this.renegotiationsStarted++;
      if (step.initiator === 'client') this.call('client', 'renegotiate', () => this.client.renegotiate());
      else this.call('server', 'renegotiate', () => this.server.requestRenegotiation());
      this.pump();
    }
    this.pump();
    return this.outcome();
  }

  private get handshaking(): boolean {
    return this.client.isHandshaking || this.server.isHandshaking || this.server.awaitingRenegotiation;
  }

  /** Blocked, an engine failed, or the hidden message went out: the script stops there. */
  private get stopped(): boolean {
    return (
      this.block !== undefined ||
      this.client.error !== undefined ||
      this.server.error !== undefined ||
      this.senders.client.hiddenSent ||
      this.senders.server.hiddenSent
    );
  }

  private engine(side: Side): ClientConnection | ServerConnection {
    return side === 'client' ? this.client : this.server;
  }

  private call(side: Side, activity: Activity, fn: () => ConnectionEvent[]): void {
    const sender = this.senders[side];
    sender.activity = activity;
    try {
      this.events[side].push(...fn(), ...this.engine(side).drainEvents());
    } finally {
      sender.activity = 'receive';
    }
  }

  private pump(): void {
    for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
      if (this.block !== undefined) return;
      const up = this.client.takeOutput();
      const down = this.server.takeOutput();
      if (up.length === 0 && down.length === 0) return;
      this.relay('client', up);
      this.relay('server', down);
    }
    throw new Error(`seed ${this.plan.seed}: no quiescence after ${MAX_PUMP_ROUNDS} rounds`);
  }

  /** Feeds one engine's output to the watch in chunks; the recipient decrypts what is forwarded. */
  private relay(from: Side, bytes: Uint8Array): void {
    if (bytes.length === 0 || this.block !== undefined) return;
    this.transcript.push([from, bytes]);
    const forwarded: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const n = Number.isFinite(this.plan.maxChunk) ? this.rng.int(1, this.plan.maxChunk) : bytes.length;
      const verdict = this.watch.feed(from, bytes.subarray(at, at + n));
      at += n;
      forwarded.push(...verdict.forward);
      this.guardEvents.push(...verdict.events);
      if (verdict.block !== undefined) {
        this.block = verdict.block;
        this.blockedWhileReading = from;
        this.blockAfterHidden = this.senders.client.hiddenSent || this.senders.server.hiddenSent;
        break;
      }
    }
    if (forwarded.length === 0) return;
    const to: Side = from === 'client' ? 'server' : 'client';
    this.call(to, 'receive', () => this.engine(to).receive(join(forwarded)));
  }

  private outcome(): Outcome {
    const messages = (side: Side, type: number): Uint8Array[] =>
      this.events[side].flatMap((e) =>
        e.type === 'handshake-message' && e.direction === 'in' && e.message.type === type ? [e.raw] : [],
      );
    const data = (side: Side): Uint8Array =>
      join(this.events[side].flatMap((e) => (e.type === 'data' ? [e.data] : [])));
    const completed = (side: Side): number => this.events[side].filter((e) => e.type === 'handshake-complete').length;
    return {
      plan: this.plan,
      block: this.block,
      blockedWhileReading: this.blockedWhileReading,
      blockAfterHidden: this.blockAfterHidden,
      hiddenSent: this.senders.client.hiddenSent || this.senders.server.hiddenSent,
      clientHellosSent: this.senders.client.messages,
      clientHellosReceived: messages('server', HandshakeType.client_hello),
      helloRequestsSent: this.senders.server.messages,
      helloRequestsReceived: messages('client', HandshakeType.hello_request),
      dataSent: { client: join(this.written.client), server: join(this.written.server) },
      dataReceived: { client: data('server'), server: data('client') },
      renegotiationsStarted: this.renegotiationsStarted,
      handshakesCompleted: { client: completed('client'), server: completed('server') },
      errors: { client: this.client.error?.message, server: this.server.error?.message },
      guardEvents: this.guardEvents,
      transcript: this.transcript,
    };
  }
}
