import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeastRequestsPolicy } from '../../../src/routing/policies/least-requests.ts';
import { countBy, pickFrom, replica, replicas, request, seeded } from '../helpers.ts';

describe('least-requests', () => {
  it('picks the candidate with the fewest requests in flight', () => {
    const p = new LeastRequestsPolicy({ random: seeded(1) });
    const rs = [replica('a', { inFlight: 3 }), replica('b', { inFlight: 1 }), replica('c', { inFlight: 2 })];
    for (let i = 0; i < 20; i++) assert.equal(p.pick(rs, request())!.id, 'b');
  });

  it('breaks ties at random, never always the first', () => {
    const p = new LeastRequestsPolicy({ random: seeded(2) });
    const rs = [replica('a', { inFlight: 1 }), replica('b'), replica('c'), replica('d')];
    const counts = countBy(Array.from({ length: 3_000 }, () => p.pick(rs, request())!.id));
    assert.equal(counts.get('a'), undefined);
    for (const id of ['b', 'c', 'd']) assert.ok(counts.get(id)! > 850 && counts.get(id)! < 1_150, `${id}: ${counts.get(id)}`);
  });

  it('spreads a burst evenly when the gateway counts each pick', () => {
    const p = new LeastRequestsPolicy({ random: seeded(3) });
    const rs = replicas(4);
    for (let i = 0; i < 100; i++) pickFrom(p, rs, request()).inFlight++;
    assert.deepEqual(rs.map((r) => r.inFlight), [25, 25, 25, 25]);
    assert.equal(p.pick([], request()), undefined);
  });
});
