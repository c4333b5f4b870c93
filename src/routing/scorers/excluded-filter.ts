// Excluded filter: drops the deployments this request already failed on, so a retry goes elsewhere.

import type { ReplicaView } from '../types.ts';
import type { Filter, PoolPickContext } from './types.ts';

export const excludedFilter: Filter<ReplicaView, PoolPickContext> = {
  name: 'excluded',
  filter(candidates, _request, ctx, eligible) {
    if (ctx.exclude.size === 0) return;
    for (let i = 0; i < candidates.length; i++) if (ctx.exclude.has(candidates[i])) eligible[i] = false;
  },
};
