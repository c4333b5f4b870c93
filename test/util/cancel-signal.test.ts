// The request's cancellation signal: listeners run once when it is cancelled, removed listeners
// never run, a second abort changes nothing, and it works where the pipeline's sleep waits on it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestCancel } from '../../src/util/cancel-signal.ts';
import { sleep } from '../../src/util/backoff.ts';

describe('RequestCancel', () => {
  it('runs each listener once, skips removed ones, and keeps the first reason', () => {
    const cancel = new RequestCancel();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    cancel.addEventListener('abort', a, { once: true });
    cancel.addEventListener('abort', b);
    cancel.removeEventListener('abort', b);
    cancel.removeEventListener('abort', () => {}); // unknown listener: nothing happens
    assert.equal(cancel.aborted, false);
    const first = new Error('client disconnected');
    cancel.abort(first);
    cancel.abort(new Error('again'));
    assert.deepEqual(calls, ['a']);
    assert.equal(cancel.aborted, true);
    assert.equal(cancel.reason, first);
  });

  it('cuts a backoff sleep short', async () => {
    const cancel = new RequestCancel();
    const started = performance.now();
    setTimeout(() => cancel.abort(new Error('gone')), 20);
    await sleep(5_000, cancel);
    assert.ok(performance.now() - started < 2_000);
  });
});
