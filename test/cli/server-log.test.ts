/** `renego server`'s log names alerts as `renego client` and `renego scan` do. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { startServer } from '../../src/server/start.ts';
import { withAlertNames } from '../../src/server/log.ts';
import { skipReason } from '../peers/binaries.ts';

test(
  'a client that rejects the certificate is logged with the alert by name',
  { skip: skipReason('openssl') },
  async (t) => {
    const lines: string[] = [];
    const server = await startServer({ host: '127.0.0.1', port: 0, log: (l) => lines.push(l) });
    t.after(() => server.close());
    // s_client does not trust the throwaway CA: with -verify_return_error it answers the Certificate with a fatal alert.
    const client = spawn(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${server.port}`,
        '-verify_return_error',
        '-tls1_2',
        '-servername',
        'localhost',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const killer = setTimeout(() => client.kill(), 10_000);
    t.after(() => {
      clearTimeout(killer);
      client.kill();
    });
    await new Promise((r) => client.once('exit', r));
    for (let i = 0; i < 50 && !lines.some((l) => l.startsWith('error ')); i++)
      await new Promise((r) => setTimeout(r, 20));
    const error = lines.find((l) => l.startsWith('error '));
    assert.ok(error, `an error line was logged: ${lines.join(' | ')}`);
    assert.match(error, /alert=(unknown_ca|bad_certificate)/);
    assert.match(error, /fatal alert (unknown_ca|bad_certificate)/);
    assert.doesNotMatch(error, /alert \d+/);
  },
);

test('alert numbers in engine messages become names; unknown ones stay visible', () => {
  assert.equal(withAlertNames('peer sent fatal alert 40'), 'peer sent fatal alert handshake_failure');
  assert.equal(withAlertNames('alert 100 then alert 255'), 'alert no_renegotiation then alert unknown(0xff)');
});
