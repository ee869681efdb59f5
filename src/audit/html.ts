/** The audit as one self-contained HTML page (no scripts, no external resources). */
import { at } from './findings.ts';
import type { StackAudit } from './types.ts';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const TITLE: Record<StackAudit['stack'], string> = {
  schannel: 'Windows SChannel / HTTP.sys / IIS',
  openssl: 'OpenSSL',
  gnutls: 'GnuTLS',
  java: 'Java JSSE',
  apache: 'Apache httpd mod_ssl',
  nginx: 'nginx',
  haproxy: 'HAProxy',
  stunnel: 'stunnel',
  node: 'Node.js (static reading)',
};

function section(a: StackAudit): string {
  const verdicts = a.verdicts
    .map(
      (v) =>
        `<tr class="${esc(v.answer)}"><td>${esc(v.id)}</td><td>${esc(v.answer)}</td><td>${esc(v.reason)}</td></tr>`,
    )
    .join('');
  const settings = a.settings
    .map(
      (s) =>
        `<tr><td><code>${esc(s.name)}</code></td><td><code>${esc(s.value)}</code></td><td>${esc(s.source ? `${at(s.source)} (${s.origin})` : s.origin)}</td><td>${esc(s.does)}<br><b>protects against:</b> ${esc(s.protects)}<br><b>breaks:</b> ${esc(s.breaks)}<br><small>${esc(s.reference)}</small></td></tr>`,
    )
    .join('');
  const findings = a.findings
    .map(
      (f) =>
        `<li class="${esc(f.kind)}"><b>${esc(f.kind)}</b>: ${esc(f.text)}${f.sources.length ? ` <small>(${esc(f.sources.map(at).join(', '))})</small>` : ''}</li>`,
    )
    .join('');
  const measured = (a.measured ?? [])
    .map(
      (m) =>
        `<h3>Measured by renego scan ${esc(m.target)}</h3>${m.error ? `<p>not scanned: ${esc(m.error)}</p>` : `<table><tr><th>verdict</th><th>configured</th><th>measured</th><th></th></tr>${m.verdicts.map((r) => `<tr class="${esc(r.agreement)}"><td>${esc(r.id)}</td><td>${esc(r.configured)}</td><td>${esc(r.measured)}</td><td>${esc(r.agreement === 'not-in-effect' ? 'NOT IN EFFECT' : r.agreement)}</td></tr>`).join('')}</table>`}`,
    )
    .join('');
  const d = a.decision;
  return `<section><h2>${esc(TITLE[a.stack])}</h2><p>${esc(a.files.join(', '))}</p>${a.assumed.map((x) => `<p class="assumed">assumed: ${esc(x)}</p>`).join('')}
<table><tr><th>verdict</th><th>answer</th><th>reason</th></tr>${verdicts}</table>${measured}
<table><tr><th>setting</th><th>value</th><th>from</th><th>meaning</th></tr>${settings}</table>
${findings ? `<ul>${findings}</ul>` : ''}
<h3>Renegotiation needed here: ${esc(d.renegotiationNeeded)}</h3><p>${esc(d.why)}</p>
<ol>${d.steps.map((s) => `<li>${esc(s)}</li>`).join('')}</ol><ul>${d.leave.map((s) => `<li>leave: ${esc(s)}</li>`).join('')}</ul></section>`;
}

export function auditHtml(audits: readonly StackAudit[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>renego audit</title><style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
tr.yes td:nth-child(2),li.vulnerable b,li.breaks b,li.disagrees b,tr.not-in-effect td{color:#b00}tr.no td:nth-child(2){color:#070}.assumed{color:#555}code{white-space:pre-wrap}
</style></head><body><h1>renego audit</h1>${audits.map(section).join('\n')}</body></html>
`;
}
