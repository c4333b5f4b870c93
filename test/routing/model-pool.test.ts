import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createModelRegistry } from '../../src/routing/registry.ts';
import { validateConfig } from '../../src/config/load.ts';
import { GatewayError } from '../../src/api/errors.ts';
import type { RoutingRequest } from '../../src/routing/types.ts';
import type { LowestPriorityShare } from '../../src/routing/lowest-priority-share.ts';
import type { SchedulerPolicy } from '../../src/routing/policies/index.ts';
import { DEFAULT_SCORERS } from '../../src/routing/scorers/index.ts';

const request: RoutingRequest = { prefixHashes: [], estimatedPromptTokens: 10, expectedOutputTokens: 10 };
const never = new AbortController().signal;

function registry(admission: object, maxConcurrency = 1, deployments = 1, lowestPriorityShare?: LowestPriorityShare) {
  const config = validateConfig(
    {
      models: [
        {
          name: 'm',
          admission,
          deployments: Array.from({ length: deployments }, (_, i) => ({ provider: 'openai-compatible', url: `http://127.0.0.1:${9 + i}/v1`, max_concurrency: maxConcurrency })),
        },
      ],
    },
    't',
    {},
  );
  return createModelRegistry(config.models, { lowestPriorityShare });
}

describe('ModelPool admission', () => {
  const registries: ReturnType<typeof registry>[] = [];
  after(async () => {
    await Promise.all(registries.map((r) => r.close()));
  });

  it('picks the scheduler for self-hosted pools, with the default weights when none are configured', () => {
    const r = registry({});
    registries.push(r);
    const policy = r.get('m')!.policy as SchedulerPolicy;
    assert.equal(policy.name, 'scheduler');
    assert.deepEqual(policy.scorers, DEFAULT_SCORERS);
  });

  it('remembers when an interactive (not lowest-priority) request last asked, for batch work to yield to', async () => {
    const r = registry({}, 100);
    registries.push(r);
    const pool = r.get('m')!;
    await pool.acquire(request, 9, new Set(), never);
    assert.equal(pool.lastInteractiveAt, 0, 'batch-priority requests do not count');
    const before = Date.now();
    await pool.acquire(request, 5, new Set(), never);
    assert.ok(pool.lastInteractiveAt >= before);
  });

  it('spreads lowest-priority work evenly up to its per-deployment cap, and past it rather than queue', async () => {
    const asked: string[] = [];
    const r = registry({}, 100, 3, { perDeployment: (model) => (asked.push(model), 2) });
    registries.push(r);
    const pool = r.get('m')!;
    const used = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const d = (await pool.acquire(request, 9, new Set(), never))!;
      d.begin(10, 10, true);
      used.set(d.id, (used.get(d.id) ?? 0) + 1);
    }
    assert.deepEqual([...used.values()], [2, 2, 2]);
    const extra = await pool.acquire(request, 9, new Set(), never);
    assert.ok(extra, 'every deployment at the cap: still sent, not queued');
    assert.equal(pool.queueDepth, 0);
    const interactive = (await pool.acquire(request, 5, new Set(), never))!;
    assert.ok(interactive, 'the cap applies to lowest-priority work only');
    assert.deepEqual(new Set(asked), new Set(['m']));
    assert.equal(asked.length, 7, 'asked once per lowest-priority pick, never for interactive ones');
  });

  it('queues when every deployment is at max_concurrency and admits by priority as slots free', async () => {
    const r = registry({ max_queue: 10, max_queue_wait_ms: 5000 });
    registries.push(r);
    const pool = r.get('m')!;
    const d = (await pool.acquire(request, 5, new Set(), never))!;
    const first = d.begin(10, 10);
    const order: string[] = [];
    const low = pool.acquire(request, 9, new Set(), never).then((x) => (order.push('low'), x!));
    const high = pool.acquire(request, 1, new Set(), never).then((x) => (order.push('high'), x!));
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(pool.queueDepth, 2);
    d.end(first);
    const winner = await high;
    const second = winner.begin(10, 10);
    await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(order, ['high'], 'the low-priority request still waits');
    winner.end(second);
    await low;
    assert.deepEqual(order, ['high', 'low']);
  });

  it('sheds with 503 and Retry-After when the queue is full or waited too long', async () => {
    const r = registry({ max_queue: 1, max_queue_wait_ms: 200 });
    registries.push(r);
    const pool = r.get('m')!;
    const d = (await pool.acquire(request, 5, new Set(), never))!;
    d.begin(10, 10);
    const queued = pool.acquire(request, 5, new Set(), never);
    await assert.rejects(pool.acquire(request, 5, new Set(), never), (e: unknown) => e instanceof GatewayError && e.status === 503 && e.headers['retry-after'] !== undefined);
    const started = Date.now();
    await assert.rejects(queued, (e: unknown) => e instanceof GatewayError && e.code === 'model_overloaded');
    assert.ok(Date.now() - started < 1000);
  });

  it('stops waiting when the client goes away', async () => {
    const r = registry({ max_queue: 5, max_queue_wait_ms: 5000 });
    registries.push(r);
    const pool = r.get('m')!;
    (await pool.acquire(request, 5, new Set(), never))!.begin(1, 1);
    const abort = new AbortController();
    const waiting = pool.acquire(request, 5, new Set(), abort.signal);
    abort.abort();
    await assert.rejects(waiting, (e: unknown) => e instanceof GatewayError && e.code === 'client_disconnected');
    assert.equal(pool.queueDepth, 0);
  });

  it('returns undefined once every deployment is excluded', async () => {
    const r = registry({}, 4, 2);
    registries.push(r);
    const pool = r.get('m')!;
    const a = (await pool.acquire(request, 5, new Set(), never))!;
    const b = (await pool.acquire(request, 5, new Set([a]), never))!;
    assert.notEqual(a, b);
    assert.equal(await pool.acquire(request, 5, new Set([a, b]), never), undefined);
  });
});
