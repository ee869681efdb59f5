/**
 * Interleaved rounds: every subject runs once per round, so slow drift of the machine (thermal
 * state, a noisy neighbour, the page cache) lands on all subjects alike. The order alternates
 * A B, B A, A B, … so that neither subject always runs first in a round.
 */
import { summarise, type Summary } from './stats.ts';

export interface RoundsOptions<S extends string> {
  readonly rounds: number;
  /** Called after each sample, e.g. to print progress. */
  readonly onSample?: (subject: S, round: number, value: number) => void;
}

export async function interleavedRounds<S extends string>(
  subjects: readonly S[],
  options: RoundsOptions<S>,
  sample: (subject: S, round: number) => Promise<number>,
): Promise<Record<S, Summary>> {
  const values = new Map<S, number[]>(subjects.map((s) => [s, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order) {
      const value = await sample(subject, round);
      values.get(subject)!.push(value);
      options.onSample?.(subject, round, value);
    }
  }
  return Object.fromEntries(subjects.map((s) => [s, summarise(values.get(s)!)])) as Record<S, Summary>;
}
