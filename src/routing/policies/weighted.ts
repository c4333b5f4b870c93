// Smooth weighted round-robin (as in nginx): every pick, each candidate's running credit grows by
// its weight, the candidate with the most credit wins and pays back the total. Over any cycle of
// sum(weights) picks each replica gets exactly its weight's share, interleaved rather than in
// runs (weights 5,1,1 give a a b a c a a, not a a a a a b c), and the sequence is deterministic.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';

export class WeightedPolicy implements RoutingPolicy {
  readonly name = 'weighted';
  /** Running credit per replica id. */
  private readonly credit = new Map<string, number>();

  pick(candidates: readonly ReplicaView[], _request: RoutingRequest): ReplicaView | undefined {
    if (candidates.length === 0) return undefined;
    let anyPositive = false;
    for (const r of candidates) if (r.weight > 0) anyPositive = true;
    let total = 0;
    let best: ReplicaView | undefined;
    let bestCredit = Number.NEGATIVE_INFINITY;
    for (const r of candidates) {
      // Weight 0 means "no traffic" unless every candidate is 0, then they share equally.
      const w = anyPositive ? Math.max(0, r.weight) : 1;
      if (w === 0) continue;
      const c = (this.credit.get(r.id) ?? 0) + w;
      this.credit.set(r.id, c);
      total += w;
      if (c > bestCredit) {
        best = r;
        bestCredit = c;
      }
    }
    if (best) this.credit.set(best.id, bestCredit - total);
    // Replicas removed from the pool would otherwise keep credit entries forever.
    if (this.credit.size > 2 * candidates.length + 16) this.prune(candidates);
    return best;
  }

  private prune(candidates: readonly ReplicaView[]): void {
    const keep = new Set(candidates.map((r) => r.id));
    for (const id of this.credit.keys()) if (!keep.has(id)) this.credit.delete(id);
  }
}
