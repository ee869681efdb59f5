/**
 * `renego guard --transparent` on a real kernel: the nftables ruleset it installs, inside network
 * namespaces this test creates (test/peers/netns.ts), with real openssl s_server, s_client and
 * curl on either side of a veth pair and the guard running in one of the namespaces. Nothing is
 * installed in the machine's own namespace. Skipped, saying why, without root, nft or netns.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parsePorts, ruleset, RulesetError, type InterceptOptions } from '../../src/guard/nft-ruleset.ts';
import { createNetnsPair, netnsSkipReason, SERVER_ADDRESS, SERVER_ADDRESS6, type NetnsPair } from '../peers/netns.ts';
import { startOpensslServer, type OpensslServer } from '../peers/openssl-server.ts';
import { runOpensslClient, type OpensslClientResult } from '../peers/openssl-client.ts';
import { startProcess, type PeerProcess } from '../peers/peer-process.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = [process.execPath, '--import', 'tsx', join(projectDir, 'src/cli/main.ts')];
/** The group the guard runs as in these tests: a number no account on a test machine uses. */
const GUARD_GID = 39871;

const BASE: InterceptOptions = {
  ports: [443, 8443],
  direction: 'both',
  guardPort: 15001,
  gid: GUARD_GID,
  failOpen: false,
};

