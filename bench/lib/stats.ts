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

/**
 * A percentile bootstrap interval for the median of `samples`: the median of `resamples` draws
 * with replacement, the middle `confidence` of them. The draws come from a fixed-seed generator,
 * so the same samples always give the same interval (a results table can be checked again).
 */
export function bootstrapMedianInterval(
  samples: readonly number[],
  confidence = 0.95,
  resamples = 4_000,
  seed = 0x5eed,
): { readonly low: number; readonly high: number } {
  if (samples.length === 0) return { low: Number.NaN, high: Number.NaN };
  const random = mulberry32(seed);
  const medians: number[] = [];
  const draw = new Array<number>(samples.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < samples.length; i++) draw[i] = samples[Math.floor(random() * samples.length)]!;
    medians.push(median(draw));
  }
  medians.sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return {
    low: medians[Math.floor(tail * (resamples - 1))]!,
    high: medians[Math.ceil((1 - tail) * (resamples - 1))]!,
  };
}

/** A small seeded generator of uniform numbers in [0, 1) (mulberry32): reproducible, not for secrets. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
