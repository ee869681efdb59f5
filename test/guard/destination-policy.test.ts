/**
 * Per-destination policy (src/guard/destination-policy.ts): networks and ports matched in order,
 * the first match deciding; the file's errors named with their path. And the sockaddr answers of
 * SO_ORIGINAL_DST decoded (src/guard/original-destination.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addressBytes,
  DestinationPolicyError,
  inNetwork,
  matchDestination,
  parseDestinationPolicies,
  parseNetwork,
} from '../../src/guard/destination-policy.ts';
import { buildGuardConfig, GuardConfigError, ORIGINAL_DESTINATION } from '../../src/guard/config.ts';
import { decodeSockaddr } from '../../src/guard/original-destination.ts';

const FILE = `
default: deny
rules:
  - name: certs-v4
    destination: 10.1.2.0/24
    ports: [443]
    policy: deny-client-initiated
  - name: lab-v6
    destination: fd00:1::/32
    policy: allow
  - name: any-993
    ports: 993
    policy: secure-only
  - name: wide
    destination: 10.0.0.0/8
    policy: allow
`;

describe('per-destination policy', () => {
  const policies = parseDestinationPolicies(FILE, 'destinations.yaml');
  const rule = (address: string, port: number): string | undefined => matchDestination(policies, address, port)?.name;

  test('the first matching rule decides; none matching leaves the default', () => {
    assert.equal(policies.defaultMode, 'deny');
    assert.equal(rule('10.1.2.7', 443), 'certs-v4');
    // Same network, another port: the next rule that matches, a wider network.
    assert.equal(rule('10.1.2.7', 8443), 'wide');
    assert.equal(rule('10.1.2.7', 993), 'any-993');
    assert.equal(rule('fd00:1:0:0::5', 8443), 'lab-v6');
    assert.equal(rule('fd00:2::5', 8443), undefined);
    assert.equal(rule('192.0.2.1', 443), undefined);
  });

  test('IPv4-mapped IPv6 addresses match IPv4 networks, never IPv6 ones', () => {
    assert.equal(rule('::ffff:10.1.2.7', 443), 'certs-v4');
    assert.deepEqual([...addressBytes('::ffff:10.1.2.7')!], [10, 1, 2, 7]);
    assert.equal(inNetwork(addressBytes('10.1.2.7')!, parseNetwork('fd00::/8')), false);
  });

  test('prefix lengths that are not byte multiples', () => {
    const n = parseNetwork('192.168.4.0/22');
    assert.equal(inNetwork(addressBytes('192.168.7.255')!, n), true);
    assert.equal(inNetwork(addressBytes('192.168.8.0')!, n), false);
    assert.equal(inNetwork(addressBytes('2001:db8::1')!, parseNetwork('2001:db8::/33')), true);
    assert.equal(inNetwork(addressBytes('2001:db8:8000::1')!, parseNetwork('2001:db8::/33')), false);
    assert.equal(inNetwork(addressBytes('203.0.113.9')!, parseNetwork('0.0.0.0/0')), true);
    assert.deepEqual([...addressBytes('1:2::7.8.9.10')!].slice(12), [7, 8, 9, 10]);
  });

  test('bad files are refused with the path of what is wrong', () => {
    const bad = (text: string, message: RegExp): void =>
      assert.throws(
        () => parseDestinationPolicies(text, 'p.yaml'),
        (e: Error) => {
          assert.ok(e instanceof DestinationPolicyError);
          assert.match(e.message, message);
          return true;
        },
      );
    bad(
      'rules: [{ destination: 10.0.0.0/33, policy: deny }]',
      /p\.yaml\.rules\[0\]\.destination: .*prefix length must be 0-32/,
    );
    bad('rules: [{ destination: example.test, policy: deny }]', /not an IP address/);
    bad('rules: [{ destination: 10.0.0.0/8, policy: dney }]', /rules\[0\]\.policy: expected one of allow, deny/);
    bad('rules: [{ ports: [0], policy: deny }]', /rules\[0\]\.ports\[0\]: expected a TCP port/);
    bad('rules: [{ name: a, policy: deny }, { name: a, policy: allow }]', /"a" is used twice/);
    bad('rules: [{ name: "10.1.2.3 lab", policy: deny }]', /rules\[0\]\.name/);
    bad('rules: [{ name: default, policy: deny }]', /reserved/);
    bad('rules: [{ policy: deny, cidr: 10.0.0.0/8 }]', /rules\[0\]\.cidr: unknown setting/);
    bad('defualt: deny', /p\.yaml\.defualt: unknown setting/);
    bad('{', /not valid YAML or JSON/);
    // JSON is YAML.
    assert.equal(parseDestinationPolicies('{"default":"allow","rules":[]}', 'p.json').defaultMode, 'allow');
  });
});

describe('SO_ORIGINAL_DST answers', () => {
  test('sockaddr_in and sockaddr_in6 decode to address and port', () => {
    const v4 = Buffer.from('02001151c6120002' + '00'.repeat(20), 'hex');
    assert.deepEqual(decodeSockaddr(v4), { ok: true, destination: { host: '198.18.0.2', port: 4433 } });
    const v6 = Buffer.from('0a0001bb00000000' + 'fd52e9e0000000000000000000000002' + '00000000', 'hex');
    assert.deepEqual(decodeSockaddr(v6), { ok: true, destination: { host: 'fd52:e9e0::2', port: 443 } });
    const full = Buffer.from('0a0001bb00000000' + '20010db8000100020003000400050006' + '00000000', 'hex');
    assert.deepEqual(decodeSockaddr(full), { ok: true, destination: { host: '2001:db8:1:2:3:4:5:6', port: 443 } });
    assert.equal(decodeSockaddr(Buffer.alloc(28)).ok, false);
  });
});

describe('transparent listener configuration', () => {
  const problems = (f: () => unknown): string[] => {
    try {
      f();
    } catch (e) {
      if (e instanceof GuardConfigError) return [...e.problems];
      throw e;
    }
    return [];
  };

  test('flags: no upstream, the policy file read, its default used when --policy is absent', () => {
    const c = buildGuardConfig(
      { listen: '[::]:15001', transparent: true, gid: '15001', policyFile: 'p.yaml' },
      undefined,
      undefined,
      'default: deny-server-initiated\nrules: [{ name: a, ports: [993], policy: allow }]',
    );
    const l = c.listeners[0]!;
    assert.equal(l.upstream, ORIGINAL_DESTINATION);
    assert.equal(l.policy.mode, 'deny-server-initiated');
    assert.equal(l.destinations?.rules[0]?.name, 'a');
    assert.equal(c.gid, 15001);
  });

  test('what does not fit together is refused, each problem with its path', () => {
    assert.match(
      problems(() =>
        buildGuardConfig({ listen: '[::]:1', transparent: true, upstream: '127.0.0.1:2', policy: 'deny' }),
      )[0]!,
      /^--upstream: a transparent listener has no upstream/,
    );
    assert.match(
      problems(() => buildGuardConfig({ listen: '[::]:1', transparent: true }))[0]!,
      /^--policy: required \(or a default in the policy file\)/,
    );
    assert.match(
      problems(() =>
        buildGuardConfig(
          { listen: '[::]:1', upstream: '127.0.0.1:2', policy: 'deny', policyFile: 'p.yaml' },
          undefined,
          undefined,
          'default: deny',
        ),
      )[0]!,
      /--policy-file: applies to a transparent listener/,
    );
    assert.match(
      problems(() => buildGuardConfig({ listen: '[::]:1', transparent: true, policy: 'deny', gid: '0' }))[0]!,
      /--gid: expected a whole number of at least 1/,
    );
    assert.match(
      problems(() =>
        buildGuardConfig(
          {},
          'listeners: [{ listen: "[::]:1", transparent: true, destinations: { rules: [{ policy: nope }] } }]',
          'g.yaml',
        ),
      ).join('\n'),
      /g\.yaml\.listeners\[0\]\.destinations: g\.yaml\.listeners\[0\]\.destinations\.rules\[0\]\.policy: expected one of/,
    );
  });
});