describe('the interception ruleset', () => {
  test('outbound lets the guard group through before redirecting, inbound only takes local destinations', () => {
    const text = ruleset(BASE);
    assert.match(text, /^table inet renego_guard \{$/m);
    assert.match(text, /elements = \{ 443, 8443 \}/);
    const outbound = text.slice(text.indexOf('chain outbound'));
    assert.ok(outbound.indexOf(`meta skgid ${GUARD_GID} return`) < outbound.indexOf('redirect to :15001'));
    assert.match(text, /hook prerouting[^\n]*\n\s*fib daddr type local tcp dport @ports redirect to :15001/);
    assert.doesNotMatch(text, /@alive/);
  });

  test('one direction has one chain', () => {
    assert.doesNotMatch(ruleset({ ...BASE, direction: 'inbound', gid: undefined }), /chain outbound/);
    assert.doesNotMatch(ruleset({ ...BASE, direction: 'outbound' }), /chain inbound/);
  });

  test('fail-open redirects only while the heartbeat set holds tcp', () => {
    const text = ruleset({ ...BASE, failOpen: true });
    assert.match(text, /set alive \{\s*type inet_proto\s*flags timeout\s*\}/);
    assert.equal(text.match(/meta l4proto @alive redirect/g)?.length, 2);
  });

  test('refuses what would loop or intercept nothing', () => {
    assert.throws(() => ruleset({ ...BASE, gid: undefined }), RulesetError);
    assert.throws(() => ruleset({ ...BASE, ports: [15001] }), /guard's own port/);
    assert.throws(() => ruleset({ ...BASE, ports: [] }), /no port/);
    assert.throws(() => ruleset({ ...BASE, gid: 0 }), /--gid/);
    assert.deepEqual(parsePorts('443, 993,8443'), [443, 993, 8443]);
    assert.throws(() => parsePorts('443,443'), /twice/);
    assert.throws(() => parsePorts('70000'), /not a TCP port/);
    assert.throws(() => parsePorts('https'), /not a TCP port/);
  });
});

const skip = netnsSkipReason();

describe('install and uninstall in a namespace', { skip }, () => {
  let pair: NetnsPair;
  before(async () => {
    pair = await createNetnsPair();
  });
  after(async () => {
    await pair?.remove();
  });

  const renego = (args: string[]) => pair.exec(pair.server, [...CLI, ...args], { timeoutMs: 30_000 });
  const listRuleset = async (): Promise<string> => (await pair.exec(pair.server, ['nft', 'list', 'ruleset'])).stdout;

  test('uninstall leaves the ruleset exactly as it was before install, other tables untouched', async () => {
    // Someone else's table, with a rule and a set, that must survive byte for byte.
    const other = [
      'table inet site {',
      '  set blocked { type ipv4_addr; elements = { 198.18.0.99 } }',
      '  chain input { type filter hook input priority 0; policy accept; ip saddr @blocked drop; }',
      '}',
    ].join('\n');
    const setup = await pair.exec(pair.server, ['nft', '-f', '-'], { stdin: other });
    assert.equal(setup.code, 0, setup.stderr);
    const before = await listRuleset();
    assert.match(before, /table inet site/);

    const installed = await renego([
      'guard',
      'transparent',
      'install',
      '--ports',
      '443,8443',
      '--gid',
      String(GUARD_GID),
      '--fail-open',
    ]);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /installed table inet renego_guard: both TCP ports 443,8443/);
    const during = await listRuleset();
    assert.match(during, /table inet renego_guard/);
    assert.ok(during.includes(before.trim().split('\n')[0]!));

    // A second install replaces the first (one table, the new ports).
    const again = await renego(['guard', 'transparent', 'install', '--ports', '993', '--direction', 'inbound']);
    assert.equal(again.code, 0, again.stderr);
    const replaced = await listRuleset();
    assert.equal(replaced.match(/table inet renego_guard/g)?.length, 1);
    assert.match(replaced, /elements = \{ 993 \}/);
    assert.doesNotMatch(replaced, /chain outbound/);

    const removed = await renego(['guard', 'transparent', 'uninstall']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await listRuleset(), before);

    const none = await renego(['guard', 'transparent', 'uninstall']);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /not installed: nothing to remove/);
    assert.equal(await listRuleset(), before);
  });

  test('dry run prints the script and changes nothing; a bad option changes nothing either', async () => {
    const before = await listRuleset();
    const dry = await renego(['guard', 'transparent', 'install', '--ports', '443', '--gid', '7', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^table inet renego_guard\ndelete table inet renego_guard\ntable inet renego_guard \{/);
    const bad = await renego(['guard', 'transparent', 'install', '--ports', '443', '--direction', 'outbound']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^renego guard: --direction outbound intercepts .* give --gid/);
    assert.equal(await listRuleset(), before);
  });
});

// --- end to end: real peers on either side of the veth pair, the guard in one namespace --------

const GUARD_PORT = 15001;
/** s_server in echo mode, renegotiation allowed in every way (client-initiated, legacy). */
const ECHO_PORT = 4433;
/** A second echo server, for the per-destination rules. */
const ECHO_PORT_2 = 4434;
/** s_server -WWW serving files, for curl. */
const WWW_PORT = 8443;
const PORTS = `${ECHO_PORT},${ECHO_PORT_2},${WWW_PORT}`;
const WAIT_MS = 15_000;
const BLOB = 'blob.bin';

const env = useTempPki('renego-transparent-', 'ecdsa', async (e) => {
  await writeFile(join(e.dir, BLOB), randomBytes(300_000));
});

describe('the transparent guard between two namespaces', { skip }, () => {
  let pair: NetnsPair;
  let pristine: string;
  const servers: OpensslServer[] = [];
  let echo: OpensslServer;
  let echo2: OpensslServer;
  const guards: PeerProcess[] = [];

  before(async () => {
    pair = await createNetnsPair();
    pristine = (await pair.exec(pair.server, ['nft', 'list', 'ruleset'])).stdout;
    const common = { cert: env.files.serverCert, key: env.files.serverKey, prefix: pair.prefix(pair.server) };
    const renegotiating = ['-client_renegotiation', '-legacy_renegotiation'];
    echo = await startOpensslServer({ ...common, host: SERVER_ADDRESS, port: ECHO_PORT, args: renegotiating });
    echo2 = await startOpensslServer({ ...common, host: SERVER_ADDRESS, port: ECHO_PORT_2, args: renegotiating });
    servers.push(echo, echo2);
    // -WWW serves files from its working directory (s_server's [::] is IPv6 only: one per family).
    for (const host of [SERVER_ADDRESS, SERVER_ADDRESS6])
      servers.push(
        await startOpensslServer({ ...common, host, port: WWW_PORT, msg: false, args: ['-WWW'], cwd: env.dir }),
      );
  });
  after(async () => {
    await Promise.all([...guards, ...servers].map((p) => p.stop()));
    await pair?.remove();
  });

  const renego = (ns: string, args: string[]) => pair.exec(ns, [...CLI, ...args], { timeoutMs: 30_000 });

  async function install(ns: string, args: string[]): Promise<void> {
    const r = await renego(ns, [
      'guard',
      'transparent',
      'install',
      '--ports',
      PORTS,
      '--gid',
      String(GUARD_GID),
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }

  async function uninstall(ns: string): Promise<void> {
    const r = await renego(ns, ['guard', 'transparent', 'uninstall']);
    assert.equal(r.code, 0, r.stderr);
  }

  /** `renego guard --transparent` in a namespace, ready once it runs as its own group. */
  async function startGuardIn(ns: string, args: string[], ready = /"msg":"running as group"/): Promise<PeerProcess> {
    const guard = await startProcess({
      name: 'renego guard',
      command: 'ip',
      args: [
        'netns',
        'exec',
        ns,
        ...CLI,
        'guard',
        '--transparent',
        '--listen',
        `[::]:${GUARD_PORT}`,
        '--gid',
        String(GUARD_GID),
        '--drain-timeout',
        '10s',
        ...args,
      ],
      host: '::',
      port: GUARD_PORT,
      cwd: projectDir,
    });
    guards.push(guard);
    await guard.waitForOutput(ready, WAIT_MS);
    return guard;
  }

  function logLines(guard: PeerProcess): Record<string, unknown>[] {
    return guard
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** The guard's log lines once it has written n with this message (a blocked connection lingers up to 2 s). */
  async function linesWhen(guard: PeerProcess, msg: string, n: number): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const lines = logLines(guard).filter((l) => l['msg'] === msg);
      if (lines.length >= n || Date.now() > deadline) return lines;
      await sleep(100);
    }
  }

  async function curl(host: string): Promise<{ code: number | null; body: Buffer | undefined }> {
    const out = join(env.dir, `got-${randomBytes(4).toString('hex')}`);
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${WWW_PORT}/${BLOB}`;
    const r = await pair.exec(pair.client, ['curl', '-sk', '--max-time', '5', '-o', out, url], { timeoutMs: 10_000 });
    const body = r.code === 0 ? await readFile(out) : undefined;
    return { code: r.code, body };
  }

  async function blob(): Promise<Buffer> {
    return readFile(join(env.dir, BLOB));
  }

  /** s_client from the client namespace: a line, a client-initiated renegotiation (R), a line. */
  async function clientRenegotiates(port: number): Promise<{ result: OpensslClientResult; hellos: number }> {
    const server = port === ECHO_PORT ? echo : echo2;
    const before = server.countClientHellos();
    const result = await runOpensslClient({
      prefix: pair.prefix(pair.client),
      host: SERVER_ADDRESS,
      port,
      args: ['-tls1_2'],
      stdin: `hello-${port}\nR\nafter-${port}\n`,
      timeoutMs: WAIT_MS,
    });
    await sleep(200);
    return { result, hellos: server.countClientHellos() - before };
  }

  /** s_client connected from the client namespace while s_server sends a HelloRequest (R). */
  async function serverRenegotiates(port: number): Promise<{ output: string; hellos: number }> {
    const server = port === ECHO_PORT ? echo : echo2;
    const before = server.countClientHellos();
    const line = `ping-${randomBytes(3).toString('hex')}`;
    const client = runOpensslClient({
      prefix: pair.prefix(pair.client),
      host: SERVER_ADDRESS,
      port,
      args: ['-tls1_2'],
      stdin: `${line}\n`,
      settleMs: 1_500,
      timeoutMs: WAIT_MS,
    });
    await server.waitForOutput(new RegExp(line), WAIT_MS);
    server.command('R');
    const result = await client;
    return { output: result.output, hellos: server.countClientHellos() - before };
  }

  /** Each test's interception goes away with it, passed or failed. */
  /**
   * s_client sends three lines a second apart through the guard; once the first reaches the echo
   * server, the guard gets SIGTERM (the watchdog shell passes it on, once).
   */
  async function sigtermWhileAClientTalks(
    guard: PeerProcess,
  ): Promise<{ client: ReturnType<typeof runOpensslClient>; tag: string }> {
    const tag = randomBytes(3).toString('hex');
    const client = runOpensslClient({
      prefix: pair.prefix(pair.client),
      host: SERVER_ADDRESS,
      port: ECHO_PORT,
      args: ['-tls1_2'],
      stdin: `first-${tag}\nsecond-${tag}\nthird-${tag}\n`,
      lineDelayMs: 1_000,
      timeoutMs: WAIT_MS,
    });
    await echo.waitForOutput(new RegExp(`first-${tag}`), WAIT_MS);
    process.kill(guard.pid, 'SIGTERM');
    return { client, tag };
  }

  function cleanUp(t: TestContext, ns: string): void {
    t.after(async () => {
      await Promise.all(guards.map((g) => g.stop()));
      await uninstall(ns);
    });
  }

  test('inbound, deny: bytes pass exactly over IPv4 and IPv6, renegotiation refused both ways', async (t) => {
    cleanUp(t, pair.server);
    await install(pair.server, ['--direction', 'inbound']);
    const guard = await startGuardIn(pair.server, ['--policy', 'deny', '--log-level', 'debug']);

    const expected = await blob();
    for (const host of [SERVER_ADDRESS, SERVER_ADDRESS6]) {
      const got = await curl(host);
      assert.equal(got.code, 0, `curl to ${host}`);
      assert.ok(got.body!.equals(expected), `bytes through the guard to ${host} differ`);
    }

    const client = await clientRenegotiates(ECHO_PORT);
    assert.ok(client.result.connected, client.result.output);
    assert.equal(client.hellos, 1, 'the renegotiation ClientHello reached the server');
    assert.match(echo.output(), new RegExp(`hello-${ECHO_PORT}`));
    assert.doesNotMatch(echo.output(), new RegExp(`after-${ECHO_PORT}`));

    const server = await serverRenegotiates(ECHO_PORT);
    assert.equal(server.hellos, 1, 'the client answered a HelloRequest the guard should have held');

    await linesWhen(guard, 'connection closed', 4);
    const lines = logLines(guard);
    const destinations = new Set(lines.filter((l) => l['conn'] !== undefined).map((l) => l['destination']));
    assert.deepEqual(
      [...destinations].sort(),
      [`${SERVER_ADDRESS}:${ECHO_PORT}`, `${SERVER_ADDRESS}:${WWW_PORT}`, `[${SERVER_ADDRESS6}]:${WWW_PORT}`].sort(),
    );
    const blocked = (await linesWhen(guard, 'renegotiation blocked', 2)).map((l) => l['direction']);
    assert.deepEqual(blocked, ['client-initiated', 'server-initiated']);
  });

  test('outbound with a policy file: the first matching rule decides, per destination', async (t) => {
    const policyFile = join(env.dir, 'destinations.yaml');
    await writeFile(
      policyFile,
      [
        'default: deny',
        'rules:',
        '  - name: client-certs',
        `    destination: ${SERVER_ADDRESS}/32`,
        `    ports: [${ECHO_PORT}]`,
        '    policy: deny-client-initiated',
        '',
      ].join('\n'),
    );
    const clientBefore = (await pair.exec(pair.client, ['nft', 'list', 'ruleset'])).stdout;
    cleanUp(t, pair.client);
    await install(pair.client, ['--direction', 'outbound']);
    const guard = await startGuardIn(pair.client, ['--policy-file', policyFile, '--metrics', '127.0.0.1:9464']);

    // client-certs (deny-client-initiated): the server may renegotiate, the client may not.
    const allowed = await serverRenegotiates(ECHO_PORT);
    assert.equal(allowed.hellos, 2, allowed.output);
    const refused = await clientRenegotiates(ECHO_PORT);
    assert.equal(refused.hellos, 1);
    // default (deny): not even the server.
    const denied = await serverRenegotiates(ECHO_PORT_2);
    assert.equal(denied.hellos, 1);

    const rules = (await linesWhen(guard, 'connection closed', 3)).map(
      (l) => `${String(l['destination'])} ${String(l['rule'])} ${String(l['blockReason'])}`,
    );
    assert.deepEqual(rules, [
      `${SERVER_ADDRESS}:${ECHO_PORT} client-certs undefined`,
      `${SERVER_ADDRESS}:${ECHO_PORT} client-certs client-initiated-renegotiation-denied`,
      `${SERVER_ADDRESS}:${ECHO_PORT_2} default server-initiated-renegotiation-denied`,
    ]);
    // The metric is labelled by rule and port, never by address.
    const metrics = await pair.exec(pair.client, ['curl', '-s', '--max-time', '5', 'http://127.0.0.1:9464/metrics']);
    assert.match(
      metrics.stdout,
      new RegExp(
        `renego_guard_destination_connections_total\\{listener="listener-0",rule="client-certs",port="${ECHO_PORT}"\\} 2`,
      ),
    );
    assert.match(
      metrics.stdout,
      new RegExp(
        `renego_guard_destination_blocked_total\\{[^}]*rule="default",port="${ECHO_PORT_2}",reason="server-initiated-renegotiation-denied"\\} 1`,
      ),
    );
    assert.doesNotMatch(metrics.stdout, /destination_[a-z_]+\{[^}]*198\.18/);
    await guard.stop();
    await uninstall(pair.client);
    assert.equal((await pair.exec(pair.client, ['nft', 'list', 'ruleset'])).stdout, clientBefore);
  });

  /** Tries curl until it fetches the file or the time is up; how long it took, or undefined. */
  async function curlUntilItWorks(timeoutMs: number): Promise<number | undefined> {
    const start = Date.now();
    const expected = await blob();
    while (Date.now() - start < timeoutMs) {
      const got = await curl(SERVER_ADDRESS);
      if (got.code === 0 && got.body!.equals(expected)) return Date.now() - start;
      await sleep(250);
    }
    return undefined;
  }

  function connectionsSeen(guard: PeerProcess): number {
    return logLines(guard).filter((l) => l['msg'] === 'connection closed').length;
  }

  test('fail-closed: with the guard killed, intercepted connections are refused', async (t) => {
    cleanUp(t, pair.server);
    await install(pair.server, ['--direction', 'inbound']);
    const guard = await startGuardIn(pair.server, ['--policy', 'deny']);
    assert.equal((await curl(SERVER_ADDRESS)).code, 0);
    await guard.waitForOutput(/"msg":"connection closed"/, WAIT_MS);
    process.kill(-guard.pid, 'SIGKILL');
    assert.ok(await guard.waitForExit(WAIT_MS));
    // curl exit 7: could not connect (the redirected SYN met a closed port and a reset).
    assert.equal((await curl(SERVER_ADDRESS)).code, 7);
    assert.equal((await curl(SERVER_ADDRESS6)).code, 7);
  });

  test('fail-open: with the guard killed, connections bypass it once its heartbeat expires', async (t) => {
    cleanUp(t, pair.server);
    await install(pair.server, ['--direction', 'inbound', '--fail-open']);
    const guard = await startGuardIn(pair.server, ['--policy', 'deny'], /renewing its heartbeat/);
    assert.equal((await curl(SERVER_ADDRESS)).code, 0);
    await guard.waitForOutput(/"msg":"connection closed"/, WAIT_MS);
    process.kill(-guard.pid, 'SIGKILL');
    assert.ok(await guard.waitForExit(WAIT_MS));
    const after = await curlUntilItWorks(10_000);
    assert.ok(after !== undefined, 'connections never bypassed the dead guard');
    assert.equal(connectionsSeen(guard), 1);
  });

  test('fail-open SIGTERM: open connections drain, new ones bypass at once, none refused, exit 0', async (t) => {
    cleanUp(t, pair.server);
    await install(pair.server, ['--direction', 'inbound', '--fail-open']);
    const guard = await startGuardIn(pair.server, ['--policy', 'deny'], /renewing its heartbeat/);
    const { client, tag } = await sigtermWhileAClientTalks(guard);
    await guard.waitForOutput(/fail-open: new connections bypass the guard/, WAIT_MS);
    // While the open connection drains: every new one gets through, none via the guard.
    const expected = await blob();
    const during: (number | null)[] = [];
    while (during.length < 3 || guard.exitStatus() === undefined) {
      const got = await curl(SERVER_ADDRESS);
      during.push(got.code === 0 && got.body!.equals(expected) ? 0 : got.code);
      if (during.length >= 20) break;
    }
    assert.deepEqual(
      during.filter((code) => code !== 0),
      [],
      `connections refused or cut while a fail-open guard drained (curl exit codes ${during.join(',')})`,
    );
    const result = await client;
    assert.ok(result.connected, result.output);
    await echo.waitForOutput(new RegExp(`third-${tag}`), WAIT_MS);
    assert.ok(await guard.waitForExit(WAIT_MS), 'the guard did not exit once its last connection ended');
    assert.deepEqual(guard.exitStatus(), { code: 0, signal: null });
    assert.equal(logLines(guard).find((l) => l['msg'] === 'shutting down: draining connections')?.['open'], 1);
    // The guard saw only the connection that was open when it was told to stop.
    assert.deepEqual(
      logLines(guard)
        .filter((l) => l['msg'] === 'connection closed')
        .map((l) => `${String(l['destination'])} ${String(l['reason'])}`),
      [`${SERVER_ADDRESS}:${ECHO_PORT} closed`],
    );
    // And with the guard gone, connections still bypass it.
    assert.equal((await curl(SERVER_ADDRESS)).code, 0);
  });

  test('SIGTERM drains: open connections finish, new ones are refused, the guard exits 0', async (t) => {
    cleanUp(t, pair.server);
    await install(pair.server, ['--direction', 'inbound']);
    const guard = await startGuardIn(pair.server, ['--policy', 'deny']);
    const { client, tag } = await sigtermWhileAClientTalks(guard);
    await guard.waitForOutput(/shutting down: draining connections/, WAIT_MS);
    assert.equal((await curl(SERVER_ADDRESS)).code, 7, 'a new connection got through a draining guard');
    const result = await client;
    assert.ok(result.connected);
    await echo.waitForOutput(new RegExp(`third-${tag}`), WAIT_MS);
    assert.ok(await guard.waitForExit(WAIT_MS), 'the guard did not exit once its last connection ended');
    assert.deepEqual(guard.exitStatus(), { code: 0, signal: null });
    const shutdown = logLines(guard).find((l) => l['msg'] === 'shutting down: draining connections');
    assert.equal(shutdown?.['open'], 1);
    const closed = await linesWhen(guard, 'connection closed', 1);
    assert.deepEqual(
      closed.map((l) => l['reason']),
      ['closed'],
    );
  });

  test('uninstall leaves the server namespace ruleset as it was before the tests', async () => {
    assert.equal((await pair.exec(pair.server, ['nft', 'list', 'ruleset'])).stdout, pristine);
  });
});
