/**
 * Interleaved rounds: every subject runs once per round, so slow drift of the machine (thermal
 * state, a noisy neighbour, the page cache) lands on all subjects alike. The order alternates
 * A B, B A, A B, … so that neither subject always runs first in a round.
 */
import { summarise } from "./stats.js";
export async function interleavedRounds(subjects, options, sample) {
    const values = new Map(subjects.map((s) => [s, []]));
    for (let round = 0; round < options.rounds; round++) {
        const order = round % 2 === 0 ? subjects : [...subjects].reverse();
        for (const subject of order) {
            const value = await sample(subject, round);
            values.get(subject).push(value);
            options.onSample?.(subject, round, value);
        }
    }
    return Object.fromEntries(subjects.map((s) => [s, summarise(values.get(s))]));
}
//# sourceMappingURL=rounds.js.map