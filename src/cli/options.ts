/**
 * Parsers for option values and the exit-code footer of every --help. A bad value is reported by
 * commander on one line, naming the option, and the command exits with EXIT.usage.
 */
import { InvalidArgumentError } from 'commander';
import { EXIT } from '../tools/usage.ts';

/** A whole number in [min, max]: "abc", "1.5", "-3" (with min 0) and "" are refused. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`want a whole number ${range}.`);
    }
    return n;
  };
}

/** COUNT/WINDOW_MS, e.g. 3/600000: at most COUNT in any WINDOW_MS (COUNT 0: no limit). */
export function countPerWindow(value: string): { count: number; windowMs: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (m === null || Number(m[2]) < 1) throw new InvalidArgumentError('want COUNT/MILLISECONDS, e.g. 3/600000.');
  return { count: Number(m[1]), windowMs: Number(m[2]) };
}

/** The footer of a subcommand's --help: what each exit code means for it, then examples. */
export function helpFooter(codes: Partial<Record<keyof typeof EXIT, string>>, examples: readonly string[]): string {
  const lines = Object.entries(codes).map(([k, text]) => `  ${EXIT[k as keyof typeof EXIT]}  ${text}`);
  return `\nExit codes:\n${lines.join('\n')}\n\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`;
}
