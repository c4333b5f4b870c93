import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinPolicy } from '../../../src/routing/policies/round-robin.ts';
import { countBy, replicas, request } from '../helpers.ts';

describe('round-robin', () => {
  it('cycles through candidates in order, exactly evenly', () => {
    const p = new RoundRobinPolicy();
    const rs = replicas(3);
    const ids = Array.from({ length: 3_000 }, () => p.pick(rs, request())!.id);
    assert.deepEqual(ids.slice(0, 6), ['r0', 'r1', 'r2', 'r0', 'r1', 'r2']);
    assert.deepEqual([...countBy(ids).values()], [1_000, 1_000, 1_000]);
  });

  it('keeps going when the candidate list changes and returns undefined for none', () => {
    const p = new RoundRobinPolicy();
    const rs = replicas(4);
    const ids = [p.pick(rs, request())!.id, p.pick(rs.slice(0, 2), request())!.id, p.pick(rs, request())!.id];
    assert.deepEqual(ids, ['r0', 'r1', 'r2']);
    assert.equal(p.pick([], request()), undefined);
  });
});
