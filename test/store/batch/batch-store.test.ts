// The batch queue's store on both backends: claims never overlap (PostgreSQL: two connections
// claiming at once), a result is written only under the lease that took the item, dead workers'
// leases are taken over, and cancel / expiry end unstarted items so the batch can finalize.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../../src/store/open.ts';
import { SqlBatchStore } from '../../../src/store/batch/batch-store.ts';
import { newBatchId, newItemId } from '../../../src/batch/ids.ts';
import type { BatchRecord, ItemOutcome } from '../../../src/batch/types.ts';
import pg from 'pg';
import { freshPostgresSchema } from '../../support/databases.ts';

const MODEL = 'm';

function batchRecord(over: Partial<BatchRecord> = {}): BatchRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    id: newBatchId(), status: 'validating', endpoint: '/v1/chat/completions', inputFileId: 'file-x', completionWindow: '24h', metadata: null,
    owner: { keyId: null, teamId: null, keyName: null }, model: null, errors: null, outputFileId: null, errorFileId: null, total: 0, completed: 0,
    failed: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, createdAt: now, inProgressAt: null, expiresAt: now + 86_400, finalizingAt: null,
    completedAt: null, failedAt: null, expiredAt: null, cancellingAt: null, cancelledAt: null, ...over,
  };
}

async function startedBatch(store: SqlBatchStore, items: number, over: Partial<BatchRecord> = {}): Promise<BatchRecord> {
  const batch = batchRecord(over);
  await store.insertBatch(batch);
  assert.ok(await store.claimValidation(batch.id, 'ingest', Date.now(), 10_000));
  await store.insertItems(batch.id, Array.from({ length: items }, (_, i) => ({ id: newItemId(), line: i + 1, customId: `c-${i}`, model: MODEL, body: '{}' })));
  assert.ok(await store.startBatch(batch.id, 'ingest', items, MODEL, Date.now()));
  assert.equal(await store.releasePending(batch.id, 10_000, Date.now()), items);
  return batch;
}

function success(itemId: string, batchId: string, leaseToken: string): ItemOutcome {
  return { itemId, batchId, leaseToken, state: 'succeeded', statusCode: 200, response: '{}', errorCode: null, errorMessage: null, requestId: itemId, usage: { prompt: 3, cached: 0, completion: 2 }, history: [], ledger: [] };
}

