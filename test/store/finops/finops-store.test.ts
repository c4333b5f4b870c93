// The FinOps stores behave the same on SQLite and on real PostgreSQL: ledger batches and reports,
// budgets and config sync, once-only alert and digest claims, delivery log.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../../src/store/open.ts';
import { finopsStores } from '../../../src/store/finops/index.ts';
import type { Budget, UsageRecord } from '../../../src/finops/ports.ts';
import { freshPostgresSchema } from '../../support/databases.ts';

type Opener = (t: TestContext) => Promise<{ store: OpenedStore; cleanup: () => Promise<void> } | undefined>;

const backends: Record<string, Opener> = {
  sqlite: async () => ({ store: await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'sy-finops-')) }), cleanup: async () => {} }),
  postgres: async (t) => {
    const schema = await freshPostgresSchema(t);
    if (!schema) return undefined;
    return { store: await openStore({ dataDir: '.', databaseUrl: schema.url }), cleanup: schema.drop };
  },
};

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function rec(i: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id: `u${i}`,
    time: T0 + i * 1000,
    requestId: `req-${i}`,
    keyId: 'k1',
    teamId: 'team-a',
    model: 'gpt-4o-mini',
    deployment: 'gpt-4o-mini#0',
    endpoint: '/v1/chat/completions',
    promptTokens: 100,
    cachedTokens: 40,
    cacheCreationTokens: 0,
    completionTokens: 10,
    status: 200,
    errorCode: null,
    latencyMs: 120.4,
    ttftMs: 30,
    costUsd: 0.25,
    reservedUsd: null,
    ...over,
  };
}

function budget(id: string, over: Partial<Budget> = {}): Budget {
  return { id, name: null, scope: 'team', scopeId: 'team-a', period: 'monthly', limitUsd: 100, thresholds: null, source: 'api', createdAt: T0, ...over };
}

async function withStore(t: TestContext, open: Opener, fn: (s: ReturnType<typeof finopsStores>, store: OpenedStore) => Promise<void>): Promise<void> {
  const opened = await open(t);
  if (!opened) return;
  try {
    await fn(finopsStores(opened.store.sql), opened.store);
  } finally {
    await opened.store.close();
    await opened.cleanup();
  }
}

