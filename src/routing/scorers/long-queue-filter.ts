// Long-queue filter: drops candidates whose estimated queue (queue-estimate.ts) is more than
// `maxAboveMin` requests longer than the shortest among those still eligible. It never drops the
// shortest, so someone always remains: a replica holding the request's prefix is not worth a long
// wait behind others' work.

import type { ReplicaView, RoutingRequest } from '../types.ts';
import type { QueueEstimate } from './queue-estimate.ts';
import type { Filter, ScoringContext } from './types.ts';

export interface LongQueueFilterOptions {
  /** Default 32. */
  maxAboveMin?: number;
}

export class LongQueueFilter implements Filter {
  readonly name = 'long-queue';
  readonly maxAboveMin: number;
  private depths = new Float64Array(8);

  constructor(
    private readonly estimate: QueueEstimate,
    options: LongQueueFilterOptions = {},
  ) {
    this.maxAboveMin = options.maxAboveMin ?? 32;
  }

  filter(candidates: readonly ReplicaView[], _request: RoutingRequest, ctx: ScoringContext, eligible: boolean[]): void {
    const n = candidates.length;
    if (this.depths.length < n) this.depths = new Float64Array(n * 2);
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (!eligible[i]) continue;
      this.depths[i] = this.estimate.depth(candidates[i], ctx);
      if (this.depths[i] < min) min = this.depths[i];
    }
    for (let i = 0; i < n; i++) if (eligible[i] && this.depths[i] > min + this.maxAboveMin) eligible[i] = false;
  }
}
