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
import type { Party, TranscriptEntry } from './transcript.ts';

const LANE_X: Record<Party, number> = { victim: 110, attacker: 420, server: 730 };
const ROW = 34;
const TOP = 60;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function label(e: TranscriptEntry): string {
  const what = e.message ? `${e.contentType} ${e.message}` : e.contentType;
  return e.text ? `${what}: ${e.text.length > 44 ? e.text.slice(0, 41) + '...' : e.text}` : what;
}

/** One ladder: each transcript entry an arrow between two lanes, coloured by whose keys protect it. */
export function ladderSvg(entries: readonly TranscriptEntry[]): string {
  const height = TOP + entries.length * ROW + 30;
  const parts: string[] = [];
  parts.push(`<svg width="840" height="${height}" viewBox="0 0 840 ${height}" role="img">`);
  parts.push(
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
  );
  for (const [party, x] of Object.entries(LANE_X)) {
    parts.push(`<text x="${x}" y="24" text-anchor="middle" class="lane">${party}</text>`);
    parts.push(`<line x1="${x}" y1="34" x2="${x}" y2="${height - 10}" class="lifeline"/>`);
  }
  let spliceDrawn = false;
  entries.forEach((e, i) => {
    const y = TOP + i * ROW;
    const x1 = LANE_X[e.from];
    const x2 = LANE_X[e.to];
    // A hop the attacker re-encrypts is drawn through its lane, as what really happens on the wire.
    const cls =
      e.note === 'the injected prefix'
        ? 'injected'
        : e.protection === 'victim-server keys'
          ? 'victim'
          : e.protection === 'clear'
            ? 'clear'
            : 'attacker';
    if (!spliceDrawn && e.from === 'victim' && e.to === 'server') {
      spliceDrawn = true;
      parts.push(`<rect x="8" y="${y - 22}" width="824" height="${ROW}" class="splice"/>`);
      parts.push(
        `<text x="12" y="${y - 8}" class="splice-label">splice point: the victim's handshake becomes a renegotiation of the attacker's session</text>`,
      );
    }
    parts.push(`<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" class="msg ${cls}" marker-end="url(#arrow)"/>`);
    const mid = (x1 + x2) / 2;
    parts.push(`<text x="${mid}" y="${y - 5}" text-anchor="middle" class="label ${cls}">${esc(label(e))}</text>`);
    parts.push(`<text x="836" y="${y + 4}" text-anchor="end" class="keys">${esc(e.protection)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function renderHtmlReport(cells: readonly CellResult[]): string {
  const rows = DEFENCES.filter((d) => cells.some((c) => c.defence === d.id));
  const cols = SCENARIOS.filter((s) => cells.some((c) => c.scenario === s.id));
  const table = [
    `<table><thead><tr><th>${COLUMN.defence}</th>`,
    ...cols.map((s) => `<th>${COLUMN.attack}: ${esc(s.title)}</th>`),
    `<th>${COLUMN.legitimateFlow}</th></tr></thead><tbody>`,
    ...rows.map((d) => {
      const cellsHtml = cols.map((s) => {
        const c = cells.find((x) => x.scenario === s.id && x.defence === d.id);
        if (!c) return '<td>—</td>';
        return `<td class="${c.attackSucceeded ? 'bad' : 'good'}"><strong>${esc(verdictOf(c))}</strong><br><small>${esc(c.explanation)}</small></td>`;
      });
      const any = cells.find((x) => x.defence === d.id);
      const legit = any?.legitimateFlowWorks
        ? `<td class="good">${LEGITIMATE_FLOW.works}</td>`
        : `<td class="bad">${LEGITIMATE_FLOW.broken}</td>`;
      return `<tr><th title="${esc(d.title)}">${esc(d.label)}<br><small>${esc(d.title)}</small></th>${cellsHtml.join('')}${legit}</tr>`;
    }),
    '</tbody></table>',
  ].join('\n');
  const ladders = cols
    .map((s) => {
      const cell =
        cells.find((c) => c.scenario === s.id && c.attackSucceeded) ?? cells.find((c) => c.scenario === s.id)!;
      const d = DEFENCES.find((x) => x.id === cell.defence)!;
      return `<section><h2>${esc(s.title)}</h2><p>Against: ${esc(d.title)} — ${esc(verdictOf(cell))}. Injected prefix: <code class="injected">${esc(s.prefix)}</code></p>${ladderSvg(cell.transcript.entries)}</section>`;
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
