// Budget enforcement: reserve before, settle after; refusals name the budget and its reset; free
// requests pass; UTC period rollover; seeding from the ledger after a restart; and the overspend
// bound under 50 concurrent requests, in one process and across two guards sharing Redis.

import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BudgetGuard } from '../../src/finops/budget-guard.ts';
import type { Budget } from '../../src/finops/ports.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { MemoryCounterStore } from '../../src/store/counters/memory.ts';
import { RedisCounterStore } from '../../src/store/counters/redis.ts';
import type { CounterStore } from '../../src/store/counters/types.ts';
import { finopsStores, type FinopsStores } from '../../src/store/finops/index.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix } from '../tenancy/support/redis.ts';
import { sleep, sqliteStore, until, usageRecord } from './support.ts';
import { freePort, requireRedisServer, startRedisServer } from '../support/redis-server.ts';

const KEY = { keyId: 'key-1', teamId: 'team-1' };

function budget(id: string, over: Partial<Budget> = {}): Budget {
  return { id, name: null, scope: 'key', scopeId: 'key-1', period: 'monthly', limitUsd: 1, thresholds: null, source: 'api', createdAt: 0, ...over };
}

let store: OpenedStore;
let stores: FinopsStores;
const guards: BudgetGuard[] = [];
const counterStores: CounterStore[] = [];

before(async () => {
  store = await sqliteStore();
  stores = finopsStores(store.sql);
});
after(async () => {
  for (const g of guards) g.close();
  for (const c of counterStores) await c.close();
  await store.close();
});

async function resetBudgets(...budgets: Budget[]): Promise<void> {
  for (const b of await stores.budgets.list()) await stores.budgets.delete(b.id);
  await store.sql.run('DELETE FROM usage_records');
  for (const b of budgets) await stores.budgets.create(b);
}

async function guardWith(options: { counters?: CounterStore; now?: () => number; reservationTimeoutMs?: number } = {}): Promise<BudgetGuard> {
  const counters = options.counters ?? new MemoryCounterStore({ now: options.now });
  counterStores.push(counters);
  const guard = new BudgetGuard({ counters, budgets: stores.budgets, ledger: stores.ledger, now: options.now, reservationTimeoutMs: options.reservationTimeoutMs });
  await guard.start();
  guards.push(guard);
  return guard;
}

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return err;
  }
  assert.fail('expected a budget refusal');
}

