/**
 * The lab's matrix, asserted: the attack of CVE-2009-3555 runs for real on
 * 127.0.0.1 and each defence stops it (or not) where the 2009 debate said.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DEFENCES } from '../../src/lab/defences.ts';
import { startLabGuard } from '../../src/lab/guard.ts';
import { runLab, type CellResult } from '../../src/lab/run.ts';
import { renderHtmlReport } from '../../src/lab/report-html.ts';
import { COLUMN } from '../../src/lab/labels.ts';
import { formatMatrix } from '../../src/lab/report-text.ts';
import { SCENARIOS } from '../../src/lab/scenarios.ts';
import { RecordLog } from '../../src/lab/record-log.ts';
import { browserSkipReason, launchBrowser } from '../peers/browser.ts';

describe('the renegotiation splice lab', () => {
  let cells: CellResult[] = [];
  const cell = (scenario: string, defence: string): CellResult => {
    const c = cells.find((x) => x.scenario === scenario && x.defence === defence);
    assert.ok(c, `cell ${scenario} × ${defence} ran`);
    return c;
  };

  before(async () => {
    cells = await runLab({ concurrency: 4, scan: true, startGuard: startLabGuard });
  });

  for (const scenario of ['client-certificate', 'cookie-injection', 'redirect']) {
    test(`a legacy server and a legacy client fall to the ${scenario} attack`, () => {
      const c = cell(scenario, 'none');
      assert.equal(c.attackSucceeded, true, c.explanation);
      assert.ok(
        c.bankLog.some((e) => e.executed?.includes('mallory') && e.user === 'victim'),
        'the bank log shows the victim as the author',
      );
    });

    test(`an RFC 5746 server stops the ${scenario} attack with handshake_failure`, () => {
      const c = cell(scenario, 'server-rfc5746');
      assert.equal(c.attackSucceeded, false);
      assert.equal(c.blockedBy, 'server');
      assert.match(c.explanation, /handshake_failure/);
      assert.equal(c.legitimateFlowWorks, true);
    });

    test(`turning renegotiation off stops the ${scenario} attack and breaks the client-certificate path`, () => {
      const c = cell(scenario, 'server-renegotiation-off');
      assert.equal(c.attackSucceeded, false);
      assert.equal(c.legitimateFlowWorks, false);
    });

    test(`asking for the client certificate in the initial handshake stops the ${scenario} attack and keeps the path working`, () => {
      const c = cell(scenario, 'server-initial-client-cert');
      assert.equal(c.attackSucceeded, false);
      assert.equal(c.legitimateFlowWorks, true);
    });

    test(`a strict client refuses the legacy server in the ${scenario} attack`, () => {
      const c = cell(scenario, 'client-strict');
      assert.equal(c.attackSucceeded, false);
      assert.equal(c.blockedBy, 'client');
      assert.match(c.explanation, /UnsafeLegacyServerRefused/);
    });

    test(`an RFC 5746 client alone does not save itself from a legacy server in the ${scenario} attack`, () => {
      // RFC 5746 §4.2: only the server can see that the victim's handshake is a renegotiation.
      assert.equal(cell(scenario, 'client-rfc5746').attackSucceeded, true);
    });
  }

  for (const guard of ['guard-deny', 'guard-secure-only']) {
    test(`the legacy server behind ${guard} is safe from every scenario, and the guard says why`, () => {
      for (const scenario of ['client-certificate', 'cookie-injection', 'redirect']) {
        const c = cell(scenario, guard);
        assert.equal(c.attackSucceeded, false, `${scenario}: ${c.explanation}`);
        assert.equal(c.blockedBy, 'guard', `${scenario}: ${c.explanation}`);
      }
    });
  }

  test('every transcript of a successful splice shows the injected prefix under the attacker keys before the victim handshake', () => {
    const c = cell('cookie-injection', 'none');
    const entries = c.transcript.entries;
    const prefix = entries.findIndex((e) => e.note === 'the injected prefix');
    const spliced = entries.findIndex((e) => e.from === 'victim' && e.to === 'server');
    assert.ok(prefix >= 0 && spliced > prefix, 'prefix first, then the spliced hello');
    assert.equal(entries[prefix]!.protection, 'attacker-server keys');
    assert.ok(
      entries.some((e) => e.protection === 'victim-server keys'),
      'the victim ends up on keys the attacker cannot read',
    );
  });

  test("renego scan's verdict on each server agrees with the attack's outcome", () => {
    // A strict client protects itself from a vulnerable server: there the server's verdict and the cell differ by design.
    for (const d of DEFENCES.filter((x) => x.victim !== 'strict')) {
      const row = cells.filter((c) => c.defence === d.id);
      const scan = row[0]?.scan;
      assert.ok(scan?.ok, `${d.id} was scanned`);
      const attacked = row.some((c) => c.attackSucceeded);
      assert.equal(
        scan.vulnerabilities.includes('CVE-2009-3555'),
        attacked,
        `${d.id}: scan says ${scan.vulnerabilities.join(',') || 'nothing'}`,
      );
    }
  });

  test(
    'the HTML report renders offline in headless Chromium with a ladder per scenario',
    { skip: browserSkipReason },
    async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'renego-lab-html-'));
      const browser = await launchBrowser();
      t.after(async () => {
        await browser.close();
        await rm(dir, { recursive: true, force: true });
      });
      const file = join(dir, 'lab.html');
      await writeFile(file, renderHtmlReport(cells));
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href, { timeout: 15_000 });
      assert.equal(await page.title(), 'renego lab: CVE-2009-3555');
      assert.equal(await page.$$eval('section svg', (s) => s.length), 3);
      assert.ok((await page.$$eval('td.bad', (s) => s.length)) >= 3, 'successful attacks are marked');
      const injected = await page.$$eval('svg text.label.injected', (s) => s.map((x) => x.textContent ?? ''));
      assert.ok(
        injected.some((x) => x.includes('mallory')),
        'the injected prefix is labelled on the ladder',
      );
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
        'the page must not reach the network',
      );
      // RENEGO_SCREENSHOTS=DIR keeps a picture of the page for a person to look at; the suite leaves no file otherwise.
      const shots = process.env['RENEGO_SCREENSHOTS'];
      if (shots) await page.screenshot({ path: join(shots, 'renego-lab-report.png'), fullPage: true });
    },
  );

  test(
    'no label of a ladder overlaps another, runs over an arrowhead, or hides under the splice banner',
    { skip: browserSkipReason },
    async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'renego-lab-ladder-'));
      const browser = await launchBrowser();
      t.after(async () => {
        await browser.close();
        await rm(dir, { recursive: true, force: true });
      });
      const file = join(dir, 'lab.html');
      await writeFile(file, renderHtmlReport(cells));
      const page = await browser.newPage();
      // tsx keeps function names with a __name helper the page does not have.
      await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
      await page.goto(pathToFileURL(file).href, { timeout: 15_000 });
      const problems = await page.$$eval('section svg', (svgs) => {
        type Box = { left: number; right: number; top: number; bottom: number };
        const box = (el: { getBoundingClientRect(): Box }): Box => {
          const r = el.getBoundingClientRect();
          return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        };
        const meets = (a: Box, b: Box): boolean =>
          a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        const found: string[] = [];
        svgs.forEach((svg, n) => {
          const texts = [...svg.querySelectorAll('text')].map((el) => ({ text: el.textContent ?? '', box: box(el) }));
          for (let i = 0; i < texts.length; i++)
            for (let j = i + 1; j < texts.length; j++)
              if (meets(texts[i]!.box, texts[j]!.box))
                found.push(`ladder ${n}: "${texts[i]!.text}" overlaps "${texts[j]!.text}"`);
          for (const hop of svg.querySelectorAll('g.hop')) {
            const line = box(hop.querySelector('line')!);
            const label = box(hop.querySelector('text.label')!);
            // The arrowhead is the last 10 px at the x2 end.
            const rightward = Number(hop.getAttribute('data-x2')) > Number(hop.getAttribute('data-x1'));
            const head = rightward
              ? { ...line, left: line.right - 10, top: line.top - 6, bottom: line.bottom + 6 }
              : { ...line, right: line.left + 10, top: line.top - 6, bottom: line.bottom + 6 };
            if (label.left < line.left || label.right > line.right || meets(label, head))
              found.push(`ladder ${n}: "${hop.querySelector('text.label')!.textContent}" runs past its arrow`);
          }
          for (const rect of svg.querySelectorAll('rect.splice')) {
            const banner = box(rect);
            for (const t of texts)
              if (!t.text.startsWith('splice point') && meets(banner, t.box))
                found.push(`ladder ${n}: the splice banner covers "${t.text}"`);
          }
        });
        return found;
      });
      assert.deepEqual(problems, []);
    },
  );

  test('a ladder names every handshake message of a record and collapses runs of application data', () => {
    const html = renderHtmlReport([cell('cookie-injection', 'none')]);
    assert.match(html, /handshake: server_hello, certificate, server_key_exchange,/, 'the server flight in one record');
    assert.match(html, /server_hello_done/);
    assert.match(html, /application data ×\d+/);
    // Rows that carry one message name it: the victim's held ClientHello, and each side's Finished
    // right after its ChangeCipherSpec (RFC 5246 §7.4.9), which the attacker relays unread.
    assert.match(html, /class="label clear"><tspan[^>]*>handshake: client_hello</);
    assert.equal(
      (html.match(/class="label victim"><tspan[^>]*>handshake: finished</g) ?? []).length,
      2,
      'both Finished named',
    );
    assert.doesNotMatch(html, /class="label [a-z]+"><tspan[^>]*>handshake</, 'no handshake row without its message');
    const labels = [...html.matchAll(/<text text-anchor="middle" class="label [a-z]+">(.*?)<\/text>/g)].map((m) =>
      m[1]!.replace(/<[^>]+>/g, ' ').trim(),
    );
    const bare = labels.filter((l) => l === 'application_data');
    assert.ok(bare.length <= 2, `at most one bare application_data row each way, got ${bare.length}`);
  });

  test('the HTML report is self-contained and draws one ladder per scenario', () => {
    const html = renderHtmlReport(cells);
    assert.equal((html.match(/<svg /g) ?? []).length, 3);
    assert.match(html, /splice point/);
    // Self-contained: no script and nothing fetched (the only link target is the marker inside the SVG).
    assert.doesNotMatch(html, /<script|<link|\ssrc=|@import/i);
  });
});

/** A full matrix with the longest explanations the lab writes, without running it. */
function syntheticCells(): CellResult[] {
  return SCENARIOS.flatMap((s) =>
    DEFENCES.map((d, i) => ({
      scenario: s.id,
      defence: d.id,
      attackSucceeded: i % 3 === 0,
      blockedBy: i % 3 === 0 ? ('nobody' as const) : ('server' as const),
      explanation:
        i % 2 === 0
          ? 'bank executed "transfer to mallory by victim" (authenticated by client certificate CN=victim, issued by renego lab CA)'
          : 'server sent fatal handshake_failure: RenegotiationInfoMismatch: renegotiation_info in a renegotiation ClientHello did not carry the previous verify_data',
      legitimateFlowWorks: i % 2 === 0,
      bankLog: [],
      transcript: new RecordLog(),
      scan: { ok: true, vulnerabilities: i % 3 === 0 ? ['CVE-2009-3555', 'CVE-2011-1473', 'triple-handshake'] : [] },
    })),
  );
}

