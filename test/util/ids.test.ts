// Time-sortable ids: ordered by creation time, unique, and of a fixed shape.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { timeSortableId } from '../../src/util/ids.ts';

describe('timeSortableId', () => {
  it('sorts by time, stays unique across many ids (past the random pool refills), and keeps its shape', () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => timeSortableId('usage_', 1_795_000_000_000 + Math.floor(i / 10)));
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i += 10) assert.ok(ids[i - 1].slice(0, 18) <= ids[i].slice(0, 18));
    assert.deepEqual([...ids].sort().map((id) => id.slice(0, 18)), ids.map((id) => id.slice(0, 18)));
    for (const id of ids.slice(0, 600)) assert.match(id, /^usage_[0-9a-f]{12}[0-9a-f]{16}$/);
  });
});
