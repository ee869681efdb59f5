/**
 * OpenSSL 3 clients against `renego server` (startServer, in this process): `openssl s_client`
 * with its `R` renegotiation command, -legacy_renegotiation and -no_legacy_server_connect, and
 * `curl` with a client certificate, given at the initial handshake or obtained by a
 * server-initiated renegotiation on a protected path.
 *
 * Debian's OpenSSL 3 clients refuse a server without RFC 5746 unless given
 * -legacy_server_connect; curl has no such switch, so curl against the 2009-style presets
 * fails with handshake_failure: that is the expected outcome, asserted as such.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { isPresetName, type ServerPresetName } from '../../src/handshake/server-presets.ts';
import { skipReason, which } from '../peers/binaries.ts';
import { countRenegotiationAttempts, runOpensslClient } from '../peers/openssl-client.ts';
import { withRenegoServer } from '../peers/interop-server-support.ts';
import type { RenegoServerPeer } from '../peers/renego-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

const WAIT_MS = 10_000;
const CLIENT_TIMEOUT_MS = 15_000;

const env = useTempPki('renego-interop-openssl-', 'rsa');

const TLS12 = ['-tls1_2'];
const verify = (): string[] => ['-CAfile', env.files.ca, '-verify_return_error', '-verify_hostname', 'localhost'];

describe('openssl s_client', { skip: skipReason('openssl') }, () => {
  test('completes a handshake with RFC 5746 and EMS, and data is echoed', async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify()],
        stdin: 'hello renego\n',
        until: /^hello renego$/m,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.match(r.output, /Secure Renegotiation IS supported/);
      assert.match(r.output, /Extended master secret: yes/);
      assert.match(r.output, /Verify return code: 0 \(ok\)/);
      assert.match(r.output, /^hello renego$/m);
      await server.waitForOutput(/^handshake .*secureRenegotiation=true/m, WAIT_MS);
    });
  });

  test('completes TLS 1.0 and TLS 1.1 handshakes when the client asks for them', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      for (const [flag, name] of [
        ['-tls1', 'TLSv1'],
        ['-tls1_1', 'TLSv1.1'],
      ] as const) {
        const r = await runOpensslClient({
          port: server.port,
          // OpenSSL 3 needs security level 0 to offer TLS 1.0/1.1 at all.
          args: [flag, '-cipher', 'DEFAULT:@SECLEVEL=0', ...verify()],
          stdin: `hello ${name}\n`,
          until: new RegExp(`^hello ${name}$`, 'm'),
          timeoutMs: CLIENT_TIMEOUT_MS,
        });
        assert.ok(r.connected, r.output);
        assert.match(r.output, new RegExp(`Protocol\\s*: ${name.replace('.', '\\.')}\\b`));
        await server.waitForOutput(new RegExp(`^handshake .*version=${name.replace('.', '\\.')} `, 'm'), WAIT_MS);
      }
    });
  });

  test('`R` renegotiates when client-initiated renegotiation is allowed (preset rfc5746)', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify()],
        stdin: 'before\nR\nafter\n',
        until: /^after$/m,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.equal(countRenegotiationAttempts(r.output), 1);
      assert.match(r.output, /^before$[\s\S]*^RENEGOTIATING$[\s\S]*^after$/m);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=true/m, WAIT_MS);
      assert.doesNotMatch(server.output(), /^error /m);
    });
  });

  test('`R` is refused by default (client-initiated renegotiation off): a no_renegotiation warning, which s_client treats as fatal', async () => {
    await withRenegoServer(env.files, {}, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify()],
        stdin: 'before\nR\n',
        until: /no renegotiation/i,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.equal(countRenegotiationAttempts(r.output), 1);
      assert.match(r.output, /no renegotiation/i);
      await server.waitForOutput(/^renegotiation-refused .*client-initiated renegotiation is not allowed/m, WAIT_MS);
      assert.equal(server.count(/^renegotiation /m), 0);
    });
  });

  test('`R` with -legacy_renegotiation renegotiates (unsafely) with a legacy-2009 server', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify(), '-legacy_server_connect', '-legacy_renegotiation'],
        stdin: 'before\nR\nafter\n',
        until: /^after$/m,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.match(r.output, /Secure Renegotiation IS NOT supported/);
      assert.match(r.output, /^RENEGOTIATING$[\s\S]*^after$/m);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=false/m, WAIT_MS);
    });
  });

  test('`R` with -legacy_server_connect alone also renegotiates with legacy-2009 (OpenSSL: either switch allows it)', async () => {
    await withRenegoServer(env.files, { preset: 'legacy-2009' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify(), '-legacy_server_connect'],
        stdin: 'before\nR\nafter\n',
        until: /^after$/m,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.match(r.output, /^RENEGOTIATING$[\s\S]*^after$/m);
      await server.waitForOutput(/^renegotiation .*handshake=1 .*secureRenegotiation=false/m, WAIT_MS);
    });
  });

  for (const preset of ['legacy-2009', 'iis-default', 'iis-977377', 'iis-always-nego-client-cert'] as const) {
    test(`-no_legacy_server_connect refuses a ${preset} server (no RFC 5746) at the initial handshake`, async () => {
      await withRenegoServer(env.files, { preset }, async (server) => {
        const r = await runOpensslClient({
          port: server.port,
          args: [...TLS12, ...verify(), '-no_legacy_server_connect'],
          timeoutMs: CLIENT_TIMEOUT_MS,
        });
        // s_client prints its session summary even for a failed handshake: the cipher tells.
        assert.match(r.output, /New, \(NONE\), Cipher is \(NONE\)/, r.output);
        assert.match(r.output, /unsafe legacy renegotiation disabled/i);
        await server.waitForOutput(
          /^error .*handshake_failure|^error .*PeerSentFatalAlert: peer sent fatal alert handshake_failure/m,
          WAIT_MS,
        );
      });
    });
  }

  test('-legacy_server_connect connects to iis-default, and `R` is refused there', async () => {
    await withRenegoServer(env.files, { preset: 'iis-default' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify(), '-legacy_server_connect', '-legacy_renegotiation'],
        stdin: 'before\nR\n',
        until: /no renegotiation/i,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.match(r.output, /Secure Renegotiation IS NOT supported/);
      await server.waitForOutput(/^renegotiation-refused /m, WAIT_MS);
    });
  });

  test('strict mode lets s_client in (it signals RFC 5746) and renegotiates', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746-strict' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify()],
        stdin: 'R\nafter\n',
        until: /^after$/m,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      await server.waitForOutput(/^renegotiation .*handshake=1/m, WAIT_MS);
    });
  });

  test('a client certificate at the initial handshake (clientCertificate initial on rfc5746) reaches the server', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', clientCert: 'initial' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify(), '-cert', env.files.clientCert, '-key', env.files.clientKey],
        stdin: 'hello\n',
        until: /^hello$/m,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.match(r.output, /Acceptable client certificate CA names\s*\n\s*CN = renego throwaway CA \(rsa\)/);
      await server.waitForOutput(/^handshake .*clientCertificate=CN=renego test client/m, WAIT_MS);
    });
  });

  test('a server-initiated renegotiation for a certificate on a protected path (--www) gets it from s_client', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const r = await runOpensslClient({
        port: server.port,
        args: [...TLS12, ...verify(), '-crlf', '-cert', env.files.clientCert, '-key', env.files.clientKey],
        stdin: 'GET /secure/page HTTP/1.1\nHost: localhost\n\n',
        lineDelayMs: 50,
        until: /client certificate: /,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      assert.ok(r.connected, r.output);
      assert.match(r.output, /HTTP\/1\.1 200 OK/);
      assert.match(r.output, /client certificate: CN=renego test client/);
      await server.waitForOutput(/^renegotiation .*clientCertificate=CN=renego test client/m, WAIT_MS);
    });
  });
});

// --- every preset against s_client ------------------------------------------------------------

/** What docs/server-policy.md says each preset does, in the terms s_client can observe. */
const PRESET_VIEW = {
  'legacy-2009': { rfc5746: false, clientR: 'accepted', cert: 'renegotiation' },
  'iis-default': { rfc5746: false, clientR: 'refused', cert: 'renegotiation' },
  'iis-977377': { rfc5746: false, clientR: 'refused', cert: 'breaks' },
  'iis-always-nego-client-cert': { rfc5746: false, clientR: 'refused', cert: 'initial' },
  rfc5746: { rfc5746: true, clientR: 'accepted', cert: 'renegotiation' },
  'rfc5746-strict': { rfc5746: true, clientR: 'accepted', cert: 'renegotiation' },
  'openssl3-default': { rfc5746: true, clientR: 'refused', cert: 'none' },
} as const satisfies Record<ServerPresetName, unknown>;

