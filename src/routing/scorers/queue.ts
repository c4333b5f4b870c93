// Queue scorer: how many requests are waiting at each candidate (queue-estimate.ts: scraped
// waiting plus the in-flight credit), lower is better. It feeds the estimate: the credit counts
// the requests it is told were routed.

import type { ReplicaView } from '../types.ts';
import { QueueEstimate } from './queue-estimate.ts';
import { scoreRelativeToMin, type Scorer, type ScoringContext } from './types.ts';

export interface QueueScorerOptions {
  /** Excess queued requests over the least-loaded candidate that halves a score (when that one is idle). Default 4. */
  scale?: number;
  /** The estimate to read and feed (the scheduler shares one with the long-queue filter). Default: its own. */
  estimate?: QueueEstimate;
}

export class QueueScorer implements Scorer {
  readonly name = 'queue';
  readonly scale: number;
  readonly estimate: QueueEstimate;
  private depths = new Float64Array(8);

  constructor(options: QueueScorerOptions = {}) {
    this.scale = options.scale ?? 4;
    this.estimate = options.estimate ?? new QueueEstimate();
  }

  depth(r: ReplicaView, ctx: ScoringContext): number {
    return this.estimate.depth(r, ctx);
  }

  score(candidates: readonly ReplicaView[], _request: unknown, ctx: ScoringContext, out: Float64Array): void {
    const n = candidates.length;
    if (this.depths.length < n) this.depths = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) this.depths[i] = this.estimate.depth(candidates[i], ctx);
    scoreRelativeToMin(this.depths, n, this.scale, out);
  }

  onRouted(replica: ReplicaView): void {
    this.estimate.onRouted(replica);
  }
}