describe('the lab matrix on a terminal', () => {
  test('fits 80 columns, with a head for every column', () => {
    const text = formatMatrix(syntheticCells(), undefined, 80);
    const lines = text.split('\n');
    const long = lines.filter((l) => [...l].length > 80);
    assert.deepEqual(long, [], 'no line is longer than 80 columns');
    const heads = lines.filter((l) => l.trimStart().startsWith(COLUMN.defence));
    assert.equal(heads.length, SCENARIOS.length + 1, 'a header per scenario table and one for the scan table');
    for (const h of heads.slice(0, SCENARIOS.length)) {
      assert.match(h, new RegExp(`${COLUMN.defence} +${COLUMN.attack} +${COLUMN.legitimateFlow}$`));
    }
    assert.match(heads.at(-1)!, new RegExp(`${COLUMN.defence} +${COLUMN.scan} +${COLUMN.attacksSucceeded}$`));
  });

  test('the text matrix and the HTML report use the same column heads and defence labels', () => {
    const cells = syntheticCells();
    const html = renderHtmlReport(cells);
    const text = formatMatrix(cells, undefined, 80);
    for (const word of [COLUMN.defence, COLUMN.attack, COLUMN.legitimateFlow]) {
      assert.ok(text.includes(word), `text has ${word}`);
      assert.ok(html.includes(`>${word}`), `HTML has ${word}`);
    }
    for (const d of DEFENCES) {
      assert.ok(text.includes(d.label) && html.includes(d.label), `${d.id} is labelled ${d.label} in both`);
    }
  });
});
