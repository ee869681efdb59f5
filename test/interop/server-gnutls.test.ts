/**
 * `gnutls-cli` (GnuTLS 3.7) against `renego server`, through its renegotiation priorities:
 *
 * - `--rehandshake` renegotiates right after the handshake and prints `- ReHandshake was
 *   completed` or `*** ReHandshake has failed`. After a no_renegotiation warning gnutls-cli
 *   retries (a warning is not fatal to it) until the server gives up on it.
 * - The default priority is %PARTIAL_RENEGOTIATION: it connects to a server without RFC 5746
 *   but refuses to renegotiate with it ("Unsafe renegotiation denied"); %UNSAFE_RENEGOTIATION
 *   renegotiates anyway; %SAFE_RENEGOTIATION refuses such a server at the first handshake;
 *   %DISABLE_SAFE_RENEGOTIATION makes gnutls a 2009 client that signals nothing.
 * - TLS 1.0 and 1.1 must be named in the priority (`-VERS-ALL:+VERS-TLS1.1`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { skipReason, which } from '../peers/binaries.ts';
import { startProcess } from '../peers/peer-process.ts';
import { withRenegoServer } from '../peers/interop-server-support.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;
const CLIENT_TIMEOUT_MS = 15_000;

const env = useTempPki('renego-interop-gnutls-', 'rsa');

interface GnutlsRun {
  output: string;
  handshake: boolean;
  rehandshake: 'completed' | 'failed' | 'not tried';
  echoed: boolean;
}

const SETTLED =
  /- ReHandshake was completed|\*\*\* ReHandshake has failed|\*\*\* Fatal error|\*\*\* Handshake has failed|- Handshake was completed/;

/**
 * Runs gnutls-cli against the server, waits for the (re)handshake to settle, sends one line
 * and waits for its echo, then closes stdin. Every wait is bounded; the process is always stopped.
 */
async function runGnutlsCli(port: number, args: readonly string[]): Promise<GnutlsRun> {
  const rehandshakeAsked = args.includes('--rehandshake');
  const client = await startProcess({
    name: 'gnutls-cli',
    command: which('gnutls-cli') ?? 'gnutls-cli',
    args: ['-p', String(port), '--x509cafile', env.files.ca, '--verify-hostname', 'localhost', ...args, '127.0.0.1'],
    host: '127.0.0.1',
    port,
  });
  try {
    const settled = rehandshakeAsked
      ? /- ReHandshake was completed|\*\*\* ReHandshake has failed|\*\*\* Fatal error|\*\*\* Handshake has failed/
      : SETTLED;
    await client.waitForOutput(settled, CLIENT_TIMEOUT_MS).catch(() => undefined);
    let echoed = false;
    if (/- Handshake was completed/.test(client.output()) && !client.hasExited()) {
      client.write('echo me\n');
      echoed = await client.waitForOutput(/^echo me$/m, WAIT_MS).then(
        () => true,
        () => false,
      );
    }
    client.endInput();
    await client.waitForExit(3_000);
    const output = client.output();
    return {
      output,
      handshake: /- Handshake was completed/.test(output),
      rehandshake: /- ReHandshake was completed/.test(output)
        ? 'completed'
        : /ReHandshake has failed/.test(output)
          ? 'failed'
          : 'not tried',
      echoed,
    };
  } finally {
    await client.stop();
  }
}

