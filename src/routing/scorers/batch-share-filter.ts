// Batch-share filter: for a lowest-priority pick, drops deployments already carrying their share
// of batch work (the pool's LowestPriorityShare), so batch requests spread evenly and no replica's
// interactive requests bear more of them. Nothing is dropped for other picks.

import type { Deployment } from '../deployment.ts';
import type { Filter, PoolPickContext } from './types.ts';

export const batchShareFilter: Filter<Deployment, PoolPickContext> = {
  name: 'batch-share',
  filter(candidates, _request, ctx, eligible) {
    const cap = ctx.lowestPriorityCap;
    if (cap === undefined) return;
    for (let i = 0; i < candidates.length; i++) if (candidates[i].lowestPriorityInFlight >= cap) eligible[i] = false;
  },
};
