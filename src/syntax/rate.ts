/**
 * The one rate syntax: `COUNT/WINDOW`, at most COUNT in any WINDOW, the window a duration
 * (src/syntax/duration.ts): `10/60s`, `3/10m`, or `3/600000` in milliseconds. A limit in this
 * syntax may also be `0` alone: no limit.
 */
import { parseDuration } from './duration.ts';

export interface Rate {
  readonly count: number;
  readonly windowMs: number;
}

/**
 * Reads `COUNT/WINDOW`. `form`: no `/`; `count`: not a whole number of at least minCount;
 * `window`: not a duration longer than 0. The texts on either side are given back for messages.
 */
export type RateParse =
  | { readonly ok: true; readonly rate: Rate }
  | {
      readonly ok: false;
      readonly problem: 'form' | 'count' | 'window';
      readonly countText?: string;
      readonly windowText?: string;
    };

export function parseRate(text: string, minCount = 1): RateParse {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, problem: 'form' };
  const countText = text.slice(0, slash);
  const windowText = text.slice(slash + 1);
  const count = countText.trim() === '' ? NaN : Number(countText);
  const windowMs = parseDuration(windowText);
  if (!Number.isInteger(count) || count < minCount) return { ok: false, problem: 'count', countText, windowText };
  if (windowMs === undefined || windowMs <= 0) return { ok: false, problem: 'window', countText, windowText };
  return { ok: true, rate: { count, windowMs } };
}

/**
 * A limit: `0` alone (no limit, whatever the window: `{ count: 0, windowMs: 0 }`) or COUNT/WINDOW
 * with COUNT 0 or more (the server's `--client-reneg-limit`). Undefined when the text is neither.
 */
export function parseRateLimit(text: string): Rate | undefined {
  if (text.trim() === '0') return { count: 0, windowMs: 0 };
  const rate = parseRate(text.trim(), 0);
  return rate.ok ? rate.rate : undefined;
}
