/** The lab matrix for a terminal: scenario × defence, verdict first, one explanation line per cell. */
import { DEFENCES } from './defences.ts';
import type { CellResult } from './run.ts';
import { SCENARIOS } from './scenarios.ts';

export interface Colours {
  red(s: string): string;
  green(s: string): string;
  dim(s: string): string;
}

export const NO_COLOURS: Colours = { red: (s) => s, green: (s) => s, dim: (s) => s };

export const ANSI: Colours = {
  red: (s) => `\x1b[31m${s}\x1b[0m`,
  green: (s) => `\x1b[32m${s}\x1b[0m`,
  dim: (s) => `\x1b[2m${s}\x1b[0m`,
};

export function verdictOf(c: CellResult): string {
  return c.attackSucceeded ? 'ATTACK SUCCEEDED' : `blocked by ${c.blockedBy}`;
}

export function formatMatrix(cells: readonly CellResult[], colours: Colours = NO_COLOURS): string {
  const lines: string[] = [];
  for (const s of SCENARIOS) {
    const row = cells.filter((c) => c.scenario === s.id);
    if (row.length === 0) continue;
    lines.push('', s.title);
    for (const c of row) {
      const d = DEFENCES.find((x) => x.id === c.defence)!;
      const verdict = verdictOf(c).padEnd(18);
      const paint = c.attackSucceeded ? colours.red : colours.green;
      const breaks = c.legitimateFlowWorks ? 'client-cert path works' : colours.red('client-cert path BROKEN');
      lines.push(`  ${d.title.padEnd(56)} ${paint(verdict)} ${breaks}`);
      lines.push(colours.dim(`      ${c.explanation}`));
    }
  }
  const scanned = DEFENCES.map((d) => cells.find((c) => c.defence === d.id && c.scan)).filter((c) => c !== undefined);
  if (scanned.length > 0) {
    lines.push('', "renego scan against each defence's server, beside the attack's outcome:");
    for (const c of scanned) {
      const d = DEFENCES.find((x) => x.id === c.defence)!;
      const found = !c.scan!.ok
        ? 'could not scan'
        : c.scan!.vulnerabilities.length > 0
          ? c.scan!.vulnerabilities.join(', ')
          : 'no vulnerability found';
      const attacks = cells.filter((x) => x.defence === d.id && x.attackSucceeded).length;
      lines.push(
        `  ${d.title.padEnd(56)} ${found.padEnd(30)} attack succeeded in ${attacks} of ${cells.filter((x) => x.defence === d.id).length}`,
      );
    }
  }
  return lines.join('\n').trimStart();
}
