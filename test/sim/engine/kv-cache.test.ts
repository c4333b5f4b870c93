// The paged KV cache and its LRU prefix cache, in isolation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvCache } from '../../../src/sim/engine/kv-cache.ts';
import { chainBlockHash, ROOT_BLOCK_HASH } from '../../../src/sim/util/hash.ts';

function chain(tokens: number[], blockSize: number): number[] {
  const hashes: number[] = [];
  for (let i = 0; (i + 1) * blockSize <= tokens.length; i++) hashes.push(chainBlockHash(i === 0 ? ROOT_BLOCK_HASH : hashes[i - 1], tokens, i * blockSize, (i + 1) * blockSize));
  return hashes;
}

describe('KV cache', () => {
  it('allocates all-or-nothing and tracks usage', () => {
    const kv = new KvCache(8, 16);
    const a: number[] = [];
    assert.equal(kv.allocate(5, a), true);
    assert.equal(a.length, 5);
    assert.equal(kv.usage, 5 / 8);
    const b: number[] = [];
    assert.equal(kv.allocate(4, b), false, 'only 3 free');
    assert.equal(b.length, 0);
    kv.release(a);
    assert.equal(kv.numFree, 8);
    assert.equal(kv.usage, 0);
  });

  it('block hashes chain: a block hash covers every token before it', () => {
    const a = chain([...Array(48).keys()], 16);
    const b = chain([99, ...Array(47).keys()].map((t, i) => (i === 0 ? 99 : i)), 16);
    assert.equal(a.length, 3);
    // Same tokens in block 1 and 2, different block 0: every later hash differs.
    assert.notEqual(a[0], b[0]);
    assert.notEqual(a[1], b[1]);
    assert.notEqual(a[2], b[2]);
    assert.deepEqual(chain([...Array(48).keys()], 16), a);
  });

  it('freed blocks stay cached until evicted, least recently freed first', () => {
    const kv = new KvCache(4, 16);
    const hashes = [101, 102];
    const first: number[] = [];
    kv.allocate(2, first);
    first.forEach((b, i) => kv.register(b, hashes[i]));
    kv.release(first);
    assert.equal(kv.numFree, 4);
    assert.deepEqual(kv.longestCachedPrefix(hashes, 2), first, 'still cached after release');

    // Two other blocks were free before: they are taken first (LRU), the cached ones survive.
    const other: number[] = [];
    kv.allocate(2, other);
    assert.deepEqual(kv.longestCachedPrefix(hashes, 2), first);
    // The next allocation must evict; the tail block of the freed request goes first.
    const more: number[] = [];
    kv.allocate(1, more);
    assert.equal(more[0], first[1]);
    assert.deepEqual(kv.longestCachedPrefix(hashes, 2), [first[0]], 'only the prefix block is left');
    assert.equal(kv.evictions, 1);
  });

  it('a hit on a free cached block takes it out of the free queue', () => {
    const kv = new KvCache(2, 16);
    const a: number[] = [];
    kv.allocate(1, a);
    kv.register(a[0], 7);
    kv.release(a);
    const hit = kv.longestCachedPrefix([7], 1);
    assert.equal(kv.countFree(hit), 1);
    kv.acquire(hit);
    assert.equal(kv.numFree, 1);
    const b: number[] = [];
    kv.allocate(1, b);
    assert.notEqual(b[0], a[0], 'the acquired block is not handed out again');
    assert.equal(kv.lookup(7), a[0]);
  });
});
