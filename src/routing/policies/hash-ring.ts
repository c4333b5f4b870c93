// A consistent-hash ring of replica ids with virtual nodes. Replicas that are not candidates for a
// pick are skipped while walking, which maps keys exactly as if they had been removed from the
// ring: only the keys they owned move, everyone else's keys stay put.

import { hashString32 } from '../prefix-hash.ts';

export class HashRing {
  readonly virtualNodes: number;
  /** Ring positions, ascending, and the index (into `ids`) of the replica owning each. */
  private points = new Uint32Array(0);
  private owners = new Int32Array(0);
  private ids: string[] = [];
  private readonly indexById = new Map<string, number>();

  constructor(virtualNodes: number) {
    this.virtualNodes = Math.max(1, Math.floor(virtualNodes));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Index of a replica on the ring, or -1 when it is not on it. */
  indexOf(id: string): number {
    return this.indexById.get(id) ?? -1;
  }

  idAt(index: number): string {
    return this.ids[index];
  }

  /** Puts exactly these ids on the ring (rare: only when the replica set changes). */
  rebuild(ids: Iterable<string>): void {
    this.ids = [...new Set(ids)].sort();
    this.indexById.clear();
    this.ids.forEach((id, i) => this.indexById.set(id, i));
    const count = this.ids.length * this.virtualNodes;
    const entries: { point: number; owner: number }[] = new Array(count);
    let k = 0;
    for (let owner = 0; owner < this.ids.length; owner++) {
      for (let v = 0; v < this.virtualNodes; v++) entries[k++] = { point: hashString32(`${this.ids[owner]}#${v}`), owner };
    }
    // Equal points (rare 32-bit collisions) are ordered by owner so the ring does not depend on input order.
    entries.sort((a, b) => a.point - b.point || a.owner - b.owner);
    this.points = new Uint32Array(count);
    this.owners = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      this.points[i] = entries[i].point;
      this.owners[i] = entries[i].owner;
    }
  }

  /** Number of ring entries (replicas x virtual nodes). */
  get length(): number {
    return this.points.length;
  }

  /** First entry at or clockwise after `hash`. */
  start(hash: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.points.length ? 0 : lo;
  }

  /** Owner (index into ids) of ring entry `entry`, modulo the ring length. */
  ownerAt(entry: number): number {
    return this.owners[entry % this.owners.length];
  }
}
