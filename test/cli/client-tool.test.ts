/**
 * `renego client`'s s_client idioms, run through the CLI against real servers on 127.0.0.1:
 * --showcerts (the chain as PEM), --reconnect (the second connection resumes the first one's
 * session), --trace (every record and handshake message on stderr), --starttls (a node:tls server
 * behind an SMTP dialogue).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../peers/interop-client-support.ts';
import { startRenegoServer, type RenegoServerPeer } from '../peers/renego-server.ts';
import { startStartTlsServer } from '../peers/starttls-server.ts';
import { useTempPki } from '../peers/temp-pki.ts';

let server: RenegoServerPeer;
const env = useTempPki('renego-client-tool-', 'rsa', async (e) => {
  server = await startRenegoServer(e.files, { preset: 'rfc5746' });
});
after(async () => server?.stop());

describe('renego client, s_client idioms', () => {
  test('--showcerts reports the whole chain as PEM, leaf first', async () => {
    const { code, report } = await runCli(server, ['--ca', env.files.ca, '--servername', 'localhost', '--showcerts']);
    assert.equal(code, 0);
    const chain = report.peerCertificates ?? [];
    assert.ok(chain.length >= 1, 'no chain reported');
    const leaf = new X509Certificate(chain[0]!.pem);
    assert.equal(leaf.fingerprint256, report.peerCertificate?.fingerprint256);
    assert.match(chain[0]!.subject, /localhost/);
  });

  test('--reconnect offers the first session and the server resumes it', async () => {
    const { code, report } = await runCli(server, ['--ca', env.files.ca, '--servername', 'localhost', '--reconnect']);
    assert.equal(code, 0);
    assert.deepEqual(report.reconnect, { ok: true, resumed: true });
  });

  test('--trace prints each record and handshake message, both ways, on stderr', async () => {
    const { code, stderr } = await runCli(server, ['--ca', env.files.ca, '--servername', 'localhost', '--trace']);
    assert.equal(code, 0);
    for (const line of [
      /^>>>\s+handshake client_hello \[length \d+\]$/m,
      /^<<<\s+handshake server_hello \[length \d+\]$/m,
      /^<<<\s+handshake finished \[length 16\]$/m,
      /^>>> TLSv1\.2 record change_cipher_spec \[length 1, clear\]$/m,
    ]) {
      assert.match(stderr, line);
    }
  });

  test('a failure a flag can get past says which flag: an unknown CA, a plaintext HTTP port', async () => {
    const noCa = await runCli(server, ['--servername', 'localhost']);
    assert.equal(noCa.code, 1);
    assert.equal(noCa.report.error?.kind, 'UnknownCA');
    assert.match(noCa.report.error?.hint ?? '', /--ca FILE.*-k/);
    const plain = http.createServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as AddressInfo).port;
      const r = await runCli({ host: '127.0.0.1', port }, ['-k']);
      assert.equal(r.code, 1);
      assert.match(r.report.error?.message ?? '', /not TLS: .*it sent text: "HTTP\//);
    } finally {
      plain.close();
    }
  });

  describe('--starttls', () => {
    let smtp: { port: number; close: () => Promise<void> } | undefined;
    before(async () => {
      smtp = await startStartTlsServer('smtp', env.pki);
    });
    after(async () => smtp?.close());

    test('smtp: the dialogue in clear, then a TLS handshake with the server behind it', async () => {
      const peer = { host: '127.0.0.1', port: smtp!.port };
      const { code, report } = await runCli(peer, [
        '--ca',
        env.files.ca,
        '--servername',
        'localhost',
        '--starttls',
        'smtp',
      ]);
      assert.equal(code, 0, JSON.stringify(report.error));
      assert.equal(report.ok, true);
      assert.equal(report.version, 'TLSv1.2');
      const without = await runCli(peer, ['--ca', env.files.ca, '--servername', 'localhost']);
      assert.equal(without.report.ok, false, 'TLS straight to an SMTP port should fail');
    });
  });
});
