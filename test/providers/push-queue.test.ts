import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PushQueue } from '../../src/providers/push-queue.ts';

function queue(highWater = 4, lowWater = 1) {
  const calls = { resume: 0, close: 0 };
  const q = new PushQueue<number>(highWater, lowWater, {
    resume: () => (calls.resume += 1),
    mapError: (error) => new Error(`mapped: ${(error as Error).message}`),
    close: () => (calls.close += 1),
  });
  return { q, calls };
}

describe('PushQueue (a pushing producer, a pulling reader)', () => {
  it('hands items in order, to a reader already waiting directly, and ends after the last one', async () => {
    const { q, calls } = queue();
    const waiting = q.next();
    assert.equal(q.push(1), true);
    assert.deepEqual(await waiting, { done: false, value: 1 });
    q.push(2);
    q.push(3);
    q.end();
    q.push(4);
    const read: number[] = [];
    for await (const n of q) read.push(n);
    assert.deepEqual(read, [2, 3]);
    assert.equal(calls.close, 1);
  });

  it('asks the producer to pause at the high-water mark and resumes it once, at the low-water mark', async () => {
    const { q, calls } = queue(4, 1);
    assert.deepEqual([1, 2, 3, 4].map((n) => q.push(n)), [true, true, true, false]);
    await q.next();
    await q.next();
    assert.equal(calls.resume, 0, 'two still queued, above the low-water mark');
    await q.next();
    assert.equal(calls.resume, 1);
    await q.next();
    assert.equal(calls.resume, 1);
  });

  it('hands the items pushed before a failure first, then the mapped failure, to a reader waiting or not', async () => {
    const { q, calls } = queue();
    q.push(1);
    q.fail(new Error('socket hang up'));
    assert.deepEqual(await q.next(), { done: false, value: 1 });
    await assert.rejects(q.next(), { message: 'mapped: socket hang up' });
    assert.equal(calls.close, 1);
    const other = queue();
    const waiting = other.q.next();
    other.q.fail(new Error('reset'));
    await assert.rejects(waiting, { message: 'mapped: reset' });
  });

  it('closes once when the reader stops early, and ignores what is pushed after', async () => {
    const { q, calls } = queue();
    q.push(1);
    for await (const n of q) if (n === 1) break;
    assert.equal(calls.close, 1);
    assert.equal(q.push(2), true);
    assert.deepEqual(await q.next(), { done: true, value: undefined });
    assert.equal(calls.close, 1);
  });
});
