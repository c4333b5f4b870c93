import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from '../../../src/routing/policies/lru.ts';

describe('LruMap', () => {
  it('evicts the least recently used entry; get refreshes, peek does not', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.get('a'), 1); // a is now the most recent
    m.set('c', 3); // evicts b
    assert.equal(m.peek('b'), undefined);
    assert.equal(m.peek('a'), 1);
    m.set('d', 4); // evicts a: c was set after a's last get, and peek does not refresh
    assert.equal(m.size, 2);
    assert.equal(m.peek('a'), undefined);
    assert.equal(m.peek('c'), 3);
  });

  it('overwrites without evicting, deletes and clears', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 10);
    assert.equal(m.size, 2);
    assert.equal(m.peek('b'), 2);
    assert.equal(m.delete('a'), true);
    assert.equal(m.size, 1);
    m.clear();
    assert.equal(m.size, 0);
    assert.throws(() => new LruMap(0), RangeError);
  });
});
