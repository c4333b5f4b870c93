// The batch worker's claiming: it keeps the model's allowance busy (a finished item's slot is
// taken again at once, not at the next poll, and an item waiting for its outcome to be written
// no longer holds a slot), and it stops claiming while too many outcomes wait to be written.
// Real SQLite store and the real executor; the pipeline stands in for routing and the replicas
// with a fixed service time, since what is under test is only when the worker claims.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openAIEdge } from '../../src/api/openai/index.ts';
import { SpareCapacity } from '../../src/batch/capacity.ts';
import { BatchExecutor } from '../../src/batch/executor.ts';
import { newBatchId, newItemId } from '../../src/batch/ids.ts';
import type { BatchRecord, ItemOutcome } from '../../src/batch/types.ts';
import { BatchWorker } from '../../src/batch/worker.ts';
import type { ModelPool } from '../../src/routing/model-pool.ts';
import type { ModelRegistry } from '../../src/routing/registry.ts';
import { createKernel } from '../../src/pipeline/index.ts';
import { SqlBatchStore } from '../../src/store/batch/batch-store.ts';
import { openStore, type OpenedStore } from '../../src/store/open.ts';

const MODEL = 'm';
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
const quiet = { info() {}, warn() {}, error() {} };

/** A store whose outcome writes can be held back, to play a busy shared database. */
class GatedBatchStore extends SqlBatchStore {
  gate: Promise<void> | undefined;
  override async applyOutcomes(outcomes: readonly ItemOutcome[]): Promise<Set<string>> {
    await this.gate;
    return super.applyOutcomes(outcomes);
  }
}

function pool(healthy: number): ModelPool {
  return { name: MODEL, healthyCount: healthy, queueDepth: 0, lastInteractiveAt: 0, deployments: [] } as unknown as ModelPool;
}

async function startedBatch(store: SqlBatchStore, items: number): Promise<BatchRecord> {
  const now = Math.floor(Date.now() / 1000);
  const batch: BatchRecord = {
    id: newBatchId(), status: 'validating', endpoint: '/v1/chat/completions', inputFileId: 'file-x', completionWindow: '24h', metadata: null,
    owner: { keyId: null, teamId: null, keyName: null }, model: null, errors: null, outputFileId: null, errorFileId: null, total: 0, completed: 0,
    failed: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, createdAt: now, inProgressAt: null, expiresAt: now + 86_400, finalizingAt: null,
    completedAt: null, failedAt: null, expiredAt: null, cancellingAt: null, cancelledAt: null,
  };
  await store.insertBatch(batch);
  assert.ok(await store.claimValidation(batch.id, 'ingest', Date.now(), 10_000));
  await store.insertItems(batch.id, Array.from({ length: items }, (_, i) => ({ id: newItemId(), line: i + 1, customId: `c-${i}`, model: MODEL, body: BODY })));
  assert.ok(await store.startBatch(batch.id, 'ingest', items, MODEL, Date.now()));
  await store.releasePending(batch.id, items, Date.now());
  return batch;
}

interface Harness {
  opened: OpenedStore;
  store: GatedBatchStore;
  worker: BatchWorker;
  running: () => number;
  dir: string;
}

async function harness(options: { serviceMs: number; healthy: number; maxPerDeployment: number }): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-worker-'));
  const opened = await openStore({ dataDir: dir });
  const store = new GatedBatchStore(opened.sql);
  let running = 0;
  // A one-stage pipeline standing in for the whole one (parse, then a fake upstream).
  const pipeline = createKernel([
    async (ctx) => {
      running += 1;
      try {
        ctx.request = openAIEdge.parseRequest('chat', JSON.parse(ctx.rawBody.toString()), ctx.requestId);
        await sleep(options.serviceMs);
        const usage = { prompt_tokens: 3, completion_tokens: 2 };
        ctx.result = { type: 'json', response: { kind: 'chat', id: 'x', created: 0, upstreamModel: MODEL, choices: [{ index: 0, text: 'ok', finish_reason: 'stop' }], usage } };
      } finally {
        running -= 1;
      }
    },
  ]);
  const worker = new BatchWorker({
    batches: store,
    registry: { pools: new Map([[MODEL, pool(options.healthy)]]) } as unknown as ModelRegistry,
    executor: new BatchExecutor({ pipeline, maxAttempts: 3, backoff: { baseMs: 10, maxMs: 100 } }),
    capacity: new SpareCapacity({ maxPerDeployment: options.maxPerDeployment, maxPerDeploymentWithInteractive: options.maxPerDeployment, interactiveQuietMs: 10_000 }),
    leaseMs: 60_000,
    pollIntervalMs: 250,
    unservedModelGraceMs: 600_000,
    ingest: async () => {},
    finalize: async () => false,
    logger: quiet,
  });
  return { opened, store, worker, running: () => running, dir };
}

async function close(h: Harness): Promise<void> {
  await h.worker.stop(5_000);
  await h.opened.close();
  rmSync(h.dir, { recursive: true, force: true });
}

describe('BatchWorker claiming', () => {
  it('keeps its allowance busy: a finished item is replaced at once, not at the next poll', async () => {
    // One deployment, two at a time once ramped; each item takes 100 ms. Waiting for the 250 ms
    // poll, or holding the slot until the outcome is written (flushed every 50 ms), would leave
    // it idle a third of the time or more.
    const h = await harness({ serviceMs: 100, healthy: 1, maxPerDeployment: 2 });
    try {
      await startedBatch(h.store, 400);
      h.worker.start();
      h.worker.wake();
      await sleep(1_000); // the allowance ramps from 1 to 2 after 500 ms
      let samples = 0;
      let sum = 0;
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        sum += h.running();
        samples += 1;
        await sleep(5);
      }
      const mean = sum / samples;
      assert.ok(mean >= 1.6, `mean items in flight ${mean.toFixed(2)} of an allowance of 2`);
    } finally {
      await close(h);
    }
  });

  it('stops claiming while too many outcomes wait to be written, and carries on once they are', async () => {
    const h = await harness({ serviceMs: 1, healthy: 4, maxPerDeployment: 8 });
    try {
      const batch = await startedBatch(h.store, 2_000);
      let open!: () => void;
      h.store.gate = new Promise<void>((resolve) => (open = resolve));
      h.worker.start();
      h.worker.wake();
      await sleep(1_500);
      const [{ n: leased }] = await h.opened.sql.query<{ n: number }>("SELECT COUNT(*) AS n FROM batch_items WHERE state = 'leased'");
      // 400 unwritten outcomes, plus at most what was claimed in the tick that crossed the line.
      assert.ok(Number(leased) >= 400 && Number(leased) <= 400 + 32, `leased while writes are held back: ${leased}`);
      open();
      h.store.gate = undefined;
      const deadline = Date.now() + 20_000;
      while ((await h.store.get(batch.id))!.completed < 2_000) {
        assert.ok(Date.now() < deadline, 'the batch finishes once writes go through');
        await sleep(50);
      }
    } finally {
      await close(h);
    }
  });
});
