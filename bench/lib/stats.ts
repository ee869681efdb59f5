/** Small statistics for benchmark samples: medians, not means, so one slow sample cannot drag a result. */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarise(samples: readonly number[]): Summary {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples] };
}

/** (max - min) / median: how far apart the rounds were, as a fraction. */
export function spread(s: Summary): number {
  return s.median === 0 ? Number.NaN : (s.max - s.min) / s.median;
}
