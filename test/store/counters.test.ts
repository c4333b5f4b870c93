// One counter suite, run against the in-process store and against real Redis.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCounterStore, RedisCounterStore, createCounterStore, type CounterStore } from '../../src/store/counters/index.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix } from '../tenancy/support/redis.ts';

interface Opened {
  /** Two handles on the same counters: two connections for Redis (two gateways), one object for memory. */
  a: CounterStore;
  b: CounterStore;
  cleanup: () => Promise<void>;
}

const backends: Record<string, (t: TestContext) => Promise<Opened | undefined>> = {
  memory: async () => {
    const store = new MemoryCounterStore();
    return { a: store, b: store, cleanup: () => store.close() };
  },
  redis: async (t) => {
    if (!(await requireRedis(t))) return undefined;
    const prefix = uniquePrefix('counters');
    const a = new RedisCounterStore({ url: REDIS_URL, prefix });
    const b = new RedisCounterStore({ url: REDIS_URL, prefix });
    return {
      a,
      b,
      cleanup: async () => {
        await a.close();
        await b.close();
        await dropPrefix(prefix);
      },
    };
  },
};

async function withStore(t: TestContext, name: string, fn: (s: Opened) => Promise<void>): Promise<void> {
  const opened = await backends[name](t);
  if (!opened) return;
  try {
    await fn(opened);
  } finally {
    await opened.cleanup();
  }
}

