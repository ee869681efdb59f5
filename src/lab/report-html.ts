/**
 * The lab's self-contained HTML report: the matrix, and per scenario a
 * message-sequence (ladder) diagram in inline SVG with three lanes (victim,
 * attacker, server), the injected prefix and the splice point highlighted.
 * No script, no external resource.
 */
import { writeFile } from 'node:fs/promises';
import { DEFENCES } from './defences.ts';
import { COLUMN, LEGITIMATE_FLOW, verdictOf } from './labels.ts';
import type { CellResult } from './run.ts';
import { SCENARIOS } from './scenarios.ts';
import type { Party, RecordLogEntry } from './record-log.ts';
import { truncate, wrap } from '../text/terminal.ts';
import { escapeHtml } from '../text/html.ts';

const LANE_X: Record<Party, number> = { victim: 110, attacker: 420, server: 730 };
const ROW = 34;
const LINE = 13;
const TOP = 60;
/** Room kept clear at each end of an arrow: the arrowhead (10 px) and a gap. */
const ARROW_ROOM = 16;
/** A generous average width of an 11 px label character (bold, the widest). */
const CHAR_PX = 7.5;

/** One row of the ladder: a record, or a run of application data records collapsed into one. */
interface Hop {
  entry: RecordLogEntry;
  count: number;
}

function sameRun(a: RecordLogEntry, b: RecordLogEntry): boolean {
  return (
    a.contentType === 'application_data' &&
    b.contentType === 'application_data' &&
    !a.text &&
    !b.text &&
    a.from === b.from &&
    a.to === b.to &&
    a.protection === b.protection &&
    a.note === b.note
  );
}

/** Consecutive unreadable application data between the same parties under the same keys is one row. */
function hops(entries: readonly RecordLogEntry[]): Hop[] {
  const out: Hop[] = [];
  for (const entry of entries) {
    const last = out.at(-1);
    if (last && sameRun(last.entry, entry)) last.count++;
    else out.push({ entry, count: 1 });
  }
  return out;
}

/** The label's lines, each short enough to sit between the arrow's ends. */
function labelLines(hop: Hop, spanPx: number): string[] {
  const e = hop.entry;
  const chars = Math.max(12, Math.floor((spanPx - 2 * ARROW_ROOM) / CHAR_PX));
  if (hop.count > 1) return [`application data ×${hop.count}`];
  const names = e.messages ?? (e.message !== undefined ? [e.message] : []);
  const what = names.length > 0 ? `${e.contentType}: ${names.join(', ')}` : e.contentType;
  const words = e.text ? `${what}: ${JSON.stringify(e.text).slice(1, -1)}` : what;
  const lines = wrap(words, chars);
  // Two lines of request are enough to recognise it; the full text is in the page's summary.
  return lines.length > 2 ? [lines[0]!, truncate(`${lines[1]!} …`, chars)] : lines;
}

function hopClass(e: RecordLogEntry): string {
  if (e.note === 'the injected prefix') return 'injected';
  if (e.protection === 'victim-server keys') return 'victim';
  return e.protection === 'clear' ? 'clear' : 'attacker';
}

/**
 * One ladder: each record an arrow between two lanes, coloured by whose keys
 * protect it, every handshake message it carries named above it; the splice
 * point a banner row of its own.
 */
export function ladderSvg(entries: readonly RecordLogEntry[]): string {
  const body: string[] = [];
  let cursor = TOP;
  let spliceDrawn = false;
  for (const hop of hops(entries)) {
    const e = hop.entry;
    if (!spliceDrawn && e.from === 'victim' && e.to === 'server') {
      spliceDrawn = true;
      // A row of its own, clear of the keys text above and the label below.
      body.push(
        `<g class="splice-row"><rect x="8" y="${cursor - 20}" width="824" height="22" class="splice"/>`,
        `<text x="14" y="${cursor - 5}" class="splice-label">splice point: the victim's handshake becomes a renegotiation of the attacker's session</text></g>`,
      );
      cursor += ROW;
    }
    const x1 = LANE_X[e.from];
    const x2 = LANE_X[e.to];
    const lines = labelLines(hop, Math.abs(x2 - x1));
    const y = cursor + (lines.length - 1) * LINE;
    cursor = y + ROW;
    const cls = hopClass(e);
    const mid = (x1 + x2) / 2;
    const text = lines
      .map((l, k) => `<tspan x="${mid}" y="${y - 5 - (lines.length - 1 - k) * LINE}">${escapeHtml(l)}</tspan>`)
      .join('');
    body.push(
      `<g class="hop" data-x1="${x1}" data-x2="${x2}"><line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" class="msg ${cls}" marker-end="url(#arrow)"/>`,
      `<text text-anchor="middle" class="label ${cls}">${text}</text>`,
      `<text x="836" y="${y + 4}" text-anchor="end" class="keys">${escapeHtml(e.protection)}</text></g>`,
    );
  }
  const height = cursor + 10;
  const parts: string[] = [];
  parts.push(`<svg width="840" height="${height}" viewBox="0 0 840 ${height}" role="img">`);
  parts.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
  );
  for (const [party, x] of Object.entries(LANE_X)) {
    parts.push(`<text x="${x}" y="24" text-anchor="middle" class="lane">${party}</text>`);
    parts.push(`<line x1="${x}" y1="34" x2="${x}" y2="${height - 10}" class="lifeline"/>`);
  }
  parts.push(...body, '</svg>');
  return parts.join('\n');
}