describe('BudgetGuard', () => {
  it('reserves the maximum, settles to the real cost, and refuses what would pass the limit', async () => {
    await resetBudgets(budget('b-key', { limitUsd: 1 }));
    const guard = await guardWith();
    const r1 = await guard.reserve(KEY, 'gpt-4o', 0.6);
    let s = await guard.status(budget('b-key'));
    assert.equal(s.inFlightUsd, 0.6);
    assert.equal(s.remainingUsd, 0.4);
    const err = await refusal(guard.reserve(KEY, 'gpt-4o', 0.5));
    assert.equal(err.status, 429);
    assert.equal(err.kind, 'rate_limit');
    assert.equal(err.code, 'budget_exceeded');
    assert.match(err.message, /key key-1 monthly budget \(b-key\)/);
    assert.match(err.message, /\$0\.60 of \$1\.00/);
    assert.match(err.message, /resets at \d{4}-\d{2}-01T00:00:00\.000Z/);
    assert.ok(Number(err.headers['retry-after']) > 0);
    assert.equal(err.headers['x-switchyard-budget-id'], 'b-key');
    await guard.settle(r1, 0.2);
    await guard.settle(r1, 0.2); // idempotent
    s = await guard.status(budget('b-key'));
    assert.deepEqual([s.spentUsd, s.inFlightUsd, s.remainingUsd], [0.2, 0, 0.8]);
    const r2 = await guard.reserve(KEY, 'gpt-4o', 0.5);
    await guard.settle(r2, 0.5);
    assert.equal((await guard.status(budget('b-key'))).spentUsd, 0.7);
  });

  it('checks key, team and global budgets in one atomic step and holds nothing when one refuses', async () => {
    await resetBudgets(
      budget('k', { limitUsd: 10 }),
      budget('t', { scope: 'team', scopeId: 'team-1', limitUsd: 1 }),
      budget('g', { scope: 'global', scopeId: null, limitUsd: 100 }),
      budget('other-team', { scope: 'team', scopeId: 'team-2', limitUsd: 0.01 }),
    );
    const guard = await guardWith();
    assert.deepEqual(guard.applicable(KEY).map((b) => b.id), ['k', 't', 'g']);
    assert.deepEqual(guard.applicable({ keyId: null, teamId: null }).map((b) => b.id), ['g'], 'the master key meets only global budgets');
    const err = await refusal(guard.reserve(KEY, 'gpt-4o', 1.5));
    assert.match(err.message, /team team-1 monthly budget \(t\)/);
    assert.equal((await guard.status(budget('k', { limitUsd: 10 }))).inFlightUsd, 0, 'the key budget was not charged');
    const r = await guard.reserve(KEY, 'gpt-4o', 0.5);
    for (const id of ['k', 't', 'g']) assert.equal((await guard.status((await stores.budgets.get(id))!)).inFlightUsd, 0.5);
    await guard.settle(r, 0.1);
    const globalErr = await refusal(guard.reserve({ keyId: 'key-2', teamId: 'team-2' }, 'gpt-4o', 0.05));
    assert.match(globalErr.message, /team team-2/);
  });

  it('does not show global spend figures to key holders', async () => {
    await resetBudgets(budget('g', { scope: 'global', scopeId: null, limitUsd: 0.1 }));
    const guard = await guardWith();
    const err = await refusal(guard.reserve(KEY, 'gpt-4o', 0.2));
    assert.match(err.message, /global monthly budget \(g\) is used up/);
    assert.doesNotMatch(err.message, /\$/);
  });

  it('never refuses a zero-cost request, even on a spent budget', async () => {
    await resetBudgets(budget('g', { scope: 'global', scopeId: null, limitUsd: 0.5 }));
    const guard = await guardWith();
    const r = await guard.reserve(KEY, 'gpt-4o', 0.5);
    await guard.settle(r, 0.5);
    await refusal(guard.reserve(KEY, 'gpt-4o', 0.000001));
    const free = await guard.reserve(KEY, 'local-llama', 0);
    assert.equal(free.reservedMicros, 0);
    await guard.settle(free, 0);
    assert.equal((await guard.status((await stores.budgets.get('g'))!)).spentUsd, 0.5);
  });

  it('starts a fresh period at the UTC boundary', async () => {
    await resetBudgets(budget('d', { period: 'daily', limitUsd: 1 }));
    let now = Date.parse('2026-11-30T23:59:59.000Z');
    const clock = () => now;
    const guard = await guardWith({ now: clock });
    const r = await guard.reserve(KEY, 'gpt-4o', 0.9);
    await guard.settle(r, 0.9);
    const err = await refusal(guard.reserve(KEY, 'gpt-4o', 0.2));
    assert.match(err.message, /resets at 2026-12-01T00:00:00\.000Z/);
    assert.equal(err.headers['retry-after'], '1');
    now = Date.parse('2026-12-01T00:00:00.000Z');
    const fresh = await guard.reserve(KEY, 'gpt-4o', 0.2);
    assert.equal((await guard.status((await stores.budgets.get('d'))!)).inFlightUsd, 0.2);
    await guard.settle(fresh, 0.2);
  });

  it('seeds period spend from the ledger, so a restart does not reset the budget', async () => {
    await resetBudgets(budget('k', { limitUsd: 1 }), budget('t', { scope: 'team', scopeId: 'team-1', limitUsd: 5 }));
    const now = Date.parse('2026-11-23T12:00:00Z');
    await stores.ledger.insertBatch([
      usageRecord({ time: Date.parse('2026-11-02T00:00:00Z'), costUsd: 0.5 }),
      usageRecord({ time: Date.parse('2026-11-20T00:00:00Z'), costUsd: 0.3 }),
      usageRecord({ time: Date.parse('2026-11-21T00:00:00Z'), costUsd: 0.25, keyId: 'key-other' }), // team only
      usageRecord({ time: Date.parse('2026-10-31T23:59:59Z'), costUsd: 7 }), // last month
    ]);
    const restarted = await guardWith({ now: () => now });
    assert.equal((await restarted.status((await stores.budgets.get('k'))!)).spentUsd, 0.8);
    assert.equal((await restarted.status((await stores.budgets.get('t'))!)).spentUsd, 1.05);
    await refusal(restarted.reserve(KEY, 'gpt-4o', 0.25));
    const ok = await restarted.reserve(KEY, 'gpt-4o', 0.2);
    await restarted.settle(ok, 0.2);
  });

  it('refuses with 503 when the counter store is down, or admits uncounted with failOpen', async () => {
    await resetBudgets(budget('k', { limitUsd: 1 }));
    const broken: CounterStore = {
      kind: 'redis',
      consume: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
      adjust: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
      get: async () => 0,
      reserve: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
      settleReservation: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
      reservations: async () => [],
      releaseReservations: async () => [],
      close: async () => {},
    };
    const closed = await guardWith({ counters: broken });
    const err = await refusal(closed.reserve(KEY, 'gpt-4o', 0.1));
    assert.deepEqual([err.status, err.code], [503, 'budget_store_unavailable']);
    const open = new BudgetGuard({ counters: broken, budgets: stores.budgets, ledger: stores.ledger, failOpen: true });
    await open.start();
    guards.push(open);
    const r = await open.reserve(KEY, 'gpt-4o', 0.1);
    assert.equal(r.reservedMicros, 0);
    await open.settle(r, 0.05); // logged, never thrown
  });

  for (const backend of ['memory', 'redis'] as const) {
    it(`releases a reservation whose request never reported its end (${backend} counters)`, async (t: TestContext) => {
      if (backend === 'redis' && !(await requireRedis(t))) return;
      const prefix = uniquePrefix('finops-expiry');
      try {
        await resetBudgets(budget('k', { limitUsd: 1 }));
        const k = () => stores.budgets.get('k').then((b) => b!);
        const shared = backend === 'memory' ? new MemoryCounterStore() : undefined;
        const counters = () => shared ?? new RedisCounterStore({ url: REDIS_URL, prefix });
        // The holder reserves and is never heard from again (a gateway killed mid-request): its
        // timers stop, and only the counter store and another replica remain.
        const holder = await guardWith({ counters: counters(), reservationTimeoutMs: 300 });
        const other = await guardWith({ counters: counters(), reservationTimeoutMs: 300 });
        const lost = await holder.reserve(KEY, 'gpt-4o', 0.9, 'req-lost');
        holder.close();
        assert.equal((await other.status(await k())).inFlightUsd, 0.9);
        const [open] = await other.reservations(await k());
        assert.deepEqual([open.id, open.amountUsd, open.requestId, open.model, open.keyId], [lost.id, 0.9, 'req-lost', 'gpt-4o', 'key-1']);
        assert.ok(open.expiresAt > Date.now() && open.expiresAt <= Date.now() + 400);
        await refusal(other.reserve(KEY, 'gpt-4o', 0.2));
        await sleep(450);
        const next = await other.reserve(KEY, 'gpt-4o', 0.2);
        assert.equal((await other.status(await k())).inFlightUsd, 0.2, 'the expired reservation freed itself');
        await other.settle(next, 0);
        await holder.settle(lost, 0.3); // the holder was alive after all: its real cost counts, once
        const s = await other.status(await k());
        assert.deepEqual([s.spentUsd, s.inFlightUsd, s.remainingUsd], [0.3, 0, 0.7]);
      } finally {
        if (backend === 'redis') await dropPrefix(prefix);
      }
    });
  }

  it('lists and releases the open reservations of one budget, leaving the others held', async () => {
    await resetBudgets(budget('k', { limitUsd: 1 }), budget('t', { scope: 'team', scopeId: 'team-1', limitUsd: 5 }));
    const guard = await guardWith();
    const r1 = await guard.reserve(KEY, 'gpt-4o', 0.5, 'req-1');
    const r2 = await guard.reserve(KEY, 'gpt-4o', 0.25, 'req-2');
    const k = (await stores.budgets.get('k'))!;
    const tb = (await stores.budgets.get('t'))!;
    assert.deepEqual((await guard.reservations(k)).map((r) => r.requestId), ['req-1', 'req-2']);
    assert.deepEqual((await guard.release(k, [r1.id])).map((r) => r.id), [r1.id]);
    assert.equal((await guard.status(k)).inFlightUsd, 0.25);
    assert.equal((await guard.status(tb)).inFlightUsd, 0.75, 'the team budget still holds both');
    assert.deepEqual((await guard.release(k)).map((r) => r.id), [r2.id]);
    assert.equal((await guard.status(k)).remainingUsd, 1);
    await guard.settle(r1, 0.1);
    await guard.settle(r2, 0.2);
    const [sk, st] = [await guard.status(k), await guard.status(tb)];
    assert.deepEqual([sk.spentUsd, sk.inFlightUsd, sk.remainingUsd], [0.3, 0, 0.7], 'released requests still count what they cost');
    assert.deepEqual([st.spentUsd, st.inFlightUsd], [0.3, 0]);
  });
});

