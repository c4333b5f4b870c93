// Each filter rules out exactly its candidates, never lets back in one an earlier filter ruled out,
// and the pool's filters reach the pool: excluded, batch share, the health tiers, at capacity.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { atCapacityFilter } from '../../../src/routing/scorers/at-capacity-filter.ts';
import { batchShareFilter } from '../../../src/routing/scorers/batch-share-filter.ts';
import { excludedFilter } from '../../../src/routing/scorers/excluded-filter.ts';
import { availableFilter, healthyFilter } from '../../../src/routing/scorers/health-filter.ts';
import { LongQueueFilter } from '../../../src/routing/scorers/long-queue-filter.ts';
import { QueueEstimate } from '../../../src/routing/scorers/queue-estimate.ts';
import { clampScore, type Filter } from '../../../src/routing/scorers/types.ts';
import type { Deployment } from '../../../src/routing/deployment.ts';
import type { ReplicaView } from '../../../src/routing/types.ts';
import { replica, request } from '../helpers.ts';

const ctx = { now: 10_000, staleAfterMs: 2_000, exclude: new Set<ReplicaView>(), lowestPriorityCap: undefined };

function kept<C extends ReplicaView, X>(f: Filter<C, X>, candidates: C[], context: X, eligible = candidates.map(() => true)): string[] {
  f.filter(candidates, request(), context, eligible);
  return candidates.filter((_, i) => eligible[i]).map((c) => c.id);
}

/** The fields of a deployment the pool filters read. */
function deployment(id: string, fields: { healthy?: boolean; available?: boolean; lowestPriorityInFlight?: number } = {}): Deployment {
  return { ...replica(id, { available: fields.available ?? true }), healthy: fields.healthy ?? true, lowestPriorityInFlight: fields.lowestPriorityInFlight ?? 0 } as unknown as Deployment;
}

describe('filters', () => {
  it('at-capacity drops candidates at their max_concurrency', () => {
    const rs = [replica('a', { maxConcurrency: 2, inFlight: 2 }), replica('b', { maxConcurrency: 2, inFlight: 1 }), replica('c', { inFlight: 100 })];
    assert.deepEqual(kept(atCapacityFilter, rs, ctx), ['b', 'c']);
  });

  it('long-queue drops queues far above the shortest still eligible, and never the shortest', () => {
    const f = new LongQueueFilter(new QueueEstimate(), { maxAboveMin: 4 });
    const rs = [replica('a', { inFlight: 0 }), replica('b', { inFlight: 4 }), replica('c', { inFlight: 5 })];
    assert.deepEqual(kept(f, rs, ctx), ['a', 'b']);
    assert.deepEqual(kept(f, rs, ctx, [false, true, true]), ['b', 'c'], 'the shortest among those left counts');
    assert.deepEqual(kept(f, rs, ctx, [false, false, false]), []);
  });

  it('excluded drops the deployments already tried', () => {
    const rs = [replica('a'), replica('b')];
    assert.deepEqual(kept(excludedFilter, rs, { ...ctx, exclude: new Set([rs[0]]) }), ['b']);
    assert.deepEqual(kept(excludedFilter, rs, ctx), ['a', 'b']);
  });

  it('batch-share drops deployments carrying their share, only for a lowest-priority pick', () => {
    const ds = [deployment('a', { lowestPriorityInFlight: 2 }), deployment('b', { lowestPriorityInFlight: 1 })];
    assert.deepEqual(kept(batchShareFilter, ds, { ...ctx, lowestPriorityCap: 2 }), ['b']);
    assert.deepEqual(kept(batchShareFilter, ds, ctx), ['a', 'b']);
  });

  it('available and healthy are the two health tiers', () => {
    const ds = [deployment('up'), deployment('breaker-open', { available: false }), deployment('down', { available: false, healthy: false })];
    assert.deepEqual(kept(availableFilter, ds, ctx), ['up']);
    assert.deepEqual(kept(healthyFilter, ds, ctx), ['up', 'breaker-open']);
  });

  it('no filter sets an entry back', () => {
    const all: Filter<Deployment, typeof ctx>[] = [atCapacityFilter, new LongQueueFilter(new QueueEstimate()), excludedFilter, batchShareFilter, availableFilter, healthyFilter];
    for (const f of all) assert.deepEqual(kept(f, [deployment('a'), deployment('b')], ctx, [false, false]), [], f.name);
  });

  it('scores are clamped to [0, 1], NaN to 0', () => {
    assert.deepEqual([-1, 0, 0.25, 1, 7, Number.NaN, Number.POSITIVE_INFINITY].map(clampScore), [0, 0, 0.25, 1, 1, 0, 1]);
  });
});
