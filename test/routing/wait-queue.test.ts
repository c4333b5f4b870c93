import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WaitQueue } from '../../src/routing/wait-queue.ts';

describe('WaitQueue', () => {
  it('wakes the most urgent first, first come first served within a priority', () => {
    const q = new WaitQueue();
    const order: string[] = [];
    q.push(9, () => order.push('batch-1'));
    q.push(5, () => order.push('normal-1'));
    q.push(9, () => order.push('batch-2'));
    q.push(0, () => order.push('critical'));
    q.push(5, () => order.push('normal-2'));
    assert.equal(q.size, 5);
    while (q.wakeNext());
    assert.deepEqual(order, ['critical', 'normal-1', 'normal-2', 'batch-1', 'batch-2']);
    assert.equal(q.size, 0);
  });

  it('skips cancelled waiters and counts only live ones', () => {
    const q = new WaitQueue();
    const woke: number[] = [];
    const a = q.push(1, () => woke.push(1));
    q.push(2, () => woke.push(2));
    q.cancel(a);
    q.cancel(a);
    assert.equal(q.size, 1);
    assert.equal(q.aheadOf(5), 1);
    assert.equal(q.wakeNext(), true);
    assert.equal(q.wakeNext(), false);
    assert.deepEqual(woke, [2]);
  });

  it('stays ordered over many random pushes', () => {
    const q = new WaitQueue();
    const woke: number[] = [];
    for (let i = 0; i < 500; i++) {
      const p = (i * 7919) % 10;
      q.push(p, () => woke.push(p));
    }
    while (q.wakeNext());
    assert.equal(woke.length, 500);
    for (let i = 1; i < woke.length; i++) assert.ok(woke[i - 1] <= woke[i]);
  });
});