for (const name of Object.keys(backends)) {
  describe(`counters on ${name}`, () => {
    it('consumes up to the limit and reports values and window resets', (t) =>
      withStore(t, name, async ({ a }) => {
        const check = { key: 'rpm:k1', limit: 3, amount: 1, windowMs: 60_000 };
        for (let i = 1; i <= 3; i++) {
          const r = await a.consume([check]);
          assert.ok(r.ok);
          assert.deepEqual(r.values, [i]);
          assert.ok(r.resetsInMs[0] > 0 && r.resetsInMs[0] <= 60_000, `reset ${r.resetsInMs[0]}`);
        }
        const refused = await a.consume([check]);
        assert.equal(refused.ok, false);
        if (refused.ok) return;
        assert.equal(refused.failed, 0);
        assert.equal(refused.current, 3);
        assert.equal(refused.limit, 3);
        assert.ok(refused.resetsInMs > 0 && refused.resetsInMs <= 60_000);
        assert.equal(await a.get('rpm:k1', { windowMs: 60_000 }), 3, 'a refused consume adds nothing');
      }));

    it('applies all checks or none', (t) =>
      withStore(t, name, async ({ a }) => {
        const key = { key: 'rpm:key', limit: 10, amount: 1, windowMs: 60_000 };
        const team = { key: 'rpm:team', limit: 1, amount: 1, windowMs: 60_000 };
        assert.ok((await a.consume([key, team])).ok);
        const r = await a.consume([key, team]);
        assert.equal(r.ok, false);
        if (!r.ok) assert.equal(r.failed, 1, 'the team check is the one that fails');
        assert.equal(await a.get('rpm:key', { windowMs: 60_000 }), 1, 'the passing key check was not applied');
        assert.equal(await a.get('rpm:team', { windowMs: 60_000 }), 1);
      }));

    it('counts one key named twice in one call against its limit once', (t) =>
      withStore(t, name, async ({ a }) => {
        const c = { key: 'dup', limit: 3, amount: 2 };
        const r = await a.consume([c, c]);
        assert.equal(r.ok, false);
        assert.equal(await a.get('dup'), 0);
      }));

    it('starts a fresh window when the old one rolls over', (t) =>
      withStore(t, name, async ({ a }) => {
        const check = { key: 'short', limit: 2, amount: 1, windowMs: 400 };
        let r = await a.consume([check]);
        if (r.ok && r.resetsInMs[0] < 150) {
          // Too close to a boundary for the next two calls to share a window; start in the next one.
          await sleep(r.resetsInMs[0] + 10);
          r = await a.consume([check]);
        }
        assert.ok(r.ok);
        assert.ok((await a.consume([check])).ok);
        const refused = await a.consume([check]);
        assert.equal(refused.ok, false);
        if (refused.ok) return;
        await sleep(refused.resetsInMs + 20);
        assert.equal(await a.get('short', { windowMs: 400 }), 0, 'a rolled-over window reads as zero');
        const fresh = await a.consume([check]);
        assert.ok(fresh.ok);
        assert.deepEqual(fresh.values, [1]);
      }));

    it('adjusts without a limit check and never below zero', (t) =>
      withStore(t, name, async ({ a }) => {
        const tpm = { key: 'tpm:k', limit: 1000, amount: 600, windowMs: 60_000 };
        assert.ok((await a.consume([tpm])).ok);
        assert.equal(await a.adjust('tpm:k', -450, { windowMs: 60_000 }), 150, 'settled to the real usage');
        assert.equal(await a.adjust('tpm:k', 2000, { windowMs: 60_000 }), 2150, 'adjust may exceed the limit');
        assert.equal(await a.adjust('tpm:k', -5000, { windowMs: 60_000 }), 0, 'clamped at zero');
        assert.equal(await a.get('tpm:k', { windowMs: 60_000 }), 0);
        assert.equal(await a.adjust('missing', -1), 0, 'a release of an absent counter creates no credit');
        assert.equal(await a.get('missing'), 0);
        assert.equal(await a.adjust('created', 2), 2);
      }));

    it('expires window-less counters after their ttl, and adjust keeps that expiry', (t) =>
      withStore(t, name, async ({ a }) => {
        assert.ok((await a.consume([{ key: 'budget', limit: 10, amount: 4, ttlMs: 300 }])).ok);
        await sleep(150);
        assert.equal(await a.adjust('budget', 1), 5, 'adjust keeps the ttl set by consume');
        await sleep(250);
        assert.equal(await a.get('budget'), 0, 'gone when the original ttl ran out');
        assert.equal(await a.adjust('fresh-ttl', 3, { ttlMs: 200 }), 3);
        await sleep(260);
        assert.equal(await a.get('fresh-ttl'), 0, 'an adjust that creates a counter gives it the ttl');
      }));

    it('keeps window-less counters without ttl until released (concurrency)', (t) =>
      withStore(t, name, async ({ a }) => {
        const slot = { key: 'conc:k', limit: 2, amount: 1 };
        assert.ok((await a.consume([slot])).ok);
        assert.ok((await a.consume([slot])).ok);
        const full = await a.consume([slot]);
        assert.equal(full.ok, false);
        if (!full.ok) assert.equal(full.resetsInMs, 0);
        assert.equal(await a.adjust('conc:k', -1), 1);
        assert.ok((await a.consume([slot])).ok);
      }));

    it('handles fractional amounts (USD reservations)', (t) =>
      withStore(t, name, async ({ a }) => {
        const c = { key: 'usd', limit: 1, amount: 0.125, ttlMs: 60_000 };
        for (let i = 0; i < 8; i++) assert.ok((await a.consume([c])).ok);
        assert.equal((await a.consume([c])).ok, false);
        assert.equal(await a.adjust('usd', -0.0625), 0.9375);
        assert.equal(await a.get('usd'), 0.9375);
      }));

    it('holds reservations by id: settles them to the real amount, lists and releases them', (t) =>
      withStore(t, name, async ({ a, b }) => {
        const checks = [
          { key: 'rsv:key', limit: 100, amount: 30, ttlMs: 60_000 },
          { key: 'rsv:team', limit: 1000, amount: 30, ttlMs: 60_000 },
        ];
        const r1 = await a.reserve(checks, { id: 'r1', holdMs: 60_000, info: '{"request_id":"req-1"}' });
        assert.ok(r1.ok);
        assert.deepEqual(r1.values, [30, 30]);
        assert.ok((await b.reserve(checks, { id: 'r2', holdMs: 60_000, info: 'second' })).ok);
        const refused = await a.reserve(checks.map((c) => ({ ...c, amount: 50 })), { id: 'r3', holdMs: 60_000, info: '' });
        assert.equal(refused.ok, false, '60 + 50 > 100 on the key counter');
        if (!refused.ok) assert.deepEqual([refused.failed, refused.current, refused.limit], [0, 60, 100]);
        const held = await b.reservations('rsv:key');
        assert.deepEqual(held.map((r) => [r.id, r.amount, r.info]), [['r1', 30, '{"request_id":"req-1"}'], ['r2', 30, 'second']], 'the refused one holds nothing');
        assert.ok(held[0].expiresAt > Date.now() + 50_000 && held[0].expiresAt <= Date.now() + 61_000, `expiry ${held[0].expiresAt}`);
        assert.equal(await b.settleReservation('rsv:key', 'r1', 12), 42, 'moved by actual - held');
        assert.equal(await a.settleReservation('rsv:key', 'r1', 12), 54, 'a second settle of the same id counts its actual again (callers settle once)');
        assert.deepEqual((await a.reservations('rsv:key')).map((r) => r.id), ['r2']);
        const released = await a.releaseReservations('rsv:team', ['r2', 'unknown']);
        assert.deepEqual(released.map((r) => [r.id, r.amount]), [['r2', 30]]);
        assert.equal(await a.get('rsv:team'), 30, 'r1 still holds the team counter');
        assert.deepEqual(await a.releaseReservations('rsv:team', []), [], 'an empty id list releases nothing');
        assert.deepEqual((await b.releaseReservations('rsv:team')).map((r) => r.id), ['r1'], 'no ids: all of them');
        assert.equal(await b.get('rsv:team'), 0);
        assert.deepEqual(await b.reservations('rsv:team'), []);
        assert.equal(await b.settleReservation('rsv:team', 'r1', 5), 5, 'a released reservation settles its whole actual');
      }));

    it('releases a reservation nobody settles after its hold time, on the next call that touches the counter', (t) =>
      withStore(t, name, async ({ a, b }) => {
        const check = { key: 'rsv:crash', limit: 100, amount: 90, ttlMs: 60_000 };
        assert.ok((await a.reserve([check], { id: 'lost', holdMs: 300, info: 'crashed gateway' })).ok);
        assert.equal((await b.reserve([{ ...check, amount: 20 }], { id: 'early', holdMs: 60_000, info: '' })).ok, false, 'still held');
        await sleep(450);
        const after = await b.reserve([{ ...check, amount: 20 }], { id: 'later', holdMs: 60_000, info: '' });
        assert.ok(after.ok, 'the expired hold was released before the check');
        assert.deepEqual(after.values, [20]);
        assert.deepEqual((await b.reservations('rsv:crash')).map((r) => r.id), ['later']);
        // The holder turns out to be alive after all: its real cost still counts, once.
        assert.equal(await a.settleReservation('rsv:crash', 'lost', 7), 27);
        assert.ok((await a.reserve([{ key: 'rsv:list', limit: 10, amount: 4, ttlMs: 60_000 }], { id: 'x', holdMs: 200, info: '' })).ok);
        await sleep(320);
        assert.deepEqual(await b.reservations('rsv:list'), [], 'listing releases expired ones too');
        assert.equal(await b.get('rsv:list'), 0);
      }));

    it('drops reservations together with their counter when its ttl runs out', (t) =>
      withStore(t, name, async ({ a, b }) => {
        const check = { key: 'rsv:period', limit: 10, amount: 6, ttlMs: 250 };
        assert.ok((await a.reserve([check], { id: 'old', holdMs: 60_000, info: '' })).ok);
        await sleep(350);
        assert.equal(await b.get('rsv:period'), 0);
        assert.deepEqual(await b.reservations('rsv:period'), []);
        assert.ok((await b.reserve([{ ...check, ttlMs: 60_000 }], { id: 'new', holdMs: 60_000, info: '' })).ok);
        assert.deepEqual(await a.releaseReservations('rsv:period', ['old']), [], 'the old one is gone, not released from the new counter');
        assert.equal(await a.get('rsv:period'), 6);
      }));

    it('lets exactly the limit through 200 concurrent consumers from two clients', (t) =>
      withStore(t, name, async ({ a, b }) => {
        const check = { key: 'race', limit: 50, amount: 1, windowMs: 60_000 };
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).consume([check])));
        assert.equal(results.filter((r) => r.ok).length, 50);
        assert.equal(await b.get('race', { windowMs: 60_000 }), 50);
        const values = results.flatMap((r) => (r.ok ? r.values : [])).sort((x, y) => x - y);
        assert.deepEqual(values, Array.from({ length: 50 }, (_, i) => i + 1), 'each winner saw a distinct count');
      }));
  });
}

