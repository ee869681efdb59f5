/** Plain tables for the terminal and for Markdown, from the same rows. */
export function markdownTable(header, rows) {
    const line = (r) => `| ${r.join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
export function textTable(header, rows) {
    const all = [header, ...rows];
    const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
    const line = (r) => r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
export function fixed(value, digits) {
    return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
//# sourceMappingURL=table.js.map