import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WeightedPolicy } from '../../../src/routing/policies/weighted.ts';
import { countBy, replica, request } from '../helpers.ts';

describe('weighted (smooth weighted round-robin)', () => {
  it('interleaves picks: weights 5,1,1 give a a b a c a a', () => {
    const p = new WeightedPolicy();
    const rs = [replica('a', { weight: 5 }), replica('b', { weight: 1 }), replica('c', { weight: 1 })];
    const ids = Array.from({ length: 7 }, () => p.pick(rs, request())!.id);
    assert.deepEqual(ids, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('gives exact proportions over every cycle of sum(weights) picks', () => {
    const p = new WeightedPolicy();
    const rs = [replica('a', { weight: 3 }), replica('b', { weight: 2 }), replica('c', { weight: 1 }), replica('d', { weight: 4 })];
    for (let cycle = 0; cycle < 50; cycle++) {
      const counts = countBy(Array.from({ length: 10 }, () => p.pick(rs, request())!.id));
      assert.deepEqual(Object.fromEntries(counts), { a: 3, b: 2, c: 1, d: 4 });
    }
  });

  it('is deterministic', () => {
    const rs = [replica('a', { weight: 2 }), replica('b', { weight: 7 })];
    const run = () => {
      const p = new WeightedPolicy();
      return Array.from({ length: 30 }, () => p.pick(rs, request())!.id).join();
    };
    assert.equal(run(), run());
  });

  it('never picks weight 0 unless all weights are 0, then shares equally', () => {
    const p = new WeightedPolicy();
    const some = [replica('a', { weight: 0 }), replica('b', { weight: 1 })];
    for (let i = 0; i < 10; i++) assert.equal(p.pick(some, request())!.id, 'b');
    const none = [replica('x', { weight: 0 }), replica('y', { weight: 0 })];
    assert.deepEqual(Object.fromEntries(countBy(Array.from({ length: 10 }, () => p.pick(none, request())!.id))), { x: 5, y: 5 });
    assert.equal(p.pick([], request()), undefined);
  });

  it('stays proportional when a replica leaves and comes back', () => {
    const p = new WeightedPolicy();
    const rs = [replica('a', { weight: 1 }), replica('b', { weight: 1 }), replica('c', { weight: 2 })];
    for (let i = 0; i < 3; i++) p.pick([rs[0], rs[2]], request());
    const counts = countBy(Array.from({ length: 400 }, () => p.pick(rs, request())!.id));
    assert.ok(Math.abs(counts.get('c')! - 200) <= 2, `c got ${counts.get('c')}`);
    assert.ok(Math.abs(counts.get('a')! - 100) <= 2, `a got ${counts.get('a')}`);
  });
});
