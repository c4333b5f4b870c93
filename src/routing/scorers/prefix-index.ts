// The gateway's memory of which replicas were recently sent which prompt prefixes: prefix-block
// hash -> the replicas that received that block most recently. The gateway cannot see the engines'
// caches, but a replica that was sent a prefix a moment ago very likely still holds it; the bound
// on remembered blocks stands in for the engines evicting old prefixes.
//
// This runs on every request for up to 128 blocks, so it avoids a strict LRU (a Map delete + set
// per block per request). Instead it keeps two generations: blocks are written to `young`; when
// `young` reaches half the capacity it becomes `old` and the previous `old` is dropped whole.
// A block seen again while in `old` moves back to `young`. Recently used blocks therefore survive
// and the least recently used half goes first: an approximate LRU holding between capacity/2 and
// capacity blocks. Replicas are stored as small integer slots so matching a request costs one or
// two map lookups per block, independent of the number of candidates.
//
// Map lookups in a map of 100k entries cost a few hundred ns each (cache misses), so only every
// `blockStride`-th block is indexed: with 256-character blocks and stride 4 the index tracks
// prefixes at about 256-token granularity, plenty for scoring, at a quarter of the cost.

import type { ReplicaView } from '../types.ts';

export interface PrefixIndexOptions {
  /** Block hashes remembered at most. Default 100,000 (about 25k blocks per replica on 4 replicas). */
  capacity?: number;
  /** Replicas kept per block, most recent first. Default 4. */
  replicasPerBlock?: number;
  /** Index every n-th block only (blocks n-1, 2n-1, ...). Default 4. */
  blockStride?: number;
}

export class PrefixIndex {
  readonly capacity: number;
  readonly replicasPerBlock: number;
  readonly blockStride: number;
  private young = new Map<string, number[]>();
  private old = new Map<string, number[]>();
  private readonly slotById = new Map<string, number>();
  // Per-call candidate position by slot; valid where stamp equals the current generation.
  private positions = new Int32Array(16);
  private stamps = new Float64Array(16);
  private generation = 0;

  constructor(options: PrefixIndexOptions = {}) {
    this.capacity = Math.max(2, Math.floor(options.capacity ?? 100_000));
    this.replicasPerBlock = Math.max(1, Math.floor(options.replicasPerBlock ?? 4));
    this.blockStride = Math.max(1, Math.floor(options.blockStride ?? 4));
  }

  /** Blocks currently remembered (a block moved from old to young may count twice until old is dropped). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Records that `replicaId` was sent a prompt with these block hashes. */
  record(replicaId: string, hashes: readonly string[]): void {
    const slot = this.slotOf(replicaId);
    // Last block first, so that if a generation turns over mid-way the shorter prefixes land in the
    // newer one: the index never remembers block i for a replica after forgetting its block i - 1.
    const stride = this.blockStride;
    for (let b = Math.floor(hashes.length / stride) * stride - 1; b >= 0; b -= stride) {
      const hash = hashes[b];
      let holders = this.young.get(hash);
      if (holders === undefined) {
        holders = this.old.get(hash);
        if (holders === undefined) holders = [slot];
        else this.addHolder(holders, slot);
        this.young.set(hash, holders);
        if (this.young.size >= this.capacity / 2) {
          this.old = this.young;
          this.young = new Map();
        }
      } else this.addHolder(holders, slot);
    }
  }

  /**
   * out[i] = how many leading blocks of `hashes` candidates[i] was recently sent, in multiples of
   * the stride (a trailing partial stride is not counted).
   */
  matchedBlocks(candidates: readonly ReplicaView[], hashes: readonly string[], out: Float64Array): void {
    const n = candidates.length;
    const gen = ++this.generation;
    let known = 0;
    for (let i = 0; i < n; i++) {
      out[i] = 0;
      const slot = this.slotById.get(candidates[i].id);
      if (slot === undefined) continue;
      this.stamps[slot] = gen;
      this.positions[slot] = i;
      known++;
    }
    if (known === 0) return;
    const stride = this.blockStride;
    for (let b = stride - 1; b < hashes.length; b += stride) {
      const holders = this.young.get(hashes[b]) ?? this.old.get(hashes[b]);
      if (holders === undefined) return;
      let extended = false;
      for (const slot of holders) {
        if (this.stamps[slot] !== gen) continue;
        const i = this.positions[slot];
        if (out[i] === b + 1 - stride) {
          out[i] = b + 1;
          extended = true;
        }
      }
      if (!extended) return;
    }
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }

  private addHolder(holders: number[], slot: number): void {
    if (holders[0] === slot) return;
    const at = holders.indexOf(slot);
    if (at >= 0) holders.splice(at, 1);
    holders.unshift(slot);
    if (holders.length > this.replicasPerBlock) holders.length = this.replicasPerBlock;
  }

  private slotOf(id: string): number {
    let slot = this.slotById.get(id);
    if (slot === undefined) {
      slot = this.slotById.size;
      this.slotById.set(id, slot);
      if (slot >= this.stamps.length) {
        const stamps = new Float64Array(this.stamps.length * 2);
        stamps.set(this.stamps);
        this.stamps = stamps;
        const positions = new Int32Array(this.positions.length * 2);
        positions.set(this.positions);
        this.positions = positions;
      }
    }
    return slot;
  }
}
