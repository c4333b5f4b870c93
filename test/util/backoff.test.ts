import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, retryAfterMs } from '../../src/util/backoff.ts';

describe('retry backoff', () => {
  const retry = { baseMs: 100, maxMs: 1000 };

  it('grows exponentially with jitter inside [ceiling/2, ceiling], capped', () => {
    for (let i = 0; i < 200; i++) {
      const first = backoffMs(1, retry);
      assert.ok(first >= 50 && first <= 100);
      const third = backoffMs(3, retry);
      assert.ok(third >= 200 && third <= 400);
      const tenth = backoffMs(10, retry);
      assert.ok(tenth >= 500 && tenth <= 1000);
    }
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs('0.5'), 500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);
    assert.equal(retryAfterMs(undefined), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:00 GMT', now + 5000), 0, 'a date in the past means now');
    assert.equal(retryAfterMs(''), undefined);
  });
});
