// The spare-capacity controller: grows by time (not by how often it is asked), halves on
// congestion, keeps to the lower ceiling while interactive requests arrive, never exceeds its
// ceiling, and allows nothing while no deployment is healthy.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SpareCapacity } from '../../src/batch/capacity.ts';
import type { ModelPool } from '../../src/routing/model-pool.ts';
import { createModelRegistry } from '../../src/routing/registry.ts';
import { validateConfig } from '../../src/config/load.ts';
import { LOWEST_PRIORITY } from '../../src/api/priority.ts';

interface PoolState {
  healthy: number;
  queued?: number;
  waiting?: number;
  at?: number;
  lastInteractiveAt?: number;
}

function pool(state: PoolState): ModelPool {
  return {
    name: 'm',
    get healthyCount() {
      return state.healthy;
    },
    get queueDepth() {
      return state.queued ?? 0;
    },
    get lastInteractiveAt() {
      return state.lastInteractiveAt ?? 0;
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

const capacity = (maxPerDeployment: number, maxPerDeploymentWithInteractive = maxPerDeployment) =>
  new SpareCapacity({ maxPerDeployment, maxPerDeploymentWithInteractive, interactiveQuietMs: 10_000 });

describe('SpareCapacity', () => {
  it('without interactive traffic grows one request per replica per 500 ms however often it is asked, up to healthy x cap', () => {
    const c = capacity(4);
    const p = pool({ healthy: 2 });
    assert.equal(c.allowance(p, 1), 2);
    for (let i = 0; i < 1_000; i++) assert.equal(c.allowance(p, 2 + (i % 400)), 2, 'asking often does not grow it');
    assert.equal(c.allowance(p, 501), 4);
    let now = 501;
    for (let i = 0; i < 20; i++) c.allowance(p, (now += 500));
    assert.equal(c.allowance(p, now + 500), 8, 'ceiling: 2 healthy x 4');
  });

  it('beside interactive traffic grows one request per 500 ms for the whole model', () => {
    const c = capacity(8, 8);
    const p = pool({ healthy: 2, lastInteractiveAt: 1 });
    assert.equal(c.allowance(p, 1), 2);
    assert.equal(c.allowance(p, 501), 3);
    assert.equal(c.allowance(p, 1001), 4);
  });

  it('drops to the lower ceiling as soon as an interactive request arrives, and returns to the higher one after the quiet period', () => {
    const c = capacity(8, 2);
    const state: PoolState = { healthy: 4 };
    const p = pool(state);
    let now = 1;
    for (let i = 0; i < 20; i++) c.allowance(p, (now += 500));
    assert.equal(c.allowance(p, now), 32, 'idle model: 4 x 8');
    state.lastInteractiveAt = now;
    assert.ok(c.interactiveActive(p, now + 1));
    assert.equal(c.allowance(p, now + 1), 8, 'interactive traffic: 4 x 2 at once');
    for (let i = 0; i < 10; i++) assert.equal(c.allowance(p, (now += 500)), 8);
    now = state.lastInteractiveAt + 10_000;
    assert.ok(!c.interactiveActive(p, now));
    assert.equal(c.allowance(p, now), 12, 'quiet again: ramps one per replica per step');
  });

  it('takes a fraction per deployment beside interactive traffic, and always lets one request run', () => {
    const c = capacity(8, 0.5);
    let now = 1;
    const state: PoolState = { healthy: 4 };
    const four = pool(state);
    for (let i = 0; i < 20; i++) c.allowance(four, (now += 500));
    state.lastInteractiveAt = now;
    assert.equal(c.allowance(four, now), 2, 'one per two deployments');
    assert.equal(c.perDeployment('m'), 1);
    const one = { ...four, name: 'solo' };
    Object.defineProperty(one, 'healthyCount', { get: () => 1 });
    assert.equal(c.allowance(one as ModelPool, now), 1, 'half of one deployment still runs one');
  });

  it('never lets the interactive ceiling exceed the idle one', () => {
    const c = capacity(1, 4);
    const p = pool({ healthy: 3, lastInteractiveAt: 1 });
    let now = 1;
    for (let i = 0; i < 20; i++) c.allowance(p, (now += 500));
    assert.equal(c.allowance(p, now), 3);
  });

  it('halves when interactive requests queue or an engine keeps requests waiting, recovers slowly, and spreads the allowance over the deployments', () => {
    const c = capacity(8);
    const state = { healthy: 2, queued: 0, waiting: 0, at: 0 };
    const p = pool(state);
    let now = 0;
    for (let i = 0; i < 40; i++) c.allowance(p, (now += 500));
    assert.equal(c.allowance(p, now), 16);
    assert.equal(c.perDeployment('m'), 8);
    state.queued = 3;
    assert.equal(c.allowance(p, (now += 10)), 8);
    assert.equal(c.allowance(p, (now += 10)), 8, 'at most one halving per 500 ms');
    state.queued = 0;
    state.waiting = 2;
    state.at = now;
    assert.equal(c.allowance(p, (now += 600)), 10, 'a request waiting for the next engine step is not congestion');
    assert.equal(c.allowance(p, (now += 500)), 5, 'an engine queue that lasts a second is');
    assert.equal(c.perDeployment('m'), 3, '5 over 2 deployments: at most 3 on either');
    state.waiting = 0;
    assert.equal(c.allowance(p, (now += 100)), 5, 'no growth right after a decrease');
    assert.equal(c.allowance(p, now + 500), 7);
  });

  it('allows nothing while the model has no healthy deployment', () => {
    const c = capacity(8);
    assert.equal(c.allowance(pool({ healthy: 0 }), 0), 0);
  });

  it('sets no per-deployment share before its first allowance (the pools do not spread batch work)', () => {
    assert.equal(capacity(8).perDeployment('m'), undefined);
  });

  it('is the share a pool given it reads: batch work spreads over the deployments as the allowance says', async () => {
    const c = capacity(1);
    const config = validateConfig(
      { models: [{ name: 'm', deployments: Array.from({ length: 3 }, (_, i) => ({ provider: 'openai-compatible', url: `http://127.0.0.1:${9 + i}/v1`, max_concurrency: 100 })) }] },
      'test',
      {},
    );
    const registry = createModelRegistry(config.models, { lowestPriorityShare: c });
    try {
      const real = registry.get('m')!;
      assert.equal(c.allowance(real), 3, 'one per healthy deployment to start');
      assert.equal(c.perDeployment('m'), 1);
      // Interactive work on two of them: left to itself the scheduler would put every batch request on the third.
      for (const d of real.deployments.slice(1)) d.begin(100_000, 1_000);
      const used = new Map<string, number>();
      const signal = new AbortController().signal;
      for (let i = 0; i < 3; i++) {
        const d = (await real.acquire({ prefixHashes: [], estimatedPromptTokens: 1, expectedOutputTokens: 1 }, LOWEST_PRIORITY, new Set(), signal))!;
        d.begin(1, 1, true);
        used.set(d.id, (used.get(d.id) ?? 0) + 1);
      }
      assert.deepEqual([...used.values()], [1, 1, 1], 'one on each, never two on one while another has room');
    } finally {
      await registry.close();
    }
  });
});
