/** Small statistics for benchmark samples: medians, not means, so one slow sample cannot drag a result. */
export function median(values) {
    if (values.length === 0)
        return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
export function summarise(samples) {
    return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: [...samples] };
}
/** (max - min) / median: how far apart the rounds were, as a fraction. */
export function spread(s) {
    return s.median === 0 ? Number.NaN : (s.max - s.min) / s.median;
}
//# sourceMappingURL=stats.js.map