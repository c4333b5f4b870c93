// Latency: power of two random choices on the gateway's EWMA of time to first token. Sampling two
// candidates and keeping the better one avoids the herd that "always the fastest" causes (every
// request piling onto the replica that was fastest a moment ago) while still favouring fast ones.
//
// A replica with no EWMA yet counts as best, so new or recovered replicas get explored. By
// default the EWMA is multiplied by (1 + inFlight), as Linkerd's peak-EWMA does: a replica that was
// slow once would otherwise lose every comparison, never get traffic, and never refresh its EWMA.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import type { Random } from './select.ts';

export interface LatencyOptions {
  random?: Random;
  /** Weigh the EWMA by (1 + inFlight). Default true. */
  penalizeInFlight?: boolean;
}

export class LatencyPolicy implements RoutingPolicy {
  readonly name = 'latency';
  private readonly random: Random;
  private readonly penalizeInFlight: boolean;

  constructor(options: LatencyOptions = {}) {
    this.random = options.random ?? Math.random;
    this.penalizeInFlight = options.penalizeInFlight ?? true;
  }

  pick(candidates: readonly ReplicaView[], _request: RoutingRequest): ReplicaView | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const i = Math.floor(this.random() * n) % n;
    // A second index different from the first, uniformly among the rest.
    const j = (i + 1 + (Math.floor(this.random() * (n - 1)) % (n - 1))) % n;
    return this.better(candidates[i], candidates[j]);
  }

  private cost(r: ReplicaView): number {
    if (r.ttftEwmaMs === undefined) return Number.NEGATIVE_INFINITY; // unexplored: try it
    return this.penalizeInFlight ? r.ttftEwmaMs * (1 + r.inFlight) : r.ttftEwmaMs;
  }

  private better(a: ReplicaView, b: ReplicaView): ReplicaView {
    const ca = this.cost(a);
    const cb = this.cost(b);
    if (ca !== cb) return ca < cb ? a : b;
    return b.inFlight < a.inFlight ? b : a; // `a` was drawn at random, so remaining ties are random too
  }
}
