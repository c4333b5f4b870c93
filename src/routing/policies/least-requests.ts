// Least requests: the candidate with the fewest requests in flight from this gateway, ties at
// random. Reacts instantly (the gateway counts its own requests), unlike scraped queue depth.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import { pickMinBy, type Random } from './select.ts';

export interface LeastRequestsOptions {
  random?: Random;
}

const inFlight = (r: ReplicaView) => r.inFlight;

export class LeastRequestsPolicy implements RoutingPolicy {
  readonly name = 'least-requests';
  private readonly random: Random;

  constructor(options: LeastRequestsOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  pick(candidates: readonly ReplicaView[], _request: RoutingRequest): ReplicaView | undefined {
    return pickMinBy(candidates, inFlight, this.random);
  }
}
