/**
 * The renegotiation decisions of both sides (src/handshake/renegotiation.ts), as tables: every
 * refusal is reachable, each from the switch that documents it, and nothing else refuses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_CLIENT_RENEGOTIATION } from '../../src/handshake/client-config.ts';
import {
  clientAnswer,
  clientMayRenegotiate,
  refusalAnswer,
  serverDecision,
} from '../../src/handshake/renegotiation.ts';
import { SAFE_SERVER_RENEGOTIATION } from '../../src/handshake/server-config.ts';
import { SERVER_PRESETS } from '../../src/handshake/server-presets.ts';

const refusalOf = (d: ReturnType<typeof serverDecision>) => (d.allow ? 'allow' : d.refusal);

describe('server renegotiation decisions', () => {
  test('each switch refuses what it names, in order: disabled, client-initiated, legacy peer', () => {
    const safe = SAFE_SERVER_RENEGOTIATION;
    const cases: [Partial<typeof safe>, boolean, boolean, string][] = [
      [{}, true, true, 'allow'],
      [{}, false, true, 'client-initiated-not-allowed'],
      [{}, true, false, 'legacy-peer'],
      [{ allowClientInitiated: true }, false, true, 'allow'],
      [{ allowClientInitiated: true }, false, false, 'legacy-peer'],
      [{ allowUnsafeLegacy: true }, true, false, 'allow'],
      // A 2009 server knows nothing of RFC 5746 and renegotiates with anyone (DANGER).
      [{ rfc5746: false }, true, false, 'allow'],
      [{ enabled: false }, true, true, 'disabled'],
      [{ enabled: false, allowClientInitiated: true }, false, true, 'disabled'],
    ];
    for (const [override, serverInitiated, secure, expected] of cases) {
      const d = serverDecision({ ...safe, ...override }, { serverInitiated, secure });
      assert.equal(refusalOf(d), expected, JSON.stringify({ override, serverInitiated, secure }));
    }
  });

  test('the presets decide as docs/server-policy.md says', () => {
    const client = (name: keyof typeof SERVER_PRESETS, secure: boolean) =>
      refusalOf(serverDecision(SERVER_PRESETS[name].renegotiation, { serverInitiated: false, secure }));
    assert.equal(client('legacy-2009', false), 'allow');
    assert.equal(client('iis-977377', true), 'disabled');
    assert.equal(client('openssl3-default', true), 'client-initiated-not-allowed');
    assert.equal(client('rfc5746', true), 'allow');
    assert.equal(client('rfc5746', false), 'legacy-peer');
  });
});

describe('client renegotiation decisions', () => {
  test('accept never / once / freely, and the legacy server rule on both the answer and our own start', () => {
    const p = DEFAULT_CLIENT_RENEGOTIATION;
    assert.equal(refusalOf(clientAnswer({ ...p, accept: 'never' }, { secure: true, accepted: 0 })), 'disabled');
    assert.equal(refusalOf(clientAnswer({ ...p, accept: 'once' }, { secure: true, accepted: 0 })), 'allow');
    assert.equal(
      refusalOf(clientAnswer({ ...p, accept: 'once' }, { secure: true, accepted: 1 })),
      'already-renegotiated',
    );
    assert.equal(refusalOf(clientAnswer({ ...p, accept: 'freely' }, { secure: true, accepted: 9 })), 'allow');
    assert.equal(refusalOf(clientAnswer(p, { secure: false, accepted: 0 })), 'legacy-peer');
    assert.equal(refusalOf(clientMayRenegotiate(p, false)), 'legacy-peer');
    assert.equal(refusalOf(clientMayRenegotiate({ ...p, allowUnsafeLegacyRenegotiation: true }, false)), 'allow');
  });
});

describe('how a refusal goes out', () => {
  test('fatal at once; otherwise as configured until maxRefusals, then too-many', () => {
    assert.equal(refusalAnswer('fatal', 0, 5), 'fatal');
    assert.equal(refusalAnswer('warning', 0, 2), 'warning');
    assert.equal(refusalAnswer('warning', 1, 2), 'warning');
    assert.equal(refusalAnswer('warning', 2, 2), 'too-many');
    assert.equal(refusalAnswer('ignore', 0, 1), 'ignore');
    assert.equal(refusalAnswer('ignore', 1, 1), 'too-many');
  });
});
