/** The audit as one self-contained HTML page (no scripts, no external resources). */
import { at } from './findings.ts';
import { STACK_TITLE, type StackAudit } from './types.ts';
import { escapeHtml } from '../text/html.ts';

function section(a: StackAudit): string {
  const verdicts = a.verdicts
    .map(
      (v) =>
        `<tr class="${escapeHtml(v.answer)}"><td>${escapeHtml(v.id)}</td><td>${escapeHtml(v.answer)}</td><td>${escapeHtml(v.reason)}</td></tr>`,
    )
    .join('');
  const settings = a.settings
    .map(
      (s) =>
        `<tr><td><code>${escapeHtml(s.name)}</code></td><td><code>${escapeHtml(s.value)}</code></td><td>${escapeHtml(s.source ? `${at(s.source)} (${s.origin})` : s.origin)}</td><td>${escapeHtml(s.does)}<br><b>protects against:</b> ${escapeHtml(s.protects)}<br><b>breaks:</b> ${escapeHtml(s.breaks)}<br><small>${escapeHtml(s.reference)}</small></td></tr>`,
    )
    .join('');
  const findings = a.findings
    .map(
      (f) =>
        `<li class="${escapeHtml(f.kind)}"><b>${escapeHtml(f.kind)}</b>: ${escapeHtml(f.text)}${f.sources.length ? ` <small>(${escapeHtml(f.sources.map(at).join(', '))})</small>` : ''}</li>`,
    )
    .join('');
  const measured = (a.measured ?? [])
    .map(
      (m) =>
        `<h3>Measured by renego scan ${escapeHtml(m.target)}</h3>${m.error ? `<p>not scanned: ${escapeHtml(m.error)}</p>` : `<table><tr><th>verdict</th><th>configured</th><th>measured</th><th></th></tr>${m.verdicts.map((r) => `<tr class="${escapeHtml(r.agreement)}"><td>${escapeHtml(r.id)}</td><td>${escapeHtml(r.configured)}</td><td>${escapeHtml(r.measured)}</td><td>${escapeHtml(r.agreement === 'not-in-effect' ? 'NOT IN EFFECT' : r.agreement)}</td></tr>`).join('')}</table>`}`,
    )
    .join('');
  const d = a.decision;
  return `<section><h2>${escapeHtml(STACK_TITLE[a.stack])}</h2><p>${escapeHtml(a.files.join(', '))}</p>${a.assumed.map((x) => `<p class="assumed">assumed: ${escapeHtml(x)}</p>`).join('')}
<table><tr><th>verdict</th><th>answer</th><th>reason</th></tr>${verdicts}</table>${measured}
<table><tr><th>setting</th><th>value</th><th>from</th><th>meaning</th></tr>${settings}</table>
${findings ? `<ul>${findings}</ul>` : ''}
<h3>Renegotiation needed here: ${escapeHtml(d.renegotiationNeeded)}</h3><p>${escapeHtml(d.why)}</p>
<ol>${d.steps.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ol><ul>${d.leave.map((s) => `<li>leave: ${escapeHtml(s)}</li>`).join('')}</ul></section>`;
}

export function auditHtml(audits: readonly StackAudit[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>renego audit</title><style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
tr.yes td:nth-child(2),li.vulnerable b,li.breaks b,li.disagrees b,tr.not-in-effect td{color:#b00}tr.no td:nth-child(2){color:#070}.assumed{color:#555}code{white-space:pre-wrap}
</style></head><body><h1>renego audit</h1>${audits.map(section).join('\n')}</body></html>
`;
}
