/**
 * The --html report, opened in headless Chromium (Debian's chromium driven by
 * playwright-core): it renders the summary and per-target sections from a real
 * scan, and the page makes no network request at all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { htmlReport } from '../../src/scan/report/html.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { parseScanTarget } from '../../src/scan/targets.ts';
import { DEFAULT_SCAN_OPTIONS } from '../../src/scan/types.ts';
import { startServer } from '../../src/server/start.ts';
import { browserSkipReason as skip, launchBrowser } from '../peers/browser.ts';

test('the HTML report renders every target offline in headless Chromium', { skip }, async (t) => {
  const legacy = await startServer({
    host: '127.0.0.1',
    port: 0,
    preset: 'legacy-2009',
    www: true,
    protectedPath: '/secure',
    log: () => undefined,
  });
  const safe = await startServer({
    host: '127.0.0.1',
    port: 0,
    preset: 'openssl3-default',
    www: true,
    log: () => undefined,
  });
  const dir = await mkdtemp(join(tmpdir(), 'renego-scan-html-'));
  t.after(async () => {
    await legacy.close();
    await safe.close();
    await rm(dir, { recursive: true, force: true });
  });
  const opts = { ...DEFAULT_SCAN_OPTIONS, timeoutMs: 3000, paths: ['/', '/secure'] };
  const reports = await Promise.all(
    [legacy.port, safe.port].map((p) => scanTarget(parseScanTarget(`127.0.0.1:${p}`), opts)),
  );
  const file = join(dir, 'report.html');
  await writeFile(file, htmlReport(reports));

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href, { timeout: 15_000 });

  assert.equal(await page.title(), 'renego scan report');
  assert.equal(await page.textContent('#totals'), '2 targets, 1 vulnerable, 0 not scanned.');
  const rows = await page.$$eval('#summary tr', (trs) =>
    trs
      .slice(1)
      .map((tr) => Array.from(tr.querySelectorAll('td'), (td: { textContent: string | null }) => td.textContent ?? '')),
  );
  assert.equal(rows.length, 2);
  const vulnerable = rows.find((r) => r[0] === `127.0.0.1:${legacy.port}`);
  assert.deepEqual(vulnerable?.slice(1, 4), ['CVE-2009-3555, CVE-2011-1473', 'yes', 'yes']);
  assert.equal(rows.find((r) => r[0] === `127.0.0.1:${safe.port}`)?.[1], 'nothing found');
  assert.equal(await page.$$eval('section', (s) => s.length), 2);
  const pathCell = await page.textContent(`#t-127-0-0-1-${legacy.port} table.checks`);
  assert.match(pathCell ?? '', /server-initiated \/secure\s*renegotiates, asks for a client certificate/);
  // The insecure server-initiated renegotiation is coloured like the other findings.
  const pathRows = await page.$$eval(
    `#t-127-0-0-1-${legacy.port} table.checks tr`,
    (trs: { textContent: string | null; querySelector(s: string): { className: string } | null }[]) =>
      trs.map((tr) => ({ text: tr.textContent ?? '', cls: tr.querySelector('td')?.className ?? '' })),
  );
  const secureRow = pathRows.find((row) => row.text.startsWith('server-initiated /secure'));
  assert.ok(secureRow, pathRows.map((row) => row.text).join('\n'));
  assert.match(secureRow.text, /insecure/);
  assert.equal(secureRow.cls, 'yes');
  // No verdict lists in its bullets what its reason already says.
  const verdictRows = await page.$$eval(
    `#t-127-0-0-1-${legacy.port} table.verdicts tr`,
    (trs: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> }[]) =>
      trs.slice(1).map((tr) => {
        const cells = Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '');
        const items = Array.from(tr.querySelectorAll('li'), (li) => li.textContent ?? '');
        return { reason: (cells[2] ?? '').slice(0, (cells[2] ?? '').length - items.join('').length), items };
      }),
  );
  assert.ok(verdictRows.length >= 3);
  for (const v of verdictRows)
    for (const item of v.items) assert.ok(!v.reason.includes(item), `${item} repeats the reason`);
  assert.deepEqual(
    requests.filter((u) => !u.startsWith('file:')),
    [],
    'the page must not reach the network',
  );
  assert.deepEqual(errors, []);
  // RENEGO_SCREENSHOTS=DIR keeps a picture of the page for a person to look at; the suite leaves no file otherwise.
  const shots = process.env['RENEGO_SCREENSHOTS'];
  if (shots) await page.screenshot({ path: join(shots, 'renego-scan-report.png'), fullPage: true });
});

test('what a peer or a target list controls is escaped in the HTML report', async () => {
  const refused = await scanTarget(parseScanTarget('127.0.0.1:1'), { ...DEFAULT_SCAN_OPTIONS, retries: 0 });
  const hostile = '<img src=x onerror="alert(1)"> & \'x\'';
  const html = htmlReport([{ ...refused, target: hostile, error: hostile }]);
  assert.doesNotMatch(html, /<img|onerror="/);
  assert.ok(html.includes('&#60;img src=x onerror=&#34;alert(1)&#34;&#62; &#38; &#39;x&#39;'));
});
