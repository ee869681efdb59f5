/**
 * Interleaved rounds: every subject runs once per round, so slow drift of the machine (thermal
 * state, the page cache, a neighbour's build) lands on all subjects alike. The order alternates
 * A B, B A, A B, … so that neither subject always runs first in a round.
 *
 * On a shared machine a round is kept only when every sample in it was quiet (the caller says
 * what quiet means, e.g. little CPU used by other processes); a noisy round is run again, up to
 * a bounded number of attempts. If too few quiet rounds came within the bound, every round is
 * used and the outcome says so.
 */

export interface RoundSample {
  readonly value: number;
  /** Nothing else competed for the machine while the sample ran. */
  readonly quiet: boolean;
}

export interface RoundsOptions<S extends string, T extends RoundSample> {
  /** Quiet rounds wanted. */
  readonly rounds: number;
  /** Bound on rounds run, quiet or not. */
  readonly maxAttempts: number;
  /** Fewest quiet rounds worth a median of their own. */
  readonly minQuietRounds: number;
  /** Called before each round, e.g. to wait (bounded) for a quiet machine. */
  readonly beforeRound?: () => Promise<void>;
  /** Called after each sample, e.g. to print progress. */
  readonly onSample?: (subject: S, attempt: number, sample: T) => void;
}

export interface RoundsOutcome<S extends string, T extends RoundSample> {
  /** Per subject, the samples the result stands on: the quiet rounds, or all rounds (see quietOnly). */
  readonly samples: Record<S, T[]>;
  readonly attempts: number;
  readonly quietRounds: number;
  readonly quietOnly: boolean;
}

export async function interleavedRounds<S extends string, T extends RoundSample>(
  subjects: readonly S[],
  options: RoundsOptions<S, T>,
  sample: (subject: S) => Promise<T>,
): Promise<RoundsOutcome<S, T>> {
  const all = new Map<S, T[]>(subjects.map((s) => [s, []]));
  const quiet = new Map<S, T[]>(subjects.map((s) => [s, []]));
  let quietRounds = 0;
  let attempts = 0;
  while (quietRounds < options.rounds && attempts < options.maxAttempts) {
    await options.beforeRound?.();
    const order = attempts % 2 === 0 ? subjects : [...subjects].reverse();
    const round: [S, T][] = [];
    for (const subject of order) {
      const s = await sample(subject);
      round.push([subject, s]);
      all.get(subject)!.push(s);
      options.onSample?.(subject, attempts, s);
    }
    if (round.every(([, s]) => s.quiet)) {
      for (const [subject, s] of round) quiet.get(subject)!.push(s);
      quietRounds++;
    }
    attempts++;
  }
  const quietOnly = quietRounds >= Math.min(options.minQuietRounds, options.rounds);
  const chosen = quietOnly ? quiet : all;
  return {
    samples: Object.fromEntries(subjects.map((s) => [s, chosen.get(s)!])) as Record<S, T[]>,
    attempts,
    quietRounds,
    quietOnly,
  };
}
