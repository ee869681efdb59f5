/** The shared value syntaxes of src/syntax/: what each accepts and the problem each names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/syntax/duration.ts';
import { EndpointError, formatEndpoint, parseEndpoint, splitUrl } from '../../src/syntax/endpoint.ts';
import { parseRate, parseRateLimit } from '../../src/syntax/rate.ts';
import { parseWholeNumber, wholeNumberRange } from '../../src/syntax/whole-number.ts';
import { rateLimitArg, wholeNumberArg } from '../../src/cli/options.ts';

test('an endpoint: HOST:PORT, [IPv6]:PORT, a bare IPv6 address, a host alone with a default port', () => {
  assert.deepEqual(parseEndpoint('example.test:8443'), { host: 'example.test', port: 8443 });
  assert.deepEqual(parseEndpoint('[::1]:443'), { host: '::1', port: 443 });
  assert.deepEqual(parseEndpoint('[::1]', { defaultPort: 25 }), { host: '::1', port: 25 });
  assert.deepEqual(parseEndpoint('::1', { defaultPort: 443 }), { host: '::1', port: 443 });
  assert.deepEqual(parseEndpoint('host', { defaultPort: 993 }), { host: 'host', port: 993 });
  assert.deepEqual(parseEndpoint('127.0.0.1:0', { portZero: true }), { host: '127.0.0.1', port: 0 });
  assert.equal(formatEndpoint({ host: '::1', port: 443 }), '[::1]:443');
  assert.equal(formatEndpoint({ host: '127.0.0.1', port: 443 }), '127.0.0.1:443');
});

test('an endpoint error says whether the form or the port is wrong', () => {
  const problem = (text: string, syntax = {}): string | undefined => {
    try {
      parseEndpoint(text, syntax);
      return undefined;
    } catch (e) {
      assert.ok(e instanceof EndpointError);
      return `${e.problem} ${e.portText ?? ''}`.trim();
    }
  };
  assert.equal(problem('host:'), 'port');
  assert.equal(problem('[::1]:'), 'port');
  assert.equal(problem('host:abc'), 'port abc');
  assert.equal(problem('host:0'), 'port 0');
  assert.equal(problem('host:65536'), 'port 65536');
  assert.equal(problem('host'), 'form', 'no default port: the port is required');
  assert.equal(problem('::1'), 'form');
  assert.equal(problem(''), 'form');
  assert.equal(problem('host', { defaultPort: 443 }), undefined);
  assert.match(new EndpointError('h:x', 'port', 'x').message, /^bad port in h:x: want HOST:PORT/);
});

test('a URL gives its scheme and authority; other text is all authority', () => {
  assert.deepEqual(splitUrl('HTTPS://example.test:8443/path?q#f'), { scheme: 'https', authority: 'example.test:8443' });
  assert.deepEqual(splitUrl('smtp://[::1]'), { scheme: 'smtp', authority: '[::1]' });
  assert.deepEqual(splitUrl('https://'), { scheme: 'https', authority: '' });
  assert.deepEqual(splitUrl('example.test:443'), { scheme: undefined, authority: 'example.test:443' });
});

test('a duration: a unit or plain milliseconds, written back the shortest way', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration(' 1.5m '), 90_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('600000'), 600_000);
  for (const bad of ['', 's', '-1s', '5 minutes', '1d']) assert.equal(parseDuration(bad), undefined, bad);
  for (const ms of [250, 1500, 10_000, 300_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
  assert.equal(formatDuration(300_000), '5m');
});

test('a rate: COUNT/WINDOW with the window a duration, and which side is wrong', () => {
  assert.deepEqual(parseRate('3/600000'), { ok: true, rate: { count: 3, windowMs: 600_000 } });
  assert.deepEqual(parseRate('10/60s'), { ok: true, rate: { count: 10, windowMs: 60_000 } });
  assert.deepEqual(parseRate('0/10m', 0), { ok: true, rate: { count: 0, windowMs: 600_000 } });
  const problem = (text: string, min?: number): string | undefined => {
    const r = parseRate(text, min);
    return r.ok ? undefined : r.problem;
  };
  assert.equal(problem('abc'), 'form');
  assert.equal(problem('0/10s'), 'count');
  assert.equal(problem('1.5/10s'), 'count');
  assert.equal(problem('/10s'), 'count');
  assert.equal(problem('3/0'), 'window');
  assert.equal(problem('3/soon'), 'window');
});

test("a limit: COUNT/WINDOW, or 0 alone for none (the server's --client-reneg-limit, as its help says)", () => {
  assert.deepEqual(parseRateLimit('0'), { count: 0, windowMs: 0 });
  assert.deepEqual(parseRateLimit(' 0 '), { count: 0, windowMs: 0 });
  assert.deepEqual(parseRateLimit('3/10m'), { count: 3, windowMs: 600_000 });
  assert.deepEqual(parseRateLimit('3/600000'), { count: 3, windowMs: 600_000 });
  assert.deepEqual(parseRateLimit('0/10m'), { count: 0, windowMs: 600_000 });
  for (const bad of ['abc', '1', '', '-1/10s', '3/0', '3/soon']) assert.equal(parseRateLimit(bad), undefined, bad);
});

test('a whole number: digits with an optional minus, in a range; nothing Number() alone would accept', () => {
  assert.equal(parseWholeNumber('5', 0), 5);
  assert.equal(parseWholeNumber(' 0 ', 0), 0);
  assert.equal(parseWholeNumber('-3', -5), -3);
  assert.equal(parseWholeNumber('65535', 0, 65535), 65535);
  for (const bad of ['', ' ', 'abc', '1.5', '1e3', '0x10', '+5', '5ms'])
    assert.equal(parseWholeNumber(bad, 0), undefined, bad);
  assert.equal(parseWholeNumber('-3', 0), undefined, 'below min');
  assert.equal(parseWholeNumber('65536', 0, 65535), undefined, 'above max');
  assert.equal(wholeNumberRange(1), '1 or more');
  assert.equal(wholeNumberRange(0, 65535), 'from 0 to 65535');
});

test('the command line refuses a value with the syntax named, for commander to print on one line', () => {
  assert.equal(wholeNumberArg(0, 65535)('4433'), 4433);
  assert.throws(() => wholeNumberArg(1)('0'), /want a whole number 1 or more\./);
  assert.deepEqual(rateLimitArg('3/10m'), { count: 3, windowMs: 600_000 });
  assert.throws(() => rateLimitArg('1'), /COUNT\/WINDOW/);
});
