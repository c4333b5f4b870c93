// The spare-capacity controller: grows by time (not by how often it is asked), halves on
// congestion, never exceeds its ceiling, and allows nothing while no deployment is healthy.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpareCapacity } from '../../src/batch/capacity.ts';
import type { ModelPool } from '../../src/routing/model-pool.ts';

function pool(state: { healthy: number; queued?: number; waiting?: number; at?: number }): ModelPool {
  return {
    name: 'm',
    get healthyCount() {
      return state.healthy;
    },
    get queueDepth() {
      return state.queued ?? 0;
    },
    deployments: [
      {
        get scraped() {
          return state.waiting === undefined ? undefined : { waiting: state.waiting, at: state.at ?? 0 };
        },
      },
    ],
  } as unknown as ModelPool;
}

describe('SpareCapacity', () => {
  it('grows one step per 500 ms however often it is asked, up to healthy x cap', () => {
    const c = new SpareCapacity(4);
    const p = pool({ healthy: 2 });
    assert.equal(c.allowance(p, 0), 2);
    for (let i = 0; i < 1_000; i++) assert.equal(c.allowance(p, 1 + (i % 400)), 2, 'asking often does not grow it');
    assert.equal(c.allowance(p, 500), 3);
    let now = 500;
    for (let i = 0; i < 20; i++) c.allowance(p, (now += 500));
    assert.equal(c.allowance(p, now + 500), 8, 'ceiling: 2 healthy x 4');
  });

  it('halves when interactive requests queue or an engine reports waiting requests, and recovers slowly', () => {
    const c = new SpareCapacity(8);
    const state = { healthy: 2, queued: 0, waiting: 0, at: 0 };
    const p = pool(state);
    let now = 0;
    for (let i = 0; i < 40; i++) c.allowance(p, (now += 500));
    assert.equal(c.allowance(p, now), 16);
    state.queued = 3;
    assert.equal(c.allowance(p, (now += 10)), 8);
    assert.equal(c.allowance(p, (now += 10)), 8, 'at most one halving per 500 ms');
    state.queued = 0;
    state.waiting = 2;
    state.at = now;
    assert.equal(c.allowance(p, (now += 600)), 4);
    state.waiting = 0;
    assert.equal(c.allowance(p, (now += 100)), 4, 'no growth right after a decrease');
    assert.equal(c.allowance(p, now + 500), 5);
  });

  it('allows nothing while the model has no healthy deployment', () => {
    const c = new SpareCapacity(8);
    assert.equal(c.allowance(pool({ healthy: 0 }), 0), 0);
  });
});
