/**
 * The whole-number syntax of the command line: decimal digits with an optional leading minus,
 * spaces around them ignored (`5`, ` 0`, `-3`). `1.5`, `1e3`, `0x10`, `abc` and the empty text are
 * not whole numbers, whatever Number() makes of them.
 */

/** The number, or undefined when the text is not a whole number in [min, max]. */
export function parseWholeNumber(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^-?\d+$/.test(text.trim())) return undefined;
  const n = Number(text);
  return n < min || n > max ? undefined : n;
}

/** The range in words, for the message that refuses a value: `1 or more`, `from 0 to 65535`. */
export function wholeNumberRange(min: number, max = Number.MAX_SAFE_INTEGER): string {
  return max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
}
