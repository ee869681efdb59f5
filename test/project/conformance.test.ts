/**
 * The conformance runner's own logic (conformance/): reading a tlsfuzzer script's verdict and
 * checking the expectations file. The run itself is `npm run conformance`, against real servers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadExpectations } from '../../conformance/expectations.ts';
import { parseOutput } from '../../conformance/tlsfuzzer.ts';

const FINISHED = [
  'sanity ...',
  'Error encountered while processing node ExpectAlert() (child: None)',
  'AssertionError: Unexpected message from peer: ApplicationData(len=0)',
  '',
  'two bytes long CCS ...',
  'AssertionError: Expected alert description "unexpected_message" does not match received "decode_error"',
  '',
  '"sanity" repeat 1',
  'OK',
  '',
  'Test end',
  '====================',
  'TOTAL: 5',
  'SKIP: 1',
  'PASS: 2',
  'XFAIL: 0',
  'FAIL: 2',
  'XPASS: 0',
  '====================',
  'FAILED:',
  "\t'sanity'",
  "\t'two bytes long CCS'",
  '',
].join('\n');

describe('tlsfuzzer output', () => {
  test('a finished script gives its counts, its failed conversations and the error that ended each', () => {
    const r = parseOutput(FINISHED, undefined, 1.5);
    assert.equal(r.status, 'finished');
    assert.deepEqual([r.total, r.pass, r.fail, r.skip], [5, 2, 2, 1]);
    assert.deepEqual(r.failed, ['sanity', 'two bytes long CCS']);
    assert.equal(r.errors.get('sanity'), 'AssertionError: Unexpected message from peer: ApplicationData(len=0)');
    assert.match(r.errors.get('two bytes long CCS') ?? '', /does not match received "decode_error"/);
  });

  test('"name" repeat N starts a conversation too', () => {
    const r = parseOutput('"sanity" repeat 0\nAssertionError: Unexpected closure from peer\n', undefined, 1);
    assert.equal(r.errors.get('sanity'), 'AssertionError: Unexpected closure from peer');
  });

  test('a script without a TOTAL line crashed, and one past its timeout hung', () => {
    assert.equal(
      parseOutput('Traceback (most recent call last):\nImportError: ecdsa\n', undefined, 1).status,
      'crashed',
    );
    const hung = parseOutput('sanity ...\n', 'no verdict within 120 s: killed', 120);
    assert.equal(hung.status, 'hung');
    assert.match(hung.tail, /no verdict within 120 s/);
  });
});

describe('expectations file', () => {
  test('resolves named reasons and rejects a reason of none of the four shapes', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'renego-conformance-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.yaml');
    await writeFile(
      good,
      [
        'reasons:',
        "  two-byte-ccs: 'being fixed: a two-byte ChangeCipherSpec'",
        'expected-failures:',
        '  test-ccs:',
        '    rfc5746:',
        "      'two bytes long CCS': two-byte-ccs",
        "      'sanity': 'stricter (RFC 5246 §7.1): reasons may be written out'",
      ].join('\n'),
    );
    const e = await loadExpectations(good);
    assert.equal(
      e.failures.get('test-ccs')?.get('rfc5746')?.get('two bytes long CCS'),
      'being fixed: a two-byte ChangeCipherSpec',
    );
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, "expected-failures:\n  test-ccs:\n    rfc5746:\n      'sanity': 'it fails'\n");
    await assert.rejects(
      loadExpectations(bad),
      /test-ccs \/ rfc5746 \/ 'sanity': reason "it fails" has none of the four shapes/,
    );
  });
});
