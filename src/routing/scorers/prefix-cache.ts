// Prefix-cache scorer: the fraction of this request's prefix blocks a candidate was recently sent
// (from the gateway's own routing history), i.e. an estimate of its prefix-cache hit for this
// prompt. 1 = the whole prompt is probably cached there, 0 = nothing is.

import type { ReplicaView, RoutingRequest } from '../types.ts';
import { PrefixIndex, type PrefixIndexOptions } from './prefix-index.ts';
import type { Scorer } from './types.ts';

export class PrefixCacheScorer implements Scorer {
  readonly name = 'prefix-cache';
  readonly index: PrefixIndex;

  constructor(options: PrefixIndexOptions = {}) {
    this.index = new PrefixIndex(options);
  }

  score(candidates: readonly ReplicaView[], request: RoutingRequest, _ctx: unknown, out: Float64Array): void {
    const total = request.prefixHashes.length;
    if (total === 0) {
      for (let i = 0; i < candidates.length; i++) out[i] = 0;
      return;
    }
    this.index.matchedBlocks(candidates, request.prefixHashes, out);
    for (let i = 0; i < candidates.length; i++) out[i] /= total;
  }

  onRouted(replica: ReplicaView, request: RoutingRequest): void {
    this.index.record(replica.id, request.prefixHashes);
  }
}
