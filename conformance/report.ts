/** The conformance table and expected failures, for the terminal and for docs/conformance.md. */
import type { Expectations } from './expectations.ts';
import type { ScriptPlan, ServerConfig } from './plan.ts';
import type { ScriptResult } from './tlsfuzzer.ts';

export type ServerKind = 'renego' | 'openssl';

/** Results by `${script} ${config} ${server}`. */
export type Results = ReadonlyMap<string, ScriptResult>;

export const resultKey = (script: string, config: string, server: ServerKind): string =>
  `${script} ${config} ${server}`;

function score(r: ScriptResult | undefined): string {
  if (r === undefined) return '—';
  if (r.status === 'hung') return 'hung';
  if (r.status === 'crashed') return 'crashed';
  return `${r.pass}/${r.total - r.skip}`;
}

/** renego passes fewer conversations than OpenSSL in the same configuration. */
export function behindOpenssl(results: Results, script: string, config: string): boolean {
  const ours = results.get(resultKey(script, config, 'renego'));
  const theirs = results.get(resultKey(script, config, 'openssl'));
  if (ours === undefined || theirs === undefined || theirs.status !== 'finished') return false;
  return ours.status !== 'finished' || ours.pass < theirs.pass;
}

/** One row per script, one column per configuration: `renego · OpenSSL` passed/run, ⚠ where renego passes fewer. */
export function table(scripts: readonly ScriptPlan[], configs: readonly ServerConfig[], results: Results): string {
  const header = ['script', ...configs.map((c) => `${c.id} (renego · OpenSSL)`)];
  const rows = scripts.map((s) => [
    s.name,
    ...configs.map((c) => {
      if (!s.configs.includes(c.id)) return '';
      const mark = behindOpenssl(results, s.name, c.id) ? ' ⚠' : '';
      return `${score(results.get(resultKey(s.name, c.id, 'renego')))} · ${score(results.get(resultKey(s.name, c.id, 'openssl')))}${mark}`;
    }),
  ]);
  return markdownTable(header, rows);
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The expected failures grouped by reason, then by script and configuration. */
export function expectedFailures(e: Expectations): string {
  const byReason = new Map<string, string[]>();
  for (const [script, byConfig] of e.failures) {
    for (const [config, conversations] of byConfig) {
      const perReason = new Map<string, string[]>();
      for (const [conversation, reason] of conversations)
        (perReason.get(reason) ?? perReason.set(reason, []).get(reason)!).push(conversation);
      for (const [reason, names] of perReason) {
        const entry = `- \`${script}\` (${config}): ${names.map((n) => `'${n}'`).join(', ')}`;
        (byReason.get(reason) ?? byReason.set(reason, []).get(reason)!).push(entry);
      }
    }
  }
  const kinds = ['new finding', 'being fixed', 'stricter', 'inapplicable'];
  const order = (r: string): number => kinds.findIndex((k) => r.startsWith(k));
  return [...byReason]
    .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
    .map(([reason, entries]) => `### ${reason}\n\n${entries.join('\n')}`)
    .join('\n\n');
}

export function markdown(
  scripts: readonly ScriptPlan[],
  configs: readonly ServerConfig[],
  results: Results,
  e: Expectations,
  tlsfuzzerVersion: string,
): string {
  const behind = scripts.flatMap((s) =>
    configs
      .filter((c) => s.configs.includes(c.id) && behindOpenssl(results, s.name, c.id))
      .map((c) => `\`${s.name}\` (${c.id})`),
  );
  return [
    '# tlsfuzzer conformance',
    '',
    '<!-- Written by `npm run conformance` (conformance/run.ts); edit conformance/expectations.yaml, not this file. -->',
    '',
    `The tlsfuzzer scripts of \`conformance/plan.ts\` (${tlsfuzzerVersion}) against \`renego server\` with each preset and against \`openssl s_server\` configured alike, same certificate, both serving HTTP. Each cell is conversations passed / run (skipped ones left out), renego first, then OpenSSL; ⚠ marks a script where renego passes fewer than OpenSSL. \`npm run conformance\` fails on any renego failure not listed below, on a hang, and on a listed failure that now passes.`,
    '',
    table(scripts, configs, results),
    '',
    'The OpenSSL reference per configuration:',
    '',
    ...configs.map((c) => `- \`${c.id}\`: ${c.note}.`),
    '',
    behind.length > 0
      ? `renego passes fewer conversations than OpenSSL in: ${behind.join(', ')}.`
      : 'renego passes at least as many conversations as OpenSSL in every script.',
    '',
    '## Expected failures',
    '',
    'From `conformance/expectations.yaml`, by reason: new findings this check made (to be filed and fixed), known findings being fixed (the entries go once the fix lands, and the run reports them as stale until then), deliberate strictness with its RFC section, and conversations a preset cannot pass by design.',
    '',
    expectedFailures(e),
    '',
  ].join('\n');
}
