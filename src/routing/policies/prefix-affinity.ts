// Prefix affinity: consistent hashing with bounded load (CHWBL, Mirrokni et al., as in HAProxy's
// hash-balance-factor). The key is the hash of one prefix block at a fixed depth, so requests that
// share a system prompt (or the start of a conversation) go to the same replica, whose KV cache
// then holds that prefix. Walking clockwise from the key, replicas already carrying more than
// ceil(average x (1 + epsilon)) requests are skipped, so one hot prefix cannot overload a replica:
// the overflow lands on the next replica on the ring (which then caches it too).

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import { hashString32 } from '../prefix-hash.ts';
import { HashRing } from './hash-ring.ts';
import { pickMinBy, type Random } from './select.ts';

export interface PrefixAffinityOptions {
  /**
   * Which prefix block is the key: block min(blocks - 1, keyBlock). Deep enough to tell tenants'
   * system prompts apart, shallow enough that later turns of a conversation keep the same key.
   * Default 8 (the first 9 blocks, about 2.3k characters or 600 tokens with 256-character blocks).
   */
  keyBlock?: number;
  /** Allowed load above the average before a replica is skipped. Default 0.25. */
  epsilon?: number;
  /** Ring positions per replica; more gives a more even split of keys. Default 100. */
  virtualNodes?: number;
  random?: Random;
}

const inFlight = (r: ReplicaView) => r.inFlight;

export class PrefixAffinityPolicy implements RoutingPolicy {
  readonly name = 'prefix-affinity';
  readonly keyBlock: number;
  readonly epsilon: number;
  private readonly ring: HashRing;
  private readonly random: Random;
  // Per-pick lookup from ring index to candidate, reused across picks: an entry is valid when its
  // stamp equals the current pick's generation.
  private views: (ReplicaView | undefined)[] = [];
  private stamps = new Float64Array(0);
  private generation = 0;

  constructor(options: PrefixAffinityOptions = {}) {
    this.keyBlock = Math.max(0, Math.floor(options.keyBlock ?? 8));
    this.epsilon = Math.max(0, options.epsilon ?? 0.25);
    this.ring = new HashRing(options.virtualNodes ?? 100);
    this.random = options.random ?? Math.random;
  }

  pick(candidates: readonly ReplicaView[], request: RoutingRequest): ReplicaView | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const blocks = request.prefixHashes.length;
    // No full block: nothing to be affine to, so spread by load.
    if (blocks === 0) return pickMinBy(candidates, inFlight, this.random);

    this.index(candidates);
    let total = 0;
    for (const r of candidates) total += r.inFlight;
    const bound = Math.ceil((total / n) * (1 + this.epsilon));

    const key = hashString32(request.prefixHashes[Math.min(blocks - 1, this.keyBlock)]);
    const start = this.ring.start(key);
    const length = this.ring.length;
    let fallback: ReplicaView | undefined;
    for (let step = 0; step < length; step++) {
      const view = this.candidateAt(this.ring.ownerAt(start + step));
      if (view === undefined) continue;
      if (view.inFlight <= bound) return view;
      if (fallback === undefined || view.inFlight < fallback.inFlight) fallback = view;
    }
    return fallback; // unreachable in practice: someone is always at or below the average
  }

  private candidateAt(owner: number): ReplicaView | undefined {
    return this.stamps[owner] === this.generation ? this.views[owner] : undefined;
  }

  /** Marks this pick's candidates by ring index, rebuilding the ring when a new replica appears. */
  private index(candidates: readonly ReplicaView[]): void {
    let missing = false;
    for (const r of candidates) if (this.ring.indexOf(r.id) < 0) missing = true;
    // Ids that left for good are dropped on the next rebuild; keeping them meanwhile is harmless
    // (they are skipped like any non-candidate).
    if (missing || this.ring.size > 2 * candidates.length + 16) {
      const ids = new Set<string>();
      if (!(this.ring.size > 2 * candidates.length + 16)) for (let i = 0; i < this.ring.size; i++) ids.add(this.ring.idAt(i));
      for (const r of candidates) ids.add(r.id);
      this.ring.rebuild(ids);
      this.views = new Array(this.ring.size);
      this.stamps = new Float64Array(this.ring.size);
      this.generation = 0;
    }
    this.generation++;
    for (const r of candidates) {
      const i = this.ring.indexOf(r.id);
      this.views[i] = r;
      this.stamps[i] = this.generation;
    }
  }
}