async function behavesAsAQueue(open: () => Promise<OpenedStore>): Promise<void> {
  const a = await open();
  const b = await open();
  try {
    const storeA = new SqlBatchStore(a.sql);
    const storeB = new SqlBatchStore(b.sql);
    const batch = await startedBatch(storeA, 300);

    // Two claimers at once never get the same item.
    const now = Date.now();
    const [x, y] = await Promise.all([storeA.claimItems(MODEL, 200, 'A:1', now, 60_000), storeB.claimItems(MODEL, 200, 'B:1', now, 60_000)]);
    const ids = [...x, ...y].map((i) => i.id);
    assert.equal(ids.length, 300);
    assert.equal(new Set(ids).size, 300);
    assert.ok(x.every((i) => i.attempts === 1));

    // A's lease expires; B takes the item over; A's late result is dropped, B's is kept.
    const first = x[0] ?? y[0];
    const ownerStore = x[0] ? storeA : storeB;
    const ownerToken = x[0] ? 'A:1' : 'B:1';
    await a.sql.run('UPDATE batch_items SET lease_expires_ms = 0 WHERE id = ?', [first.id]);
    assert.equal(await storeB.releaseExpiredLeases(Date.now()), 1);
    const [again] = await storeB.claimItems(MODEL, 1, 'B:2', Date.now(), 60_000);
    assert.equal(again.id, first.id);
    assert.equal(again.attempts, 2);
    assert.equal((await ownerStore.applyOutcomes([success(first.id, batch.id, ownerToken)])).size, 0, 'a stale lease writes nothing');
    assert.equal((await storeB.applyOutcomes([success(first.id, batch.id, 'B:2')])).size, 1);

    // Finish the rest; the batch is then ready and exactly one finalizer gets it.
    const rest = [...x, ...y].filter((i) => i.id !== first.id);
    await storeA.applyOutcomes(rest.map((i) => success(i.id, batch.id, i.leaseToken)));
    const after = (await storeA.get(batch.id))!;
    assert.deepEqual([after.completed, after.failed, after.inputTokens, after.outputTokens], [300, 0, 900, 600]);
    assert.deepEqual(await storeA.readyToFinalize(Date.now()), [batch.id]);
    const claims = await Promise.all([storeA.claimFinalization(batch.id, 'fa', Date.now(), 60_000), storeB.claimFinalization(batch.id, 'fb', Date.now(), 60_000)]);
    assert.equal(claims.filter(Boolean).length, 1);

    // Cancel ends queued items at once; expiry ends them when the window has passed.
    const cancelled = await startedBatch(storeA, 5);
    await storeA.claimItems(MODEL, 2, 'A:3', Date.now(), 60_000);
    assert.equal((await storeA.cancel(cancelled.id, Date.now()))!.status, 'cancelling');
    assert.equal((await storeA.claimItems(MODEL, 10, 'A:4', Date.now(), 60_000)).length, 0, 'cancelled items are not handed out');
    assert.deepEqual(await storeA.readyToFinalize(Date.now()), [], 'the two in flight still have to end');

    const overdue = await startedBatch(storeA, 4, { expiresAt: Math.floor(Date.now() / 1000) - 1 });
    await storeA.releaseLeases(['A:3'], Date.now());
    assert.deepEqual(await storeA.expireOverdue(Date.now()), [overdue.id]);
    const lines = await storeA.finishedItems(overdue.id, 0, 100);
    assert.deepEqual([...new Set(lines.map((l) => l.errorCode))], ['batch_expired']);
    assert.equal((await storeA.finishedItems(overdue.id, 0, 100, 'succeeded')).length, 0, 'the output file pass reads only succeeded items');
    assert.equal((await storeA.finishedItems(overdue.id, 0, 100, 'unsuccessful')).length, 4);
    assert.ok((await storeA.readyToFinalize(Date.now())).includes(overdue.id));

    // Items a dead ingester never released: left alone while the batch is young, then released in steps.
    const stranded = batchRecord();
    await storeA.insertBatch(stranded);
    assert.ok(await storeA.claimValidation(stranded.id, 'ingest', Date.now(), 10_000));
    await storeA.insertItems(stranded.id, Array.from({ length: 5 }, (_, i) => ({ id: newItemId(), line: i + 1, customId: `s-${i}`, model: MODEL, body: '{}' })));
    assert.ok(await storeA.startBatch(stranded.id, 'ingest', 5, MODEL, Date.now()));
    assert.equal(await storeA.releaseStrandedPending(Date.now(), 30_000, 2), 0, 'a live ingester may still be releasing them');
    const later = Date.now() + 31_000;
    assert.equal(await storeA.releaseStrandedPending(later, 30_000, 2), 2);
    assert.equal(await storeA.releaseStrandedPending(later, 30_000, 2), 2);
    assert.equal(await storeA.releaseStrandedPending(later, 30_000, 2), 1);
    assert.equal(await storeA.releaseStrandedPending(later, 30_000, 2), 0);
  } finally {
    await a.close();
    await b.close();
  }
}

describe('batch store', () => {
  it('is a safe work queue on SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-batch-store-'));
    await behavesAsAQueue(() => openStore({ dataDir: dir }));
  });

  it('is a safe work queue on PostgreSQL (FOR UPDATE SKIP LOCKED)', async (t: TestContext) => {
    const database = await freshPostgresSchema(t);
    if (!database) return;
    try {
      await behavesAsAQueue(() => openStore({ dataDir: '.', databaseUrl: database.url }));
    } finally {
      await database.drop();
    }
  });

  // Statements that wait for rows another transaction holds, locking overlapping rows in different
  // orders, deadlocked here (PostgreSQL breaks each after a second): lease housekeeping skips them.
  it('renews and releases leases on PostgreSQL without waiting for rows another transaction holds', { timeout: 20_000 }, async (t: TestContext) => {
    const database = await freshPostgresSchema(t);
    if (!database) return;
    const opened = await openStore({ dataDir: '.', databaseUrl: database.url });
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      const store = new SqlBatchStore(opened.sql);
      await startedBatch(store, 20);
      const now = Date.now();
      const items = await store.claimItems(MODEL, 20, 'W:1', now, 1_000);
      assert.equal(items.length, 20);
      const held = items.slice(0, 5).map((i) => i.id);
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM batch_items WHERE id = ANY($1) FOR UPDATE', [held]);

      const started = performance.now();
      assert.equal(await store.renewLeases(['W:1'], now + 60_000), 15, 'the rows not held are renewed');
      assert.equal(await store.releaseExpiredLeases(now + 30_000), 0, 'renewed leases have not expired');
      assert.equal(await store.releaseExpiredLeases(now + 5_000_000), 15, 'expired leases of rows not held are released');
      assert.ok(performance.now() - started < 900, `housekeeping waited ${Math.round(performance.now() - started)} ms for held rows`);

      await holder.query('COMMIT');
      assert.equal(await store.releaseExpiredLeases(now + 5_000_000), 5, 'the held rows are released once free');
    } finally {
      await holder.end();
      await opened.close();
      await database.drop();
    }
  });
});