const presetViews = (): [ServerPresetName, (typeof PRESET_VIEW)[ServerPresetName]][] =>
  Object.entries(PRESET_VIEW).filter((e): e is [ServerPresetName, (typeof PRESET_VIEW)[ServerPresetName]] =>
    isPresetName(e[0]),
  );

describe(
  'every preset against s_client (with -legacy_server_connect where the preset lacks RFC 5746)',
  { skip: skipReason('openssl') },
  () => {
    for (const [preset, view] of presetViews()) {
      const legacy = view.rfc5746 ? [] : ['-legacy_server_connect'];
      test(`${preset}: \`R\` is ${view.clientR}; a client certificate is ${view.cert === 'initial' ? '' : 'not '}asked for at the initial handshake`, async () => {
        await withRenegoServer(env.files, { preset }, async (server) => {
          const r = await runOpensslClient({
            port: server.port,
            args: [...TLS12, ...verify(), ...legacy, '-cert', env.files.clientCert, '-key', env.files.clientKey],
            stdin: 'before\nR\nafter\n',
            until: /^after$|no renegotiation/m,
            timeoutMs: CLIENT_TIMEOUT_MS,
          });
          assert.ok(r.connected, r.output);
          assert.match(
            r.output,
            view.rfc5746 ? /Secure Renegotiation IS supported/ : /Secure Renegotiation IS NOT supported/,
          );
          if (view.clientR === 'accepted') {
            assert.match(r.output, /^RENEGOTIATING$[\s\S]*^after$/m);
            await server.waitForOutput(/^renegotiation .*handshake=1/m, WAIT_MS);
          } else {
            assert.match(r.output, /no renegotiation/i);
            await server.waitForOutput(/^renegotiation-refused /m, WAIT_MS);
            assert.equal(server.count(/^renegotiation /m), 0);
          }
          const first = await server.waitForOutput(/^handshake .*$/m, WAIT_MS);
          const subject = /^handshake .*clientCertificate=(.*)$/m.exec(first)?.[1];
          assert.equal(subject, view.cert === 'initial' ? 'CN=renego test client' : 'null');
        });
      });

      const expected =
        view.cert === 'renegotiation'
          ? 'obtains the client certificate by renegotiation'
          : view.cert === 'initial'
            ? 'already has the client certificate from the initial handshake'
            : view.cert === 'breaks'
              ? 'cannot renegotiate for the certificate and answers 403'
              : 'never asks for a certificate and answers 403';
      test(`${preset} --www --protected-path /secure ${expected}`, async () => {
        await withRenegoServer(env.files, { preset, www: true, protectedPath: '/secure' }, async (server) => {
          const r = await runOpensslClient({
            port: server.port,
            args: [
              ...TLS12,
              ...verify(),
              ...legacy,
              '-crlf',
              '-cert',
              env.files.clientCert,
              '-key',
              env.files.clientKey,
            ],
            stdin: 'GET /secure/page HTTP/1.1\nHost: localhost\n\n',
            lineDelayMs: 50,
            until: /client certificate: .*\n/,
            timeoutMs: CLIENT_TIMEOUT_MS,
          });
          assert.ok(r.connected, r.output);
          if (view.cert === 'renegotiation' || view.cert === 'initial') {
            assert.match(r.output, /HTTP\/1\.1 200 OK/);
            assert.match(r.output, /client certificate: CN=renego test client/);
            assert.match(r.output, new RegExp(`^renegotiations: ${view.cert === 'initial' ? 0 : 1}\\r?$`, 'm'));
          } else {
            assert.match(r.output, /HTTP\/1\.1 403 Forbidden/);
            assert.match(r.output, /^renegotiations: 0\r?$/m);
          }
          if (view.cert === 'breaks')
            await server.waitForOutput(/^renegotiation-failed .*renegotiation is disabled/m, WAIT_MS);
        });
      });
    }
  },
);

