/**
 * The one duration syntax of the command line and the config files: `250ms`, `10s`, `5m`, `1h`,
 * or a plain number of milliseconds (`600000`); and the shortest way to write one back.
 */

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds (rounded), or undefined when the text is not a duration. Never negative. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  return m === null ? undefined : Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** 300000 → "5m", 10000 → "10s", 250 → "250ms": what parseDuration reads back to the same value. */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
