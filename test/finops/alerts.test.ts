// Threshold alerts fire once per budget period, even with two guards (two replicas) sharing one
// store and one set of counters, and again in the next period.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AlertMonitor } from '../../src/finops/alerts.ts';
import { BudgetGuard } from '../../src/finops/budget-guard.ts';
import type { Notification } from '../../src/finops/notifications.ts';
import type { Budget } from '../../src/finops/ports.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { MemoryCounterStore } from '../../src/store/counters/memory.ts';
import { finopsStores, type FinopsStores } from '../../src/store/finops/index.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { sqliteStore, until } from './support.ts';

const KEY = { keyId: 'key-1', teamId: 'team-1' };
let store: OpenedStore;
let stores: FinopsStores;

before(async () => {
  store = await sqliteStore();
  stores = finopsStores(store.sql);
});
after(async () => {
  await store.close();
});

interface Replica {
  guard: BudgetGuard;
  monitor: AlertMonitor;
  sent: Notification[];
}

async function replica(counters: MemoryCounterStore, clock: () => number): Promise<Replica> {
  const sent: Notification[] = [];
  const monitor = new AlertMonitor({ log: stores.alerts, notify: (n) => sent.push(n), defaultThresholds: [50, 80, 100], now: clock });
  const guard = new BudgetGuard({ counters, budgets: stores.budgets, ledger: stores.ledger, onSpend: monitor.onSpend, now: clock });
  await guard.start();
  return { guard, monitor, sent };
}

async function setBudget(b: Budget): Promise<void> {
  for (const old of await stores.budgets.list()) await stores.budgets.delete(old.id);
  await stores.budgets.create(b);
}

const thresholdsOf = (sent: Notification[]) => sent.map((n) => n.event.threshold_percent as number);

describe('budget alerts', () => {
  it('fire each threshold once per period across two replicas, and again next period', async () => {
    await setBudget({ id: 'b', name: null, scope: 'key', scopeId: 'key-1', period: 'daily', limitUsd: 10, thresholds: null, source: 'api', createdAt: 0 });
    let now = Date.parse('2026-11-23T10:00:00Z');
    const clock = () => now;
    const counters = new MemoryCounterStore({ now: clock }); // stands in for the shared Redis
    const a = await replica(counters, clock);
    const b = await replica(counters, clock);
    // 40 requests of $0.20 from both replicas at once: spend climbs 0 -> $8 (80 %).
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const r = i % 2 ? b : a;
        const res = await r.guard.reserve(KEY, 'gpt-4o', 0.25);
        await r.guard.settle(res, 0.2);
      }),
    );
    await Promise.all([a.monitor.idle(), b.monitor.idle()]);
    const sent = [...a.sent, ...b.sent];
    assert.deepEqual(thresholdsOf(sent).sort((x, y) => x - y), [50, 80], 'one alert per threshold in total');
    const firings = await stores.alerts.listFirings('b');
    assert.deepEqual(firings.map((f) => f.threshold), [50, 80]);
    assert.ok(firings[0].spentUsd >= 5 && firings[0].spentUsd < 5.5, `fired at ${firings[0].spentUsd}`);

    // More spend below the next threshold sends nothing new.
    const more = await a.guard.reserve(KEY, 'gpt-4o', 0.5);
    await a.guard.settle(more, 0.5);
    await a.monitor.idle();
    assert.equal(a.sent.length + b.sent.length, 2);

    // Next day: a fresh period, and a jump straight past 50 and 80 sends one alert naming 80.
    now = Date.parse('2026-11-24T00:00:05Z');
    const big = await b.guard.reserve(KEY, 'gpt-4o', 9);
    await b.guard.settle(big, 8.5);
    await b.monitor.idle();
    assert.equal(thresholdsOf(b.sent).at(-1), 80);
    const today = await stores.alerts.listFirings('b', Date.parse('2026-11-24T00:00:00Z'));
    assert.deepEqual(today.map((f) => f.threshold), [50, 80], 'the skipped threshold is claimed too, so it never fires late');
    for (const r of [a, b]) r.guard.close();
    await counters.close();
  });

  it('a refusal on a nearly spent budget fires the 100 % alert once, saying requests are refused', async () => {
    await setBudget({ id: 'g', name: 'all', scope: 'global', scopeId: null, period: 'monthly', limitUsd: 1, thresholds: [90, 100], source: 'api', createdAt: 0 });
    const clock = () => Date.parse('2026-11-23T10:00:00Z');
    const counters = new MemoryCounterStore({ now: clock });
    const a = await replica(counters, clock);
    const r = await a.guard.reserve(KEY, 'gpt-4o', 0.95);
    await a.guard.settle(r, 0.95);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(a.guard.reserve(KEY, 'gpt-4o', 0.1), (e: unknown) => e instanceof GatewayError && e.code === 'budget_exceeded');
    }
    await until(() => a.sent.length >= 2, 2_000, 'the refusal alert');
    await a.monitor.idle();
    assert.deepEqual(thresholdsOf(a.sent), [90, 100]);
    const last = a.sent.at(-1)!;
    assert.equal(last.event.requests_refused, true);
    assert.match(last.lines.join('\n'), /Requests are being refused/);
    a.guard.close();
    await counters.close();
  });

  it('one oversized request refused on a mostly unspent budget fires nothing', async () => {
    await setBudget({ id: 'k2', name: null, scope: 'key', scopeId: 'key-1', period: 'monthly', limitUsd: 10, thresholds: null, source: 'api', createdAt: 0 });
    const clock = () => Date.parse('2026-11-23T10:00:00Z');
    const counters = new MemoryCounterStore({ now: clock });
    const a = await replica(counters, clock);
    await assert.rejects(a.guard.reserve(KEY, 'gpt-4o', 50));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await a.monitor.idle();
    assert.deepEqual(a.sent, []);
    a.guard.close();
    await counters.close();
  });
});
