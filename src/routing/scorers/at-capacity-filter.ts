// At-capacity filter: drops candidates already carrying their max_concurrency. The pool applies it
// last (a pool whose admissible deployments are all at capacity queues the request); the scheduler
// applies it too, so a policy handed a full replica never chooses it.

import type { ReplicaView } from '../types.ts';
import type { Filter } from './types.ts';

export const atCapacityFilter: Filter<ReplicaView, unknown> = {
  name: 'at-capacity',
  filter(candidates, _request, _ctx, eligible) {
    for (let i = 0; i < candidates.length; i++) {
      const r = candidates[i];
      if (r.maxConcurrency !== undefined && r.inFlight >= r.maxConcurrency) eligible[i] = false;
    }
  },
};