describe('gnutls-cli', { skip: skipReason('gnutls-cli') }, () => {
  test('--rehandshake against rfc5746 completes a secure renegotiation, and data flows after it', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake']);
      assert.ok(r.handshake, r.output);
      assert.match(r.output, /safe renegotiation/);
      assert.equal(r.rehandshake, 'completed', r.output);
      assert.ok(r.echoed, r.output);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=true/m, WAIT_MS);
    });
  });

  test('--rehandshake against openssl3-default is refused (no_renegotiation warnings, then the server gives up on it)', async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake']);
      assert.ok(r.handshake, r.output);
      assert.equal(r.rehandshake, 'failed', r.output);
      assert.match(r.output, /warning alert has been received/i);
      await server.waitForOutput(/^error .*TooManyRenegotiationRequests/m, WAIT_MS);
      assert.ok(server.count(/^renegotiation-refused .*client-initiated renegotiation is not allowed/m) >= 1);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('--rehandshake against rfc5746-strict completes', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746-strict' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake']);
      assert.equal(r.rehandshake, 'completed', r.output);
      await server.waitForOutput(/^renegotiation .*handshake=1/m, WAIT_MS);
    });
  });

  test('default priority (%PARTIAL_RENEGOTIATION) connects to legacy-2009 but refuses to renegotiate with it', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake']);
      assert.ok(r.handshake, r.output);
      assert.equal(r.rehandshake, 'failed');
      assert.match(r.output, /Unsafe renegotiation denied/);
      await server.waitForOutput(/^handshake .*secureRenegotiation=false/m, WAIT_MS);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('%UNSAFE_RENEGOTIATION renegotiates with legacy-2009 (CVE-2009-3555 both ends)', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake', '--priority', 'NORMAL:%UNSAFE_RENEGOTIATION']);
      assert.equal(r.rehandshake, 'completed', r.output);
      assert.ok(r.echoed, r.output);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=false/m, WAIT_MS);
    });
  });

  test('%UNSAFE_RENEGOTIATION against iis-default: the server refuses client-initiated renegotiation', async () => {
    await withRenegoServer(env.files, { preset: 'iis-default' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake', '--priority', 'NORMAL:%UNSAFE_RENEGOTIATION']);
      assert.ok(r.handshake, r.output);
      assert.equal(r.rehandshake, 'failed', r.output);
      await server.waitForOutput(/^renegotiation-refused /m, WAIT_MS);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('%SAFE_RENEGOTIATION refuses a legacy-2009 server at the first handshake', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--priority', 'NORMAL:%SAFE_RENEGOTIATION']);
      assert.equal(r.handshake, false, r.output);
      assert.match(r.output, /Safe renegotiation failed/);
      await server.waitForOutput(/^error .*fatal alert handshake_failure/m, WAIT_MS);
    });
  });

  test('%DISABLE_SAFE_RENEGOTIATION (a 2009 client) is refused by rfc5746-strict at the first handshake with handshake_failure', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746-strict' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--priority', 'NORMAL:%DISABLE_SAFE_RENEGOTIATION']);
      assert.equal(r.handshake, false, r.output);
      assert.match(r.output, /Received alert \[40\]/);
      await server.waitForOutput(/^error .*UnsafeLegacyClientRefused/m, WAIT_MS);
    });
  });

  test('%DISABLE_SAFE_RENEGOTIATION connects to rfc5746, whose server refuses that client any renegotiation', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      const r = await runGnutlsCli(server.port, ['--rehandshake', '--priority', 'NORMAL:%DISABLE_SAFE_RENEGOTIATION']);
      assert.ok(r.handshake, r.output);
      assert.equal(r.rehandshake, 'failed', r.output);
      await server.waitForOutput(/^renegotiation-refused .*does not support RFC 5746/m, WAIT_MS);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('%DISABLE_SAFE_RENEGOTIATION with %UNSAFE_RENEGOTIATION renegotiates with legacy-2009', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await runGnutlsCli(server.port, [
        '--rehandshake',
        '--priority',
        'NORMAL:%DISABLE_SAFE_RENEGOTIATION:%UNSAFE_RENEGOTIATION',
      ]);
      assert.equal(r.rehandshake, 'completed', r.output);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=false/m, WAIT_MS);
    });
  });

  test('TLS 1.1 and TLS 1.0, named in the priority, handshake and renegotiate', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      for (const [vers, name] of [
        ['VERS-TLS1.1', 'TLSv1.1'],
        ['VERS-TLS1.0', 'TLSv1'],
      ] as const) {
        const r = await runGnutlsCli(server.port, ['--rehandshake', '--priority', `NORMAL:-VERS-ALL:+${vers}`]);
        assert.equal(r.rehandshake, 'completed', r.output);
        await server.waitForOutput(new RegExp(`^renegotiation .*version=${name.replace('.', '\\.')} `, 'm'), WAIT_MS);
      }
    });
  });

  test('a client certificate at the initial handshake (rfc5746, clientCertificate initial) reaches the server', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', clientCert: 'initial' }, async (server) => {
      const r = await runGnutlsCli(server.port, [
        '--x509certfile',
        env.files.clientCert,
        '--x509keyfile',
        env.files.clientKey,
      ]);
      assert.ok(r.handshake, r.output);
      assert.ok(r.echoed, r.output);
      await server.waitForOutput(/^handshake .*clientCertificate=CN=renego test client/m, WAIT_MS);
    });
  });
});
