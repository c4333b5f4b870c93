// Linear-scan selection helpers shared by the policies: O(candidates), no sorting, no allocation.
// Ties are broken uniformly at random (reservoir sampling over the tied candidates), because
// "first wins" sends every tie of a burst to the same replica.

import type { ReplicaView } from '../types.ts';

export type Random = () => number;

/** Candidate with the lowest cost; equal costs (within `epsilon`) are chosen between at random. */
export function pickMinBy(candidates: readonly ReplicaView[], cost: (r: ReplicaView) => number, random: Random, epsilon = 0): ReplicaView | undefined {
  let best: ReplicaView | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  let ties = 0;
  for (const r of candidates) {
    const c = cost(r);
    if (best === undefined || c < bestCost - epsilon) {
      best = r;
      bestCost = c;
      ties = 1;
    } else if (c <= bestCost + epsilon) {
      ties++;
      if (random() * ties < 1) best = r;
    }
  }
  return best;
}

/** Index of the highest of the first `n` scores with `eligible[i]`; ties (within `epsilon`) at random; -1 if none. */
export function indexOfMax(scores: ArrayLike<number>, n: number, random: Random, eligible?: ArrayLike<boolean>, epsilon = 1e-9): number {
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  let ties = 0;
  for (let i = 0; i < n; i++) {
    if (eligible && !eligible[i]) continue;
    const s = scores[i];
    if (best < 0 || s > bestScore + epsilon) {
      best = i;
      bestScore = s;
      ties = 1;
    } else if (s >= bestScore - epsilon) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return best;
}
