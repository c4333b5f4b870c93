// Health filters, the tiers a pool relaxes in turn. `available`: passes its health checks and its
// circuit breaker is not open. `healthy`: passes its health checks, whatever its breaker says
// (tried when none is available, because a stale mark must not turn into a certain failure).

import type { Deployment } from '../deployment.ts';
import type { ReplicaView } from '../types.ts';
import type { Filter } from './types.ts';

export const availableFilter: Filter<ReplicaView, unknown> = {
  name: 'available',
  filter(candidates, _request, _ctx, eligible) {
    for (let i = 0; i < candidates.length; i++) if (!candidates[i].available) eligible[i] = false;
  },
};

export const healthyFilter: Filter<Deployment, unknown> = {
  name: 'healthy',
  filter(candidates, _request, _ctx, eligible) {
    for (let i = 0; i < candidates.length; i++) if (!candidates[i].healthy) eligible[i] = false;
  },
};
