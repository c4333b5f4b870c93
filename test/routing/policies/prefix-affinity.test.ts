import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixAffinityPolicy } from '../../../src/routing/policies/prefix-affinity.ts';
import { countBy, pickFrom, replicas, request, seeded } from '../helpers.ts';

/** A request whose prefix blocks are those of `tenant`'s system prompt, then `turns` blocks of its own. */
function tenantRequest(tenant: number, turns = 2, unique = Math.random()) {
  const hashes = Array.from({ length: 12 }, (_, i) => `t${tenant}-b${i}`);
  for (let i = 0; i < turns; i++) hashes.push(`u${unique}-b${i}`);
  return request({ prefixHashes: hashes });
}

describe('prefix-affinity (consistent hashing with bounded load)', () => {
  it('sends the same key to the same replica, whatever follows the key block', () => {
    const p = new PrefixAffinityPolicy();
    const rs = replicas(5);
    for (let t = 0; t < 20; t++) {
      const first = p.pick(rs, tenantRequest(t))!.id;
      for (let k = 0; k < 10; k++) assert.equal(p.pick(rs, tenantRequest(t, k))!.id, first);
    }
  });

  it('keys on block min(len - 1, keyBlock)', () => {
    const p = new PrefixAffinityPolicy({ keyBlock: 2 });
    const rs = replicas(8);
    const a = p.pick(rs, request({ prefixHashes: ['x0', 'x1', 'k'] }))!.id;
    assert.equal(p.pick(rs, request({ prefixHashes: ['y0', 'y1', 'k', 'z'] }))!.id, a);
    const short = p.pick(rs, request({ prefixHashes: ['k'] }))!.id;
    assert.equal(short, a); // one block: its last (only) block is the key
  });

  it('spreads many keys roughly evenly over replicas', () => {
    const p = new PrefixAffinityPolicy();
    const rs = replicas(4);
    const counts = countBy(Array.from({ length: 4_000 }, (_, t) => p.pick(rs, tenantRequest(t))!.id));
    for (const r of rs) assert.ok(counts.get(r.id)! > 700 && counts.get(r.id)! < 1_300, `${r.id}: ${counts.get(r.id)}`);
  });

  it('moves a key off its replica once that replica exceeds ceil(avg x (1 + epsilon)), and back when it drains', () => {
    const p = new PrefixAffinityPolicy({ epsilon: 0.25 });
    const rs = replicas(4);
    const home = pickFrom(p, rs, tenantRequest(1));
    for (const r of rs) r.inFlight = 4;
    home.inFlight = 6; // avg 4.5, bound ceil(5.625) = 6: still allowed
    assert.equal(p.pick(rs, tenantRequest(1))!.id, home.id);
    home.inFlight = 7; // avg 4.75, bound 6: skipped
    const overflow = p.pick(rs, tenantRequest(1))!;
    assert.notEqual(overflow.id, home.id);
    // The overflow target is stable too: the next replica clockwise.
    assert.equal(p.pick(rs, tenantRequest(1))!.id, overflow.id);
    home.inFlight = 4;
    assert.equal(p.pick(rs, tenantRequest(1))!.id, home.id);
  });

  it('a hot key under load spills over without overloading anyone', () => {
    const p = new PrefixAffinityPolicy({ epsilon: 0.25 });
    const rs = replicas(4);
    for (let i = 0; i < 200; i++) pickFrom(p, rs, tenantRequest(9)).inFlight++;
    const max = Math.max(...rs.map((r) => r.inFlight));
    assert.ok(max <= Math.ceil((200 / 4) * 1.25) + 1, `max in flight ${max}`);
  });

  it('remaps only the keys of a replica that disappears', () => {
    const p = new PrefixAffinityPolicy();
    const rs = replicas(5);
    const before = Array.from({ length: 1_000 }, (_, t) => p.pick(rs, tenantRequest(t))!.id);
    const remaining = rs.filter((r) => r.id !== 'r2');
    const after = Array.from({ length: 1_000 }, (_, t) => p.pick(remaining, tenantRequest(t))!.id);
    let moved = 0;
    for (let t = 0; t < 1_000; t++) {
      if (before[t] !== 'r2') assert.equal(after[t], before[t], `key ${t} moved from ${before[t]}`);
      else moved++;
    }
    assert.ok(moved > 100 && moved < 300, `moved ${moved}`);
    // And when it comes back, its keys return to it.
    const back = Array.from({ length: 1_000 }, (_, t) => p.pick(rs, tenantRequest(t))!.id);
    assert.deepEqual(back, before);
  });

  it('does not depend on candidate order, and adapts to a new replica', () => {
    const p = new PrefixAffinityPolicy();
    const rs = replicas(4);
    const reversed = [...rs].reverse();
    for (let t = 0; t < 50; t++) assert.equal(p.pick(reversed, tenantRequest(t))!.id, p.pick(rs, tenantRequest(t))!.id);
    const grown = [...rs, ...replicas(5).slice(4)];
    const ids = new Set(Array.from({ length: 500 }, (_, t) => p.pick(grown, tenantRequest(t))!.id));
    assert.ok(ids.has('r4'));
  });

  it('without a full prefix block, falls back to the least-loaded replica', () => {
    const p = new PrefixAffinityPolicy({ random: seeded(3) });
    const rs = replicas(3);
    rs[0].inFlight = 2;
    rs[2].inFlight = 1;
    assert.equal(p.pick(rs, request())!.id, 'r1');
    assert.equal(p.pick([], request()), undefined);
  });
});
