// The gateway's memory of which replicas were recently sent which prompt prefixes: an LRU map from
// prefix-block hash to the replica ids that received that block most recently. The gateway cannot
// see the engines' caches, but a replica that was sent a prefix a moment ago very likely still
// holds it; the LRU bound stands in for the engines evicting old prefixes.

import { LruMap } from '../policies/lru.ts';
import type { ReplicaView } from '../types.ts';

export interface PrefixIndexOptions {
  /** Block hashes remembered. Default 100,000 (~25k blocks per replica on 4 replicas). */
  capacity?: number;
  /** Replica ids kept per block, most recent first. Default 4. */
  replicasPerBlock?: number;
}

export class PrefixIndex {
  private readonly blocks: LruMap<string, string[]>;
  readonly replicasPerBlock: number;

  constructor(options: PrefixIndexOptions = {}) {
    this.blocks = new LruMap(options.capacity ?? 100_000);
    this.replicasPerBlock = Math.max(1, Math.floor(options.replicasPerBlock ?? 4));
  }

  get size(): number {
    return this.blocks.size;
  }

  /** Records that `replicaId` was sent a prompt with these block hashes. */
  record(replicaId: string, hashes: readonly string[]): void {
    // Last block first, so the shortest prefixes end up most recent and are evicted last: the index
    // then never holds block i for a replica while having forgotten its block i - 1.
    for (let b = hashes.length - 1; b >= 0; b--) {
      const holders = this.blocks.peek(hashes[b]);
      if (holders === undefined) {
        this.blocks.set(hashes[b], [replicaId]);
        continue;
      }
      if (holders[0] !== replicaId) {
        const at = holders.indexOf(replicaId);
        if (at >= 0) holders.splice(at, 1);
        holders.unshift(replicaId);
        if (holders.length > this.replicasPerBlock) holders.length = this.replicasPerBlock;
      }
      this.blocks.set(hashes[b], holders); // refresh recency
    }
  }

  /** out[i] = how many leading blocks of `hashes` candidates[i] was recently sent. */
  matchedBlocks(candidates: readonly ReplicaView[], hashes: readonly string[], out: Float64Array): void {
    const n = candidates.length;
    for (let i = 0; i < n; i++) out[i] = 0;
    for (let b = 0; b < hashes.length; b++) {
      const holders = this.blocks.peek(hashes[b]);
      if (holders === undefined) return;
      let extended = false;
      for (let i = 0; i < n; i++) {
        if (out[i] === b && holders.includes(candidates[i].id)) {
          out[i] = b + 1;
          extended = true;
        }
      }
      if (!extended) return;
    }
  }

  clear(): void {
    this.blocks.clear();
  }
}
