// Least tokens: the candidate with the least outstanding estimated work (prompt tokens not yet
// prefilled + tokens still to decode) sent by this gateway, ties at random. Better than counting
// requests when prompt lengths vary widely: one 8k-token prompt is not one 100-token prompt.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import { pickMinBy, type Random } from './select.ts';

export interface LeastTokensOptions {
  random?: Random;
}

const inFlightTokens = (r: ReplicaView) => r.inFlightTokens;

export class LeastTokensPolicy implements RoutingPolicy {
  readonly name = 'least-tokens';
  private readonly random: Random;

  constructor(options: LeastTokensOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  pick(candidates: readonly ReplicaView[], _request: RoutingRequest): ReplicaView | undefined {
    return pickMinBy(candidates, inFlightTokens, this.random);
  }
}
