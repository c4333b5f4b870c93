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
    const index = new PrefixIndex({ blockStride: 1 });
    index.record('r0', ['a', 'b', 'c', 'd']);
    index.record('r1', ['a', 'b', 'x']);
    assert.deepEqual(matched(index, ['a', 'b', 'c', 'z']), [3, 2, 0]);
    assert.deepEqual(matched(index, ['q', 'b']), [0, 0, 0]);
  });

  it('only counts a contiguous prefix', () => {
    const index = new PrefixIndex({ blockStride: 1 });
    index.record('r0', ['a']);
    index.record('r1', ['zz', 'b']);
    assert.deepEqual(matched(index, ['a', 'b']), [1, 0, 0]); // r1 holds block 1 but not block 0
  });

  it('keeps the most recent replicas per block', () => {
    const index = new PrefixIndex({ replicasPerBlock: 2, blockStride: 1 });
    index.record('r0', ['a']);
    index.record('r1', ['a']);
    index.record('r2', ['a']);
    assert.deepEqual(matched(index, ['a']), [0, 1, 1]);
    index.record('r1', ['a']); // already present: moves to front, no duplicate
    index.record('r0', ['a']);
    assert.deepEqual(matched(index, ['a']), [1, 1, 0]);
  });

  it('is bounded: the least recently routed half goes first, recently used blocks survive', () => {
    const index = new PrefixIndex({ capacity: 8, blockStride: 1 });
    index.record('r0', ['a0', 'a1', 'a2']);
    index.record('r1', ['b0', 'b1']);
    index.record('r2', ['c0', 'c1', 'c2']); // the young generation filled up and turned old
    index.record('r0', ['a0', 'a1', 'a2']); // used again: moves back to the young generation
    for (let i = 0; i < 2; i++) index.record('r1', [`d${i}`]); // a little churn
    assert.ok(index.size <= 8, `size ${index.size}`);
    assert.deepEqual(matched(index, ['a0', 'a1', 'a2']), [3, 0, 0]);
    assert.deepEqual(matched(index, ['c0', 'c1', 'c2']), [0, 0, 0]);
    assert.deepEqual(matched(index, ['d1']), [0, 1, 0]);
  });

  it('never forgets a shorter prefix of a replica before a longer one', () => {
    const index = new PrefixIndex({ capacity: 10, blockStride: 1 });
    for (let i = 0; i < 200; i++) {
      index.record(`r${i % 3}`, [`p${i % 7}-0`, `p${i % 7}-1`, `p${i % 7}-2`, `p${i % 7}-3`]);
      for (let k = 0; k < 7; k++) {
        const out = new Float64Array(3);
        const hashes = [`p${k}-0`, `p${k}-1`, `p${k}-2`, `p${k}-3`];
        index.matchedBlocks(replicas(3), hashes, out);
        // Whatever is remembered is a prefix: check that block j held implies blocks < j held.
        for (let r = 0; r < 3; r++) {
          let deepest = -1;
          for (let j = 0; j < hashes.length; j++) {
            const single = new Float64Array(3);
            index.matchedBlocks(replicas(3), [hashes[j]], single);
            if (single[r] === 1) deepest = j;
          }
          assert.ok(out[r] >= deepest + 1, `r${r} holds block ${deepest} of p${k} but matches only ${out[r]}`);
        }
      }
    }
  });

  it('ignores candidates it has never routed to', () => {
    const index = new PrefixIndex({ blockStride: 1 });
    index.record('r0', ['a']);
    const out = new Float64Array(2);
    index.matchedBlocks([replicas(1)[0], { ...replicas(1)[0], id: 'new' }], ['a'], out);
    assert.deepEqual([...out], [1, 0]);
  });

  it('with a stride, indexes and matches every n-th block only', () => {
    const index = new PrefixIndex({ blockStride: 4 });
    assert.equal(new PrefixIndex().blockStride, 4);
    index.record('r0', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
    assert.equal(index.size, 2); // blocks 3 and 7
    assert.deepEqual(matched(index, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'z', 'z', 'z']), [8, 0, 0]);
    assert.deepEqual(matched(index, ['a', 'b', 'c', 'd', 'e', 'f', 'x', 'y']), [4, 0, 0]);
    assert.deepEqual(matched(index, ['a', 'b', 'c']), [0, 0, 0]);
  });
});