describe('memory counters with an injected clock', () => {
  it('aligns windows to multiples of windowMs and rolls over exactly at the boundary', async () => {
    let now = 1_800_000_000_000 + 59_999; // one ms before a minute boundary
    const store = new MemoryCounterStore({ now: () => now });
    const check = { key: 'rpm', limit: 1, amount: 1, windowMs: 60_000 };
    const first = await store.consume([check]);
    assert.ok(first.ok);
    assert.deepEqual(first.resetsInMs, [1]);
    assert.equal((await store.consume([check])).ok, false);
    now += 1;
    assert.ok((await store.consume([check])).ok, 'a new window at the boundary');
    await store.close();
  });
});

describe('createCounterStore', () => {
  it('is in-process without a URL and Redis with one', async (t) => {
    const memory = createCounterStore();
    assert.equal(memory.kind, 'memory');
    await memory.close();
    if (!(await requireRedis(t))) return;
    const redis = createCounterStore(REDIS_URL, { prefix: uniquePrefix('factory') });
    assert.equal(redis.kind, 'redis');
    await redis.close();
  });
});

describe('redis counters', () => {
  it('expire windowed keys with their window', async (t) => {
    if (!(await requireRedis(t))) return;
    const prefix = uniquePrefix('ttl');
    const store = new RedisCounterStore({ url: REDIS_URL, prefix });
    try {
      assert.ok((await store.consume([{ key: 'w', limit: 5, amount: 1, windowMs: 10_000 }])).ok);
      const keys = await store.redis.keys(`${prefix}w:*`);
      assert.equal(keys.length, 1, 'the window start is part of the key');
      const ttl = await store.redis.pttl(keys[0]);
      assert.ok(ttl > 0 && ttl <= 10_000, `pttl ${ttl}`);
      await store.adjust('w', 1, { windowMs: 10_000 });
      const after = await store.redis.pttl(keys[0]);
      assert.ok(after > 0 && after <= ttl, 'adjust keeps the ttl');
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });

  it('give the keys of reservations the ttl of their counter', async (t) => {
    if (!(await requireRedis(t))) return;
    const prefix = uniquePrefix('rsv-ttl');
    const store = new RedisCounterStore({ url: REDIS_URL, prefix });
    try {
      assert.ok((await store.reserve([{ key: 'b', limit: 5, amount: 1, ttlMs: 30_000 }], { id: 'r', holdMs: 10_000, info: '' })).ok);
      const keys = (await store.redis.keys(`${prefix}b*`)).sort();
      assert.deepEqual(keys, [`${prefix}b`, `${prefix}b:rsv`, `${prefix}b:rsv:amt`, `${prefix}b:rsv:info`]);
      for (const k of keys) {
        const ttl = await store.redis.pttl(k);
        assert.ok(ttl > 10_000 && ttl <= 30_000, `${k} pttl ${ttl}`);
      }
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });
});
