/**
 * `--html report.html`: one self-contained page (inline CSS, no script, no
 * network): a summary table of every target, then per target the verdicts with
 * their evidence, the checks, the advice and the raw JSON.
 */
import type { ClientInitiatedResult, ScanReport, Tri, Verdict } from '../types.ts';
import { escapeHtml } from '../../text/html.ts';

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f6}.yes{background:#fde2e1;color:#8b0000;font-weight:bold}.no{background:#e3f6e5;color:#1b5e20}
.limited,.could-not-test,.unknown{background:#fff4d6;color:#7a5200}.muted{color:#666}
code,pre{font:12px/1.4 ui-monospace,monospace}pre{background:#f6f6f8;padding:.6em;overflow:auto;max-height:30em}
ul.evidence{margin:.2em 0 .2em 1.2em;padding:0}.failed{background:#eee;color:#444}
`;

function tri(v: Tri, good: boolean): string {
  if (v === null) return '<td class="unknown">could not test</td>';
  return `<td class="${v === good ? 'no' : 'yes'}">${v ? 'yes' : 'no'}</td>`;
}

function verdictCell(v: Verdict | undefined): string {
  if (!v) return '<td class="failed">—</td>';
  const cls = v.id === 'no-renegotiation' ? (v.answer === 'yes' ? 'no' : v.answer === 'no' ? '' : 'unknown') : v.answer;
  return `<td class="${escapeHtml(cls)}" title="${escapeHtml(v.reason)}">${escapeHtml(v.answer)}</td>`;
}

/** A completed insecure renegotiation is the worst finding: coloured like a failed RFC 5746 check. */
function outcome(r: ClientInitiatedResult, dangerous: boolean): string {
  if (r.outcome === 'not-tested') return `<td class="unknown">not tested: ${escapeHtml(r.reason)}</td>`;
  const cls = r.outcome === 'completed' && dangerous ? ' class="yes"' : '';
  return `<td${cls}>${escapeHtml(r.outcome)}${r.alert ? ` (${escapeHtml(r.alert)})` : ''}</td>`;
}

function summaryRow(r: ScanReport): string {
  const by = (id: string): Verdict | undefined => r.verdicts.find((v) => v.id === id);
  const status = !r.ok
    ? `<td class="failed">not scanned (${escapeHtml(r.reachability)}): ${escapeHtml(r.error)}</td>`
    : r.vulnerabilities.length > 0
      ? `<td class="yes">${escapeHtml(r.vulnerabilities.join(', '))}</td>`
      : '<td class="no">nothing found</td>';
  return `<tr><td><a href="#${anchor(r)}">${escapeHtml(r.target)}</a></td>${status}${verdictCell(by('CVE-2009-3555'))}${verdictCell(by('CVE-2011-1473'))}${verdictCell(by('triple-handshake'))}${verdictCell(by('no-renegotiation'))}</tr>`;
}

function anchor(r: ScanReport): string {
  return `t-${r.target.replace(/[^a-zA-Z0-9]+/g, '-')}`;
}

function targetSection(r: ScanReport): string {
  const parts: string[] = [`<section id="${anchor(r)}"><h2>${escapeHtml(r.target)}</h2>`];
  if (!r.ok) {
    parts.push(
      `<p class="failed">Not scanned (${escapeHtml(r.reachability)}): ${escapeHtml(r.error)}</p><p>${escapeHtml(r.advice.join(' '))}</p></section>`,
    );
    return parts.join('\n');
  }
  parts.push(
    '<h3>Verdicts</h3><table class="verdicts"><tr><th>check</th><th>answer</th><th>reason and evidence</th></tr>',
  );
  for (const v of r.verdicts) {
    // A yes verdict's reason is often its evidence joined: list only what the reason does not already say.
    const more = v.evidence.filter((x) => !v.reason.includes(x));
    const list =
      more.length > 0 ? `<ul class="evidence">${more.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` : '';
    parts.push(`<tr><td>${escapeHtml(v.title)}</td>${verdictCell(v)}<td>${escapeHtml(v.reason)}${list}</td></tr>`);
  }
  parts.push('</table><h3>Checks</h3><table class="checks">');
  const v = r.versions;
  parts.push(
    `<tr><th>protocol versions</th><td>${(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const).map((k) => `${k}: ${v[k] === null ? '?' : v[k] ? 'yes' : 'no'}`).join(', ')}</td></tr>`,
  );
  if (r.baseline)
    parts.push(
      `<tr><th>handshake used</th><td>${escapeHtml(r.baseline.version)} ${escapeHtml(r.baseline.cipher)}</td></tr>`,
    );
  const sr = r.secureRenegotiation;
  parts.push(
    `<tr><th>RFC 5746 extension</th>${tri(sr.extension, true)}</tr><tr><th>RFC 5746 SCSV</th>${tri(sr.scsv, true)}</tr>`,
  );
  parts.push(
    `<tr><th>RFC 5746 required</th>${sr.required === null ? '<td class="unknown">could not test</td>' : `<td>${sr.required ? 'yes' : 'no'}</td>`}</tr>`,
  );
  parts.push(`<tr><th>RFC 5746 enforced</th>${tri(sr.enforced, true)}</tr>`);
  parts.push(
    `<tr><th>client-initiated, secure</th>${outcome(r.clientInitiated.details.secure, false)}</tr><tr><th>client-initiated, insecure</th>${outcome(r.clientInitiated.details.insecure, true)}</tr>`,
  );
  const d = r.dos;
  parts.push(
    `<tr><th>renegotiations in a row</th><td${d.accepted !== null && d.accepted >= d.max && !d.stoppedBy ? ' class="yes"' : ''}>${d.accepted === null ? `could not test: ${escapeHtml(d.reason)}` : `${d.accepted} of ${d.max}${d.ratePerSecond !== null ? ` at ${d.ratePerSecond}/s` : ''}${d.stoppedBy ? `, then ${escapeHtml(d.stoppedBy)}` : ''}`}</td></tr>`,
  );
  const sp = r.clientInitiated.split;
  parts.push(
    `<tr><th>split request glued</th>${sp.glued === null ? `<td class="unknown">not tested: ${escapeHtml(sp.reason)}</td>` : tri(sp.glued, false)}</tr>`,
  );
  for (const s of r.serverInitiated) {
    const text =
      s.renegotiates === null
        ? `could not test: ${escapeHtml(s.reason)}`
        : s.renegotiates
          ? `renegotiates${s.requestsClientCert ? `, asks for a client certificate (CA: ${escapeHtml(s.certificateAuthorities.join('; ') || 'none')})` : ''}${s.withoutCertificate ? `, without one: ${escapeHtml(s.withoutCertificate)}` : ''}${s.insecure ? ', <b>insecure</b>' : ''}${s.enforced === false ? ', <b>goes ahead with a bad renegotiation_info</b>' : ''}`
          : 'no renegotiation';
    // Coloured like the client-initiated rows: red for an insecure or unenforced renegotiation, amber for could-not-test.
    const cls =
      s.insecure === true || s.enforced === false ? ' class="yes"' : s.renegotiates === null ? ' class="unknown"' : '';
    parts.push(`<tr><th>server-initiated <code>${escapeHtml(s.path)}</code></th><td${cls}>${text}</td></tr>`);
  }
  parts.push(`<tr><th>extended master secret</th>${tri(r.extendedMasterSecret, true)}</tr>`);
  parts.push(
    `<tr><th>certificate change</th><td>${r.certificateChange === null ? 'no renegotiation completed' : r.certificateChange ? 'yes' : 'no'}</td></tr></table>`,
  );
  parts.push(`<h3>Advice</h3><ul class="advice">${r.advice.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`);
  parts.push(
    `<p class="muted">Scanned ${escapeHtml(r.scannedAt)} in ${r.timings.totalMs} ms by ${escapeHtml(r.scanner)}.</p>`,
  );
  parts.push(
    `<details><summary>Raw JSON</summary><pre>${escapeHtml(JSON.stringify(r, null, 2))}</pre></details></section>`,
  );
  return parts.join('\n');
}

export function htmlReport(reports: readonly ScanReport[], title = 'renego scan report'): string {
  const vulnerable = reports.filter((r) => r.vulnerabilities.length > 0).length;
  const failed = reports.filter((r) => !r.ok).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p id="totals">${reports.length} targets, ${vulnerable} vulnerable, ${failed} not scanned.</p>
<table id="summary"><tr><th>target</th><th>result</th><th>CVE-2009-3555</th><th>CVE-2011-1473</th><th>triple handshake</th><th>no renegotiation</th></tr>
${reports.map(summaryRow).join('\n')}
</table>
${reports.map(targetSection).join('\n')}
</body></html>
`;
}
