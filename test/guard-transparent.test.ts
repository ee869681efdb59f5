/**
 * `renego guard --transparent` on a real kernel: the nftables ruleset it installs, inside network
 * namespaces this test creates (test/peers/netns.ts), with real openssl s_server, s_client and
 * curl on either side of a veth pair and the guard running in one of the namespaces. Nothing is
 * installed in the machine's own namespace. Skipped, saying why, without root, nft or netns.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parsePorts, ruleset, RulesetError, type InterceptOptions } from '../src/guard/nft-ruleset.ts';
import { createNetnsPair, netnsSkipReason, type NetnsPair } from './peers/netns.ts';

const projectDir = join(dirname(fileURLToPath(import.meta.url)), '..');
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