// --- curl ----------------------------------------------------------------------------------

interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(
      which('curl') ?? 'curl',
      ['--silent', '--show-error', '--http1.1', '--max-time', '10', ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('curl', { skip: skipReason('curl') }, () => {
  const url = (server: RenegoServerPeer, path: string): string => `https://localhost:${server.port}${path}`;
  const resolveLocalhost = (server: RenegoServerPeer): string[] => ['--resolve', `localhost:${server.port}:127.0.0.1`];

  test('GET against --www names the request and no client certificate', async () => {
    await withRenegoServer(env.files, { preset: 'openssl3-default', www: true }, async (server) => {
      const r = await curl(['--cacert', env.files.ca, ...resolveLocalhost(server), url(server, '/hello')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^GET \/hello HTTP\/1\.1$/m);
      assert.match(r.stdout, /^renegotiations: 0$/m);
      assert.match(r.stdout, /^client certificate: none$/m);
    });
  });

  test('a client certificate at the initial handshake (rfc5746 with clientCertificate initial): the response names its subject', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', clientCert: 'initial', www: true }, async (server) => {
      const r = await curl([
        '--cacert',
        env.files.ca,
        '--cert',
        env.files.clientCert,
        '--key',
        env.files.clientKey,
        ...resolveLocalhost(server),
        url(server, '/'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^renegotiations: 0$/m);
      assert.match(r.stdout, /^client certificate: CN=renego test client$/m);
    });
  });

  test('a client certificate obtained by renegotiation on the protected path (rfc5746, --www, --protected-path)', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const args = [
        '--cacert',
        env.files.ca,
        '--cert',
        env.files.clientCert,
        '--key',
        env.files.clientKey,
        ...resolveLocalhost(server),
      ];
      const open = await curl([...args, url(server, '/open')]);
      assert.equal(open.code, 0, open.stderr);
      assert.match(open.stdout, /^renegotiations: 0$/m);
      assert.match(open.stdout, /^client certificate: none$/m);

      const secure = await curl([...args, url(server, '/secure/page')]);
      assert.equal(secure.code, 0, secure.stderr);
      assert.match(secure.stdout, /^GET \/secure\/page HTTP\/1\.1$/m);
      assert.match(secure.stdout, /^renegotiations: 1$/m);
      assert.match(secure.stdout, /^client certificate: CN=renego test client$/m);
      await server.waitForOutput(
        /^renegotiation .*secureRenegotiation=true .*clientCertificate=CN=renego test client/m,
        WAIT_MS,
      );
    });
  });

  test('the protected path without a client certificate is answered 403 after the renegotiation', async () => {
    await withRenegoServer(env.files, { preset: 'rfc5746', www: true, protectedPath: '/secure' }, async (server) => {
      const r = await curl([
        '--cacert',
        env.files.ca,
        ...resolveLocalhost(server),
        '--write-out',
        '%{http_code}',
        url(server, '/secure/'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /client certificate: none \(required for \/secure\)/);
      assert.match(r.stdout, /403$/);
    });
  });

  for (const preset of ['iis-default', 'legacy-2009'] as const) {
    test(`against ${preset} (no RFC 5746) the handshake fails: curl's OpenSSL 3 refuses the server (handshake_failure)`, async () => {
      await withRenegoServer(env.files, { preset, www: true, protectedPath: '/secure' }, async (server) => {
        const r = await curl(['--cacert', env.files.ca, ...resolveLocalhost(server), url(server, '/secure/')]);
        assert.equal(r.code, 35, `curl exit code 35 (SSL connect error)\n${r.stderr}`);
        assert.match(r.stderr, /unsafe legacy renegotiation disabled/i);
        await server.waitForOutput(/^error .*fatal alert handshake_failure/m, WAIT_MS);
        assert.equal(server.count(/^handshake /m), 0);
      });
    });
  }
});
