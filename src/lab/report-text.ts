/**
 * The lab matrix for a terminal: per scenario, one row per defence (verdict
 * first, whether the legitimate client-certificate login still works), the
 * explanation under it, all wrapped to the terminal's width.
 */
import { formatTable, wrap } from '../text/terminal.ts';
import { DEFENCES } from './defences.ts';
import { COLUMN, legitimateFlowOf, scanFoundOf, verdictOf } from './labels.ts';
import type { CellResult } from './run.ts';
import { SCENARIOS } from './scenarios.ts';

export { verdictOf } from './labels.ts';

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

function labelOf(defence: string): string {
  return DEFENCES.find((x) => x.id === defence)!.label;
}

/** The matrix in `width` columns (80 when piped): no line is longer. */
export function formatMatrix(cells: readonly CellResult[], colours: Colours = NO_COLOURS, width = 80): string {
  const lines: string[] = [];
  for (const s of SCENARIOS) {
    const row = cells.filter((c) => c.scenario === s.id);
    if (row.length === 0) continue;
    lines.push('', ...wrap(s.title, width, '', '   '));
    const table = formatTable(
      [COLUMN.defence, COLUMN.attack, COLUMN.legitimateFlow],
      row.map((c) => [
        labelOf(c.defence),
        (c.attackSucceeded ? colours.red : colours.green)(verdictOf(c)),
        c.legitimateFlowWorks ? legitimateFlowOf(c) : colours.red(legitimateFlowOf(c)),
      ]),
      width,
      { paintHeader: colours.dim },
    );
    lines.push(...table.header);
    row.forEach((c, i) => {
      lines.push(...table.rows[i]!);
      lines.push(...wrap(c.explanation, width, '    ', '    ').map(colours.dim));
    });
  }
  const scanned = DEFENCES.map((d) => cells.find((c) => c.defence === d.id && c.scan)).filter((c) => c !== undefined);
  if (scanned.length > 0) {
    lines.push('', ...wrap("renego scan against each defence's server, beside the attack's outcome:", width));
    const table = formatTable(
      [COLUMN.defence, COLUMN.scan, COLUMN.attacksSucceeded],
      scanned.map((c) => {
        const row = cells.filter((x) => x.defence === c.defence);
        return [labelOf(c.defence), scanFoundOf(c)!, `${row.filter((x) => x.attackSucceeded).length} of ${row.length}`];
      }),
      width,
      { paintHeader: colours.dim },
    );
    lines.push(...table.header, ...table.rows.flat());
  }
  return lines.join('\n').trimStart();
}
