// Round-robin: each pick takes the next candidate in turn. Stateless apart from one counter, so
// it stays even while the candidate list shrinks and grows (exclusions on retry, ejections).

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';

export class RoundRobinPolicy implements RoutingPolicy {
  readonly name = 'round-robin';
  private next = 0;

  pick(candidates: readonly ReplicaView[], _request: RoutingRequest): ReplicaView | undefined {
    if (candidates.length === 0) return undefined;
    const chosen = candidates[this.next % candidates.length];
    this.next = (this.next + 1) % 0x7fffffff;
    return chosen;
  }
}
