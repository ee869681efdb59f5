/** The shared value syntaxes of src/syntax/: what each accepts and the problem each names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointError, formatEndpoint, parseEndpoint, splitUrl } from '../src/syntax/endpoint.ts';

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
