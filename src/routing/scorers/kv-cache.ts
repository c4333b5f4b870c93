// KV-cache scorer: 1 - scraped KV-cache usage. A replica whose cache is nearly full will queue or
// preempt new work. Candidates without a fresh reading get the mean of those with one (or 1 when
// none has one), so a missing scrape neither favours nor punishes a replica.

import type { ReplicaView } from '../types.ts';
import { freshSignals, type Scorer, type ScoringContext } from './types.ts';

export class KvCacheScorer implements Scorer {
  readonly name = 'kv-cache';

  score(candidates: readonly ReplicaView[], _request: unknown, ctx: ScoringContext, out: Float64Array): void {
    const n = candidates.length;
    let sum = 0;
    let known = 0;
    for (let i = 0; i < n; i++) {
      const usage = freshSignals(candidates[i], ctx)?.kvUsage;
      if (usage === undefined || !Number.isFinite(usage)) out[i] = -1;
      else {
        out[i] = 1 - Math.min(1, Math.max(0, usage));
        sum += out[i];
        known++;
      }
    }
    const neutral = known > 0 ? sum / known : 1;
    for (let i = 0; i < n; i++) if (out[i] < 0) out[i] = neutral;
  }
}
