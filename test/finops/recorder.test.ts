// The usage recorder: sync O(1) record, batched flushes on a timer and on size, flush on close,
// bounded memory (drop oldest), retries after a failed write.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { UsageRecorder } from '../../src/finops/recorder.ts';
import { SqlUsageLedger } from '../../src/store/finops/ledger-store.ts';
import { FakeLedger, sleep, sqliteStore, until, usageRecord } from './support.ts';

describe('UsageRecorder', () => {
  it('flushes on its interval in batches no larger than batchSize', async () => {
    const ledger = new FakeLedger();
    const recorder = new UsageRecorder(ledger, { flushIntervalMs: 50, batchSize: 1_000 });
    for (let i = 0; i < 120; i++) recorder.record(usageRecord());
    assert.equal(ledger.records.length, 0, 'nothing is written synchronously');
    await until(() => ledger.records.length === 120, 2_000, 'the interval flush');
    assert.deepEqual(ledger.batches, [120], 'one batch, one transaction');
    await recorder.close();
  });

  it('starts a flush as soon as a full batch is queued', async () => {
    const ledger = new FakeLedger();
    const recorder = new UsageRecorder(ledger, { flushIntervalMs: 60_000, batchSize: 100 });
    for (let i = 0; i < 250; i++) recorder.record(usageRecord());
    await until(() => ledger.records.length === 250, 2_000, 'a size-triggered flush (the interval is a minute)');
    assert.deepEqual(ledger.batches, [100, 100, 50]);
    await recorder.close();
  });

  it('writes everything on close and drops (and counts) records after it', async () => {
    const ledger = new FakeLedger();
    const dropped: number[] = [];
    const recorder = new UsageRecorder(ledger, { flushIntervalMs: 60_000, batchSize: 500, onDrop: (n) => dropped.push(n) });
    for (let i = 0; i < 42; i++) recorder.record(usageRecord());
    await recorder.close();
    assert.equal(ledger.records.length, 42);
    recorder.record(usageRecord());
    assert.deepEqual(dropped, [1]);
    assert.deepEqual(recorder.stats(), { queued: 0, written: 42, dropped: 1, failedFlushes: 0 });
  });

  it('never blocks the caller, even while the database hangs', async () => {
    const ledger = new FakeLedger();
    let release!: () => void;
    ledger.gate = new Promise((resolve) => (release = resolve));
    const recorder = new UsageRecorder(ledger, { flushIntervalMs: 10, batchSize: 500, maxQueue: 200_000 });
    const records = Array.from({ length: 100_000 }, () => usageRecord());
    const started = performance.now();
    for (const r of records) recorder.record(r);
    const perRecordUs = ((performance.now() - started) * 1000) / records.length;
    assert.ok(perRecordUs < 20, `record() took ${perRecordUs.toFixed(2)} us`);
    await sleep(30);
    assert.equal(ledger.records.length, 0, 'the write is still hanging');
    release();
    ledger.gate = null;
    await recorder.close();
    assert.equal(ledger.records.length, 100_000);
  });

  it('drops the oldest records when the queue is full, keeping the newest', async () => {
    const ledger = new FakeLedger();
    let release!: () => void;
    ledger.gate = new Promise((resolve) => (release = resolve));
    const recorder = new UsageRecorder(ledger, { flushIntervalMs: 60_000, batchSize: 10, maxQueue: 100 });
    const records = Array.from({ length: 10 }, (_, i) => usageRecord({ requestId: `first-${i}` }));
    for (const r of records) recorder.record(r); // one full batch, soon stuck in the hanging write
    await until(() => ledger.entered === 1, 2_000, 'the first batch to be taken');
    for (let i = 0; i < 150; i++) recorder.record(usageRecord({ requestId: `later-${i}` }));
    assert.equal(recorder.stats().dropped, 50);
    release();
    ledger.gate = null;
    await recorder.close();
    const ids = ledger.records.map((r) => r.requestId);
    assert.equal(ids.length, 110);
    assert.ok(ids.includes('later-149') && ids.includes('later-50') && !ids.includes('later-49'));
  });

  it('keeps records after a failed write and writes them on the next tick', async () => {
    const ledger = new FakeLedger();
    ledger.failNext = 2;
    const warnings: object[] = [];
    const recorder = new UsageRecorder(ledger, { flushIntervalMs: 20, batchSize: 500, logger: { warn: (o) => warnings.push(o), error: () => {} } });
    for (let i = 0; i < 30; i++) recorder.record(usageRecord());
    await until(() => ledger.records.length === 30, 2_000, 'the retried flush');
    assert.equal(recorder.stats().failedFlushes, 2);
    assert.equal(warnings.length, 2);
    await recorder.close();
  });

  it('writes through to SQLite: a flushed batch is queryable, a crash loses only the unflushed tail', async () => {
    const store = await sqliteStore();
    try {
      const recorder = new UsageRecorder(new SqlUsageLedger(store.sql), { flushIntervalMs: 60_000 });
      for (let i = 0; i < 5; i++) recorder.record(usageRecord());
      await recorder.flush();
      for (let i = 0; i < 3; i++) recorder.record(usageRecord()); // never flushed: "crash" here
      const [row] = await store.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM usage_records');
      assert.equal(Number(row.n), 5);
      await recorder.close();
      const [after] = await store.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM usage_records');
      assert.equal(Number(after.n), 8);
    } finally {
      await store.close();
    }
  });
});