for (const [name, open] of Object.entries(backends)) {
  describe(`finops stores on ${name}`, () => {
    it('writes a large batch in one transaction and ignores a replayed batch', async (t) => {
      await withStore(t, open, async ({ ledger }, store) => {
        const batch = Array.from({ length: 1_000 }, (_, i) => rec(i));
        await ledger.insertBatch(batch);
        await ledger.insertBatch(batch.slice(0, 10));
        const [row] = await store.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM usage_records');
        assert.equal(Number(row.n), 1_000);
        const [one] = await store.sql.query<{ latency_ms: number; ttft_ms: number; cost_usd: number }>('SELECT latency_ms, ttft_ms, cost_usd FROM usage_records WHERE id = ?', ['u3']);
        assert.deepEqual({ ...one }, { latency_ms: 120, ttft_ms: 30, cost_usd: 0.25 });
      });
    });

    it('a failing batch leaves nothing behind', async (t) => {
      await withStore(t, open, async ({ ledger }, store) => {
        const bad = [rec(1), { ...rec(2), model: null as unknown as string }];
        await assert.rejects(ledger.insertBatch(bad));
        const [row] = await store.sql.query<{ n: number }>('SELECT COUNT(*) AS n FROM usage_records');
        assert.equal(Number(row.n), 0);
      });
    });

    it('reports spend by team, key, model and UTC day over [from, to)', async (t) => {
      await withStore(t, open, async ({ ledger }) => {
        await ledger.insertBatch([
          rec(1, { costUsd: 1 }),
          rec(2, { teamId: 'team-b', keyId: 'k2', costUsd: 4, model: 'claude-sonnet-4' }),
          rec(3, { teamId: null, keyId: null, costUsd: 0.5 }),
          rec(4, { time: T0 + DAY, costUsd: 2 }),
          rec(5, { time: T0 + 3 * DAY, costUsd: 100 }), // outside the window
        ]);
        const from = T0 - DAY;
        const to = T0 + 2 * DAY;
        const byTeam = await ledger.spendReport(from, to, 'team');
        assert.deepEqual(byTeam.map((r) => [r.group, r.requests, r.costUsd]), [['team-b', 1, 4], ['team-a', 2, 3], [null, 1, 0.5]]);
        const teamA = byTeam.find((r) => r.group === 'team-a')!;
        assert.equal(teamA.promptTokens, 200);
        assert.equal(teamA.cachedTokens, 80);
        assert.equal(teamA.completionTokens, 20);
        const byModel = await ledger.spendReport(from, to, 'model');
        assert.deepEqual(byModel.map((r) => [r.group, r.costUsd]), [['claude-sonnet-4', 4], ['gpt-4o-mini', 3.5]]);
        const byDay = await ledger.spendReport(from, to, 'day');
        assert.deepEqual(byDay.map((r) => [r.group, r.requests, r.costUsd]), [['2026-11-20', 3, 5.5], ['2026-11-21', 1, 2]]);
        const byKey = await ledger.spendReport(from, to, 'key');
        assert.deepEqual(byKey.map((r) => r.group), ['k2', 'k1', null]);
        assert.deepEqual(await ledger.spendReport(T0 + 10 * DAY, T0 + 11 * DAY, 'team'), []);
      });
    });

    it('totals usage per deployment and spend since an instant per scope', async (t) => {
      await withStore(t, open, async ({ ledger }) => {
        await ledger.insertBatch([
          rec(1, { model: 'llama', deployment: 'llama#0', promptTokens: 1000, completionTokens: 500, costUsd: 0.1 }),
          rec(2, { model: 'llama', deployment: 'llama#1', promptTokens: 2000, completionTokens: 0, costUsd: 0.2 }),
          rec(3, { model: 'llama', deployment: 'llama#0', promptTokens: 10, completionTokens: 5, costUsd: 0.3, keyId: 'k9', teamId: 'team-z' }),
          rec(4, { model: 'other', deployment: 'other#0', costUsd: 0.4 }),
        ]);
        const usage = await ledger.deploymentUsage(T0, T0 + DAY, 'llama');
        assert.deepEqual(usage.map((r) => [r.group, r.requests, r.promptTokens, r.completionTokens]), [['llama#0', 2, 1010, 505], ['llama#1', 1, 2000, 0]]);
        assert.equal((await ledger.deploymentUsage(T0, T0 + DAY)).length, 3);
        assert.ok(Math.abs((await ledger.spendSince({}, T0)) - 1.0) < 1e-9);
        assert.ok(Math.abs((await ledger.spendSince({ teamId: 'team-a' }, T0)) - 0.7) < 1e-9);
        assert.ok(Math.abs((await ledger.spendSince({ keyId: 'k9' }, T0)) - 0.3) < 1e-9);
        assert.equal(await ledger.spendSince({ keyId: 'k1' }, T0 + 3_000), 0.4);
        assert.equal(await ledger.spendSince({ keyId: 'nobody' }, 0), 0);
      });
    });

    it('creates, lists, deletes budgets and syncs config budgets', async (t) => {
      await withStore(t, open, async ({ budgets, alerts }) => {
        assert.equal(await budgets.create(budget('b1', { thresholds: [50, 90] })), true);
        assert.equal(await budgets.create(budget('b1')), false, 'ids are unique');
        assert.deepEqual(await budgets.get('b1'), budget('b1', { thresholds: [50, 90] }));
        await budgets.syncConfigBudgets([budget('cfg-1', { scope: 'global', scopeId: null, source: 'config', limitUsd: 10 }), budget('cfg-2', { source: 'config' })]);
        await budgets.syncConfigBudgets([budget('cfg-1', { scope: 'global', scopeId: null, source: 'config', limitUsd: 20, createdAt: T0 + 5 })]);
        const all = await budgets.list();
        assert.deepEqual(all.map((b) => [b.id, b.source, b.limitUsd]), [['b1', 'api', 100], ['cfg-1', 'config', 20]]);
        assert.equal(all[1].createdAt, T0, 'an updated config budget keeps its creation time');
        await alerts.claimFiring({ budgetId: 'b1', periodStart: T0, threshold: 50, spentUsd: 51, limitUsd: 100, firedAt: T0 });
        assert.equal(await budgets.delete('b1'), true);
        assert.equal(await budgets.delete('b1'), false);
        assert.equal(await budgets.get('b1'), undefined);
        assert.deepEqual(await alerts.listFirings('b1'), [], 'alert history goes with the budget');
      });
    });

    it('claims an alert threshold and a digest day exactly once, even when racing', async (t) => {
      await withStore(t, open, async ({ alerts }) => {
        const firing = { budgetId: 'b1', periodStart: T0, threshold: 80, spentUsd: 81, limitUsd: 100, firedAt: T0 };
        const results = await Promise.all(Array.from({ length: 8 }, () => alerts.claimFiring(firing)));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await alerts.claimFiring({ ...firing, periodStart: T0 + DAY }), true, 'a new period fires again');
        assert.equal(await alerts.claimFiring({ ...firing, threshold: 100 }), true);
        assert.deepEqual((await alerts.listFirings('b1', T0)).map((f) => f.threshold), [80, 100]);
        const digests = await Promise.all([alerts.claimDigest('2026-11-20', T0), alerts.claimDigest('2026-11-20', T0)]);
        assert.deepEqual(digests.sort(), [false, true]);
      });
    });

    it('records webhook delivery attempts', async (t) => {
      await withStore(t, open, async ({ alerts }) => {
        await alerts.recordDelivery({ id: 'a1', deliveryId: 'd1', kind: 'budget_alert', webhook: 'ops', attempt: 1, statusCode: 500, error: 'HTTP 500', outcome: 'retrying', at: T0, durationMs: 12.7 });
        await alerts.recordDelivery({ id: 'a2', deliveryId: 'd1', kind: 'budget_alert', webhook: 'ops', attempt: 2, statusCode: 200, error: null, outcome: 'delivered', at: T0 + 1000, durationMs: 3 });
        await alerts.recordDelivery({ id: 'a3', deliveryId: 'd2', kind: 'spend_digest', webhook: 'ops', attempt: 1, statusCode: null, error: 'ECONNREFUSED', outcome: 'gave_up', at: T0 + 2000, durationMs: 1 });
        const d1 = await alerts.listDeliveries('d1');
        assert.deepEqual(d1.map((a) => [a.attempt, a.statusCode, a.outcome, a.durationMs]), [[1, 500, 'retrying', 13], [2, 200, 'delivered', 3]]);
        assert.equal((await alerts.listDeliveries()).length, 3);
      });
    });
  });
}
