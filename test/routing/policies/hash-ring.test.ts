import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashRing } from '../../../src/routing/policies/hash-ring.ts';

describe('HashRing', () => {
  it('places virtual nodes for every id, sorted, independent of insertion order', () => {
    const a = new HashRing(50);
    a.rebuild(['x', 'y', 'z']);
    const b = new HashRing(50);
    b.rebuild(['z', 'x', 'y', 'x']);
    assert.equal(a.length, 150);
    assert.equal(a.size, 3);
    for (let h = 0; h < 2 ** 32; h += 2 ** 24) assert.equal(a.idAt(a.ownerAt(a.start(h))), b.idAt(b.ownerAt(b.start(h))));
  });

  it('wraps around past the last point and gives each id a fair share of the ring', () => {
    const ring = new HashRing(200);
    ring.rebuild(['a', 'b', 'c', 'd']);
    assert.equal(ring.start(0xffffffff), 0);
    const share = new Map<string, number>();
    for (let h = 0; h < 2 ** 32; h += 2 ** 20) {
      const id = ring.idAt(ring.ownerAt(ring.start(h)));
      share.set(id, (share.get(id) ?? 0) + 1);
    }
    for (const n of share.values()) assert.ok(n > 700 && n < 1_350, `share ${n} of 4096`);
    assert.equal(ring.indexOf('nope'), -1);
  });
});
