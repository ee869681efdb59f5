/**
 * Text for a terminal, shared by the lab and the scanner: the width to write
 * to, visible length (colour codes take no column), word wrapping with a
 * hanging indent that carries colour across the break, and truncation.
 */

/** Piped output is read in files and pagers: 80 columns, as `ls` and `git` assume. */
export const DEFAULT_COLUMNS = 80;

// Select Graphic Rendition only: the colours this project writes.
// eslint-disable-next-line no-control-regex -- colour codes start with ESC
const SGR = /\u001b\[[0-9;]*m/g;
const RESET = '\u001b[0m';

/** The columns of `stream` when it is a terminal, else 80. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  if (stream.isTTY === true && stream.columns !== undefined && stream.columns > 0) return stream.columns;
  return DEFAULT_COLUMNS;
}

export function visibleLength(s: string): number {
  return [...s.replace(SGR, '')].length;
}

/** `s` padded with spaces to `width` visible columns. */
export function padVisible(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)));
}

/** Splits `s` into pieces: colour codes, and single characters. */
function pieces(s: string): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of s.matchAll(SGR)) {
    out.push(...s.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  out.push(...s.slice(last));
  return out;
}

function isCode(piece: string): boolean {
  return piece.startsWith('\u001b[');
}

/** At most `width` visible columns of `s`, ending in `…` when cut; colour is closed. */
export function truncate(s: string, width: number): string {
  if (visibleLength(s) <= width) return s;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  let coloured = false;
  for (const p of pieces(s)) {
    if (isCode(p)) {
      out += p;
      coloured = p !== RESET;
      continue;
    }
    if (used === width - 1) break;
    out += p;
    used++;
  }
  return `${out}…${coloured ? RESET : ''}`;
}

/**
 * Word-wraps one line to `width` columns. The first line starts with `first`,
 * the others with `rest` (a hanging indent); a word longer than a line is cut.
 * A colour open at a break is closed there and reopened on the next line, so
 * each line stands alone (a pager or `tail` shows it right).
 */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let room = Math.max(1, width - visibleLength(first));
  let active: string[] = [];
  let lineHasWord = false;
  const breakLine = (): void => {
    lines.push(active.length > 0 ? `${line}${RESET}` : line);
    line = rest + active.join('');
    room = Math.max(1, width - visibleLength(rest));
    lineHasWord = false;
  };
  const track = (word: string): void => {
    for (const m of word.matchAll(SGR)) active = m[0] === RESET ? [] : [...active, m[0]];
  };
  for (const word of text.split(' ')) {
    const len = visibleLength(word);
    const need = lineHasWord ? len + 1 : len;
    if (need > room && lineHasWord) breakLine();
    if (len > room) {
      // A word longer than a whole line: cut it, character by character.
      for (const p of pieces(word)) {
        if (isCode(p)) {
          line += p;
          active = p === RESET ? [] : [...active, p];
          continue;
        }
        if (room === 0) breakLine();
        line += p;
        room--;
        lineHasWord = true;
      }
      continue;
    }
    line += lineHasWord ? ` ${word}` : word;
    room -= lineHasWord ? len + 1 : len;
    lineHasWord = true;
    track(word);
  }
  lines.push(line);
  return lines.map((l) => l.replace(/ +$/, ''));
}

/**
 * A table of `header` and `rows` in `width` columns: each column as wide as its
 * widest cell, the widest shrunk first when the whole does not fit, cells
 * wrapped inside their column. Every column has a head.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  width: number,
  opts: { indent?: number; gap?: number; paintHeader?: (s: string) => string } = {},
): { header: string[]; rows: string[][] } {
  const indent = opts.indent ?? 2;
  const gap = opts.gap ?? 2;
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const total = (): number => indent + widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
  while (total() > width) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest]! <= 4) break;
    widths[widest]!--;
  }
  const render = (cells: readonly string[], paint: (s: string) => string = (s) => s): string[] => {
    const wrapped = cells.map((c, i) => wrap(c, widths[i]!));
    const height = Math.max(...wrapped.map((w) => w.length));
    const lines: string[] = [];
    for (let l = 0; l < height; l++) {
      const parts = wrapped.map((w, i) => {
        const text = w[l] ?? '';
        return i === wrapped.length - 1 ? text : padVisible(text, widths[i]!);
      });
      lines.push(truncate((' '.repeat(indent) + parts.map(paint).join(' '.repeat(gap))).replace(/ +$/, ''), width));
    }
    return lines;
  };
  return { header: render(header, opts.paintHeader), rows: rows.map((r) => render(r)) };
}
