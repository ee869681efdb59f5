/**
 * `renego lab` (and `npm start`): runs the CVE-2009-3555 attack against every
 * defence on 127.0.0.1 and prints the matrix, or one cell with its transcript.
 */
import { UsageError } from './usage.ts';
import { describeSystemError } from '../text/system-error.ts';
import { runLab, type CellResult, type LabOptions } from '../lab/run.ts';
import { ANSI, NO_COLOURS, formatMatrix, verdictOf } from '../lab/report-text.ts';
import { terminalWidth, wrap } from '../text/terminal.ts';
import { DEFENCES } from '../lab/defences.ts';
import { startLabGuard } from '../lab/guard.ts';
import { SCENARIOS, type Scenario } from '../lab/scenarios.ts';

export interface LabRunOptions {
  scenario?: string;
  defence?: string;
  json?: boolean;
  html?: string;
  startGuard?: LabOptions['startGuard'];
  out?: (s: string) => void;
}

export async function runLabTool(opts: LabRunOptions): Promise<CellResult[]> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s + '\n'));
  if (opts.scenario && !SCENARIOS.some((s) => s.id === opts.scenario)) {
    throw new UsageError(`unknown scenario ${opts.scenario}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
  if (opts.defence && !DEFENCES.some((d) => d.id === opts.defence)) {
    throw new UsageError(`unknown defence ${opts.defence}; known: ${DEFENCES.map((d) => d.id).join(', ')}`);
  }
  // Fail before the matrix runs, not after: the report file must be writable.
  if (opts.html) {
    const { writeFileSync } = await import('node:fs');
    try {
      writeFileSync(opts.html, '');
    } catch (e) {
      throw new UsageError(`cannot write --html ${opts.html}: ${describeSystemError(e)}`);
    }
  }
  const width = terminalWidth(process.stdout);
  const colours = process.stdout.isTTY && !process.env.NO_COLOR && !opts.json ? ANSI : NO_COLOURS;
  const started = performance.now();
  const labOpts: LabOptions = {
    scan: true,
    startGuard: opts.startGuard ?? startLabGuard,
    ...(opts.scenario ? { scenarios: [opts.scenario as Scenario['id']] } : {}),
    ...(opts.defence ? { defences: [opts.defence] } : {}),
  };
  if (!opts.json)
    out(
      wrap(
        "renego lab: CVE-2009-3555 (renegotiation splice) on 127.0.0.1, judged from the server's own log",
        width,
      ).join('\n') + '\n',
    );
  const cells = await runLab(labOpts);
  if (opts.json) {
    for (const c of cells) out(JSON.stringify({ ...c, verdict: verdictOf(c), transcript: c.transcript.entries }));
  } else {
    out(formatMatrix(cells, colours, width));
    if (cells.length === 1) {
      const transcript = cells[0]!.transcript
        .format()
        .split('\n')
        .flatMap((l) => wrap(l, width, '', ' '.repeat(10)));
      out(['', 'transcript (ms, from -> to, record, bytes, protection):', ...transcript].join('\n'));
    }
    out(`\n${cells.length} cells in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (opts.html) {
    const { writeHtmlReport } = await import('../lab/report-html.ts');
    await writeHtmlReport(opts.html, cells);
    if (!opts.json) out(`HTML report: ${opts.html}`);
  }
  return cells;
}