/**
 * Runs `workers` concurrent request loops against the guards (round-robin) until each has been
 * refused three times in a row; each admitted request settles at a random cost up to its maximum.
 */
async function hammer(guardsUnderTest: BudgetGuard[], workers: number, maxCost: number): Promise<{ admitted: number; spent: number }> {
  let admitted = 0;
  let spent = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const guard = guardsUnderTest[w % guardsUnderTest.length];
      let refusals = 0;
      while (refusals < 3) {
        try {
          const r = await guard.reserve(KEY, 'gpt-4o', maxCost);
          refusals = 0;
          admitted += 1;
          await sleep(Math.random() * 5);
          // Mostly the full maximum, sometimes less: the worst case for overspend is actual = max.
          const actual = Math.random() < 0.7 ? maxCost : Math.random() * maxCost;
          spent += actual;
          await guard.settle(r, actual);
        } catch (err) {
          if (!(err instanceof GatewayError) || err.code !== 'budget_exceeded') throw err;
          refusals += 1;
          await sleep(2);
        }
      }
    }),
  );
  return { admitted, spent };
}

describe('overspend bound under 50 concurrent requests', () => {
  const LIMIT = 2;
  const MAX = 0.037;

  it('in-process counters: spend never exceeds the limit by more than one request maximum', async () => {
    await resetBudgets(budget('k', { limitUsd: LIMIT }));
    const guard = await guardWith();
    const { admitted, spent } = await hammer([guard], 50, MAX);
    assert.ok(admitted >= Math.floor(LIMIT / MAX), `admitted ${admitted}`);
    assert.ok(spent <= LIMIT + MAX, `spent ${spent} > ${LIMIT} + ${MAX}`);
    assert.ok(spent <= LIMIT + 1e-6, 'with actual <= reserved, not even one maximum over');
    const s = await guard.status((await stores.budgets.get('k'))!);
    assert.equal(s.inFlightUsd, 0);
    assert.ok(Math.abs(s.spentUsd - spent) < 1e-4, `counter ${s.spentUsd} vs real ${spent}`);
  });

  it('a Redis that comes back empty is seeded again from the ledger, so an outage does not reset spend', async (t: TestContext) => {
    if (!requireRedisServer(t)) return;
    await resetBudgets(budget('k', { limitUsd: 1 }));
    await stores.ledger.insertBatch([usageRecord({ costUsd: 0.8 })]);
    const port = await freePort();
    let redis = await startRedisServer(port);
    const counters = new RedisCounterStore({ url: redis.url, prefix: 'sy-test:reseed:' });
    try {
      const guard = await guardWith({ counters });
      assert.equal((await refusal(guard.reserve(KEY, 'gpt-4o', 0.5))).code, 'budget_exceeded', 'seeded: 0.80 spent');
      await redis.kill();
      redis = await startRedisServer(port); // no persistence: every counter and seed marker is gone
      await until(() => counters.generation === 1, 20_000, 'the reconnect');
      const err = await refusal(guard.reserve(KEY, 'gpt-4o', 0.5));
      assert.equal(err.code, 'budget_exceeded', 'seeded again, not counting from zero');
      assert.match(err.message, /\$0\.80 of \$1\.00/);
    } finally {
      await redis.kill();
    }
  });

  it('two guards (two replicas) sharing Redis counters enforce one limit jointly', async (t: TestContext) => {
    if (!(await requireRedis(t))) return;
    const prefix = uniquePrefix('finops-budget');
    try {
      await resetBudgets(budget('k', { limitUsd: LIMIT }));
      const a = await guardWith({ counters: new RedisCounterStore({ url: REDIS_URL, prefix }) });
      const b = await guardWith({ counters: new RedisCounterStore({ url: REDIS_URL, prefix }) });
      const { spent } = await hammer([a, b], 50, MAX);
      assert.ok(spent <= LIMIT + MAX, `spent ${spent} > ${LIMIT} + ${MAX}`);
      assert.ok(spent <= LIMIT + 1e-6);
      const s = await a.status((await stores.budgets.get('k'))!);
      assert.ok(Math.abs(s.spentUsd - spent) < 1e-4);
      // Nothing leaked: with nobody in flight, one more request passes exactly when it fits.
      const fits = LIMIT - s.spentUsd >= MAX;
      const last = b.reserve(KEY, 'gpt-4o', MAX);
      if (fits) await b.settle(await last, 0);
      else await refusal(last);
    } finally {
      await dropPrefix(prefix);
    }
  });
});
