// Session stickiness: a conversation (request.sessionKey) goes back to the replica that served its
// previous turn, whose KV cache holds the conversation so far, as long as that replica is still a
// candidate (healthy, not excluded) and not overloaded. Otherwise the wrapped policy decides and
// the session moves. Sessions are remembered in a bounded LRU map.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import { LruMap } from './lru.ts';

export interface StickinessOptions {
  /** Stay only while the replica's in-flight count is at most this multiple of the candidates' average. Default 2. */
  maxInFlightRatio?: number;
  /** Below this many in-flight requests a replica never counts as overloaded (small counts are noise). Default 2. */
  minInFlight?: number;
  /** Sessions remembered. Default 10,000. */
  capacity?: number;
}

export function withStickiness(policy: RoutingPolicy, options: StickinessOptions = {}): RoutingPolicy {
  const ratio = options.maxInFlightRatio ?? 2;
  const minInFlight = options.minInFlight ?? 2;
  const sessions = new LruMap<string, string>(options.capacity ?? 10_000);

  function stickyReplica(candidates: readonly ReplicaView[], sessionKey: string): ReplicaView | undefined {
    const id = sessions.get(sessionKey);
    if (id === undefined) return undefined;
    let previous: ReplicaView | undefined;
    let total = 0;
    for (const r of candidates) {
      total += r.inFlight;
      if (r.id === id) previous = r;
    }
    if (previous === undefined) return undefined;
    if (previous.maxConcurrency !== undefined && previous.inFlight >= previous.maxConcurrency) return undefined;
    if (previous.inFlight < minInFlight) return previous;
    return previous.inFlight <= ratio * (total / candidates.length) ? previous : undefined;
  }

  return {
    name: `${policy.name}+sticky`,
    pick(candidates, request) {
      if (request.sessionKey !== undefined && candidates.length > 0) {
        const sticky = stickyReplica(candidates, request.sessionKey);
        if (sticky) return sticky;
      }
      return policy.pick(candidates, request);
    },
    onRouted(replica: ReplicaView, request: RoutingRequest) {
      policy.onRouted?.(replica, request);
      if (request.sessionKey !== undefined) sessions.set(request.sessionKey, replica.id);
    },
  };
}
