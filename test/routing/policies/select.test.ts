import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { indexOfMax, pickMinBy } from '../../../src/routing/policies/select.ts';
import { countBy, replica, seeded } from '../helpers.ts';

describe('pickMinBy', () => {
  it('returns the minimum, undefined for no candidates, and spreads ties uniformly', () => {
    const rs = [replica('a', { inFlight: 2 }), replica('b', { inFlight: 1 }), replica('c', { inFlight: 1 }), replica('d', { inFlight: 1 })];
    const random = seeded(5);
    const counts = countBy(Array.from({ length: 3_000 }, () => pickMinBy(rs, (r) => r.inFlight, random)!.id));
    assert.equal(counts.get('a'), undefined);
    for (const id of ['b', 'c', 'd']) assert.ok(Math.abs(counts.get(id)! - 1_000) < 120, `${id}: ${counts.get(id)}`);
    assert.equal(pickMinBy([], () => 0, random), undefined);
  });
});

describe('indexOfMax', () => {
  it('respects eligibility, treats near-equal scores as ties, and returns -1 when nothing is eligible', () => {
    const random = seeded(6);
    const scores = Float64Array.from([5, 9, 9 + 1e-12, 1]);
    const counts = countBy(Array.from({ length: 2_000 }, () => String(indexOfMax(scores, 4, random))));
    assert.deepEqual([...counts.keys()].sort(), ['1', '2']);
    assert.equal(indexOfMax(scores, 4, random, [true, false, false, true]), 0);
    assert.equal(indexOfMax(scores, 4, random, [false, false, false, false]), -1);
    assert.equal(indexOfMax(scores, 0, random), -1);
  });
});
