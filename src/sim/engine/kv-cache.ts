// The paged KV cache: a fixed pool of blocks, each holding `blockSize` tokens of one sequence, with
// an LRU prefix cache on top (the design of vLLM's V1 block pool).
//
// - A block is in use while at least one running request references it (refCount > 0).
// - A full block whose contents are known gets a chained hash (see util/hash.ts) and is entered in
//   the cache map, so a later request whose prompt starts with the same tokens can reuse it.
// - When its last user finishes, a block goes to the tail of the free queue *still hashed*: it is
//   free for allocation but its contents remain reusable until it is taken for something else.
// - Allocation takes from the head of the free queue (least recently freed), evicting the hash of
//   the block it takes. A cache hit on a free block pulls it out of the queue.

export class KvCache {
  readonly numBlocks: number;
  readonly blockSize: number;
  private readonly refCount: Int32Array;
  /** Hash of each block's contents, or -1 when the block holds no reusable full block. */
  private readonly hashOf: Float64Array;
  private readonly cached = new Map<number, number>();
  // Doubly linked free queue over block ids; -1 terminates.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = -1;
  private tail = -1;
  private freeCount = 0;
  /** Cached blocks taken for new contents (their old contents are gone). */
  evictions = 0;

  constructor(numBlocks: number, blockSize: number) {
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.refCount = new Int32Array(numBlocks);
    this.hashOf = new Float64Array(numBlocks).fill(-1);
    this.prev = new Int32Array(numBlocks).fill(-1);
    this.next = new Int32Array(numBlocks).fill(-1);
    for (let b = 0; b < numBlocks; b++) this.pushTail(b);
  }

  /** Blocks not referenced by any request (including cached ones that may be evicted). */
  get numFree(): number {
    return this.freeCount;
  }

  /** Blocks currently holding reusable contents, in use or not. */
  get numCached(): number {
    return this.cached.size;
  }

  /** Fraction of blocks referenced by requests: vLLM's kv_cache_usage_perc. */
  get usage(): number {
    return 1 - this.freeCount / this.numBlocks;
  }

  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  private pushTail(b: number): void {
    this.prev[b] = this.tail;
    this.next[b] = -1;
    if (this.tail === -1) this.head = b;
    else this.next[this.tail] = b;
    this.tail = b;
    this.freeCount++;
  }

  private unlink(b: number): void {
    const p = this.prev[b];
    const n = this.next[b];
    if (p === -1) this.head = n;
    else this.next[p] = n;
    if (n === -1) this.tail = p;
    else this.prev[n] = p;
    this.prev[b] = -1;
    this.next[b] = -1;
    this.freeCount--;
  }

  /** The cached block holding contents with this hash, if any. */
  lookup(hash: number): number | undefined {
    return this.cached.get(hash);
  }

  /**
   * The longest run of cached blocks matching `hashes` from the start (the prefix-cache hit).
   * Does not take them; see `acquire`.
   */
  longestCachedPrefix(hashes: readonly number[], maxBlocks: number): number[] {
    const hit: number[] = [];
    const limit = Math.min(hashes.length, maxBlocks);
    for (let i = 0; i < limit; i++) {
      const b = this.cached.get(hashes[i]);
      if (b === undefined) break;
      hit.push(b);
    }
    return hit;
  }

  /** How many of `blocks` are currently free (acquiring them uses up free capacity). */
  countFree(blocks: readonly number[]): number {
    let n = 0;
    for (const b of blocks) if (this.refCount[b] === 0) n++;
    return n;
  }

  /** Adds a reference to each block (prefix-cache hits), pulling free ones out of the free queue. */
  acquire(blocks: readonly number[]): void {
    for (const b of blocks) {
      if (this.refCount[b] === 0) this.unlink(b);
      this.refCount[b]++;
    }
  }

  /** Takes `count` free blocks (LRU first) into `into`, or returns false and takes none. */
  allocate(count: number, into: number[]): boolean {
    if (count > this.freeCount) return false;
    for (let i = 0; i < count; i++) {
      const b = this.head;
      this.unlink(b);
      const h = this.hashOf[b];
      if (h !== -1) {
        this.cached.delete(h);
        this.hashOf[b] = -1;
        this.evictions++;
      }
      this.refCount[b] = 1;
      into.push(b);
    }
    return true;
  }

  /**
   * Drops one reference to each block. Blocks are freed tail first, so that a finished request's
   * last blocks are evicted before its first ones: prefixes are what other requests share.
   */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i];
      if (--this.refCount[b] === 0) this.pushTail(b);
    }
  }

  /** Records that block `b` now holds the full block with this hash, making it reusable. */
  register(b: number, hash: number): void {
    if (this.hashOf[b] !== -1 || this.cached.has(hash)) return; // already known (e.g. a twin request computed it too)
    this.hashOf[b] = hash;
    this.cached.set(hash, b);
  }

  /** Forgets every cached block's contents (vLLM's reset_prefix_cache). */
  resetPrefixCache(): void {
    for (const b of this.cached.values()) this.hashOf[b] = -1;
    this.cached.clear();
  }
}