export function renderHtmlReport(cells: readonly CellResult[]): string {
  const rows = DEFENCES.filter((d) => cells.some((c) => c.defence === d.id));
  const cols = SCENARIOS.filter((s) => cells.some((c) => c.scenario === s.id));
  const table = [
    `<table><thead><tr><th>${COLUMN.defence}</th>`,
    ...cols.map((s) => `<th>${COLUMN.attack}: ${escapeHtml(s.title)}</th>`),
    `<th>${COLUMN.legitimateFlow}</th></tr></thead><tbody>`,
    ...rows.map((d) => {
      const cellsHtml = cols.map((s) => {
        const c = cells.find((x) => x.scenario === s.id && x.defence === d.id);
        if (!c) return '<td>—</td>';
        return `<td class="${c.attackSucceeded ? 'bad' : 'good'}"><strong>${escapeHtml(verdictOf(c))}</strong><br><small>${escapeHtml(c.explanation)}</small></td>`;
      });
      const any = cells.find((x) => x.defence === d.id);
      const legit = any?.legitimateFlowWorks
        ? `<td class="good">${LEGITIMATE_FLOW.works}</td>`
        : `<td class="bad">${LEGITIMATE_FLOW.broken}</td>`;
      return `<tr><th title="${escapeHtml(d.title)}">${escapeHtml(d.label)}<br><small>${escapeHtml(d.title)}</small></th>${cellsHtml.join('')}${legit}</tr>`;
    }),
    '</tbody></table>',
  ].join('\n');
  const ladders = cols
    .map((s) => {
      const cell =
        cells.find((c) => c.scenario === s.id && c.attackSucceeded) ?? cells.find((c) => c.scenario === s.id)!;
      const d = DEFENCES.find((x) => x.id === cell.defence)!;
      return `<section><h2>${escapeHtml(s.title)}</h2><p>Against: ${escapeHtml(d.title)} — ${escapeHtml(verdictOf(cell))}. Injected prefix: <code class="injected">${escapeHtml(s.prefix)}</code></p>${ladderSvg(cell.transcript.entries)}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>renego lab: CVE-2009-3555</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:16px 0}th,td{border:1px solid #ccc;padding:6px 8px;vertical-align:top;text-align:left}
td.bad{background:#fde2e2}td.good{background:#e3f6e5}small{color:#555}
.lane{font-weight:bold;font-size:15px}.lifeline{stroke:#999;stroke-dasharray:4 4}
.msg{stroke-width:2}.msg.clear{stroke:#888}.msg.attacker{stroke:#c0392b}.msg.victim{stroke:#1e7e34}.msg.injected{stroke:#d35400;stroke-width:4}
.label{font-size:11px;fill:#333}.label.injected{fill:#d35400;font-weight:bold}.keys{font-size:10px;fill:#777}
.splice{fill:#fff3cd;stroke:#e0a800}.splice-label{font-size:11px;fill:#8a6d00;font-weight:bold}
code.injected{background:#fdebd0;padding:1px 4px;white-space:pre-wrap}
</style></head><body>
<h1>renego lab: the renegotiation splice (CVE-2009-3555)</h1>
<p>Each cell ran the attack for real on 127.0.0.1; success is read from the server's own log. Arrow colours: grey clear, red under the attacker's session keys, green under the victim's new keys (unreadable to the attacker), orange the injected bytes.</p>
${table}
${ladders}
</body></html>
`;
}

export async function writeHtmlReport(path: string, cells: readonly CellResult[]): Promise<void> {
  await writeFile(path, renderHtmlReport(cells));
}
