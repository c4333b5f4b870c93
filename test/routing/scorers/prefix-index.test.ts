import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixIndex } from '../../../src/routing/scorers/prefix-index.ts';
import { replicas } from '../helpers.ts';

function matched(index: PrefixIndex, hashes: string[], n = 3): number[] {
  const out = new Float64Array(n);
  index.matchedBlocks(replicas(n), hashes, out);
  return [...out];
}

describe('PrefixIndex', () => {
  it('counts the leading blocks each replica was sent', () => {
    const index = new PrefixIndex();
    index.record('r0', ['a', 'b', 'c', 'd']);
    index.record('r1', ['a', 'b', 'x']);
    assert.deepEqual(matched(index, ['a', 'b', 'c', 'z']), [3, 2, 0]);
    assert.deepEqual(matched(index, ['q', 'b']), [0, 0, 0]);
  });

  it('only counts a contiguous prefix', () => {
    const index = new PrefixIndex();
    index.record('r0', ['a']);
    index.record('r1', ['zz', 'b']);
    assert.deepEqual(matched(index, ['a', 'b']), [1, 0, 0]); // r1 holds block 1 but not block 0
  });

  it('keeps the most recent replicas per block', () => {
    const index = new PrefixIndex({ replicasPerBlock: 2 });
    index.record('r0', ['a']);
    index.record('r1', ['a']);
    index.record('r2', ['a']);
    assert.deepEqual(matched(index, ['a']), [0, 1, 1]);
    index.record('r1', ['a']); // already present: moves to front, no duplicate
    index.record('r0', ['a']);
    assert.deepEqual(matched(index, ['a']), [1, 1, 0]);
  });

  it('is bounded, forgetting the least recently routed blocks, long prefixes before their starts', () => {
    const index = new PrefixIndex({ capacity: 4 });
    index.record('r0', ['a', 'b', 'c']);
    index.record('r1', ['x', 'y']); // 5 blocks > 4: one of r0's must go, and it must be the deepest
    assert.equal(index.size, 4);
    assert.deepEqual(matched(index, ['a', 'b', 'c']), [2, 0, 0]);
    assert.deepEqual(matched(index, ['x', 'y']), [0, 2, 0]);
  });
});
