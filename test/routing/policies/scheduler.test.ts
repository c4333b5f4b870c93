import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerPolicy } from '../../../src/routing/policies/scheduler.ts';
import { DEFAULT_SCHEDULER_FILTERS, DEFAULT_SCORERS, type ScorerName, type WeightedScorer } from '../../../src/routing/scorers/index.ts';
import type { RoutingRequest } from '../../../src/routing/types.ts';
import { countBy, pickFrom, replicas, request, seeded, type MutableReplica } from '../helpers.ts';

const NOW = 1_000_000;

/** The default scorers with some weights replaced (0 turns a scorer off). */
function reweighted(weights: Partial<Record<ScorerName, number>>): WeightedScorer[] {
  return DEFAULT_SCORERS.map((s) => ({ name: s.name, weight: weights[s.name] ?? s.weight }));
}
const clock = () => NOW;

/** Tenant t's request: 24 shared system-prompt blocks, then 6 blocks of its own (about 80 % shared). */
function tenantRequest(tenant: number, unique: number): RoutingRequest {
  const hashes = Array.from({ length: 24 }, (_, i) => `t${tenant}-b${i}`);
  for (let i = 0; i < 6; i++) hashes.push(`q${unique}-b${i}`);
  return request({ prefixHashes: hashes, estimatedPromptTokens: 7_200, expectedOutputTokens: 200 });
}

function coldRequest(unique: number): RoutingRequest {
  return request({ prefixHashes: Array.from({ length: 30 }, (_, i) => `cold${unique}-b${i}`), estimatedPromptTokens: 7_200, expectedOutputTokens: 200 });
}

/** Plays the gateway: route, count the request in flight, tell the policy. */
function dispatch(p: SchedulerPolicy, rs: MutableReplica[], req: RoutingRequest): MutableReplica {
  const chosen = pickFrom(p, rs, req);
  chosen.inFlight++;
  chosen.inFlightTokens += req.estimatedPromptTokens + req.expectedOutputTokens;
  p.onRouted(chosen, req);
  return chosen;
}

function finish(r: MutableReplica, req: RoutingRequest): void {
  r.inFlight--;
  r.inFlightTokens -= req.estimatedPromptTokens + req.expectedOutputTokens;
}

function idleScrape(rs: MutableReplica[], at = NOW): void {
  for (const r of rs) r.scraped = { at, running: 0, waiting: 0, kvUsage: 0.1 };
}

describe('scheduler', () => {
  it('concentrates each tenant on the replica holding its prefix while spreading tenants', () => {
    let now = NOW;
    const p = new SchedulerPolicy({ random: seeded(1), now: () => now });
    const rs = replicas(4);
    const rng = seeded(2);
    const live: { r: MutableReplica; req: RoutingRequest }[] = [];
    const byTenant = new Map<number, string[]>();
    for (let i = 0; i < 2_000; i++) {
      // One arrival every 10 ms, a scrape every 250 ms; the engines run everything (nothing waiting).
      now += 10;
      if (i % 25 === 0) for (const r of rs) r.scraped = { at: now, running: r.inFlight, waiting: 0, kvUsage: 0.2 + r.inFlight / 100 };
      const tenant = Math.floor(rng() * 8);
      const req = tenantRequest(tenant, i);
      const r = dispatch(p, rs, req);
      live.push({ r, req });
      byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), r.id]);
      // Moderate load: each request lives for the next 12 arrivals.
      if (live.length > 12) {
        const done = live.shift()!;
        finish(done.r, done.req);
      }
    }
    const homes = new Set<string>();
    for (const [tenant, ids] of byTenant) {
      const [home, n] = [...countBy(ids)].sort((a, b) => b[1] - a[1])[0];
      homes.add(home);
      assert.ok(n / ids.length >= 0.9, `tenant ${tenant}: only ${n}/${ids.length} on ${home}`);
    }
    assert.ok(homes.size >= 3, `tenants landed on only ${homes.size} replicas`);
  });

  it('spreads a burst of 100 cold requests with no scrape in between (gateway in-flight credit)', () => {
    const p = new SchedulerPolicy({ random: seeded(3), now: clock });
    const rs = replicas(4);
    idleScrape(rs);
    for (let i = 0; i < 100; i++) dispatch(p, rs, coldRequest(i));
    for (const r of rs) assert.ok(r.inFlight >= 24 && r.inFlight <= 26, `${r.id}: ${r.inFlight}`);
  });

  it('spreads a burst on queue credit alone, even when the gateway counters lag', () => {
    // Only onRouted is called (inFlight not yet updated, as when requests are still connecting).
    const p = new SchedulerPolicy({ random: seeded(4), now: clock, scorers: reweighted({ 'in-flight-tokens': 0 }) });
    const rs = replicas(4);
    idleScrape(rs);
    const counts = countBy(
      Array.from({ length: 100 }, (_, i) => {
        const req = coldRequest(i);
        const r = p.pick(rs, req)!;
        p.onRouted(r, req);
        return r.id;
      }),
    );
    for (const r of rs) assert.ok(counts.get(r.id)! >= 24 && counts.get(r.id)! <= 26, `${r.id}: ${counts.get(r.id)}`);
  });

  it('a newer scrape replaces the credit (the engine now counts those requests itself)', () => {
    const p = new SchedulerPolicy({ random: seeded(5), now: clock, scorers: reweighted({ 'in-flight-tokens': 0, 'kv-cache': 0 }) });
    const rs = replicas(2);
    idleScrape(rs, NOW - 100);
    for (let i = 0; i < 10; i++) p.onRouted(rs[0], coldRequest(i));
    assert.equal(p.queue.depth(rs[0], { now: NOW, staleAfterMs: 2_000 }), 10);
    rs[0].scraped = { at: NOW, waiting: 3 };
    assert.equal(p.queue.depth(rs[0], { now: NOW, staleAfterMs: 2_000 }), 3);
  });

  it('sends cold requests to the idle replica', () => {
    const p = new SchedulerPolicy({ random: seeded(6), now: clock });
    const rs = replicas(4);
    idleScrape(rs);
    for (const [i, r] of rs.entries()) if (i !== 2) Object.assign(r, { inFlight: 3, inFlightTokens: 20_000, scraped: { at: NOW, waiting: 1, running: 3, kvUsage: 0.5 } });
    for (let i = 0; i < 20; i++) assert.equal(p.pick(rs, coldRequest(i))!.id, 'r2');
  });

  it('keeps a moderately busy prefix holder, but an overloaded one loses to an idle replica', () => {
    const p = new SchedulerPolicy({ random: seeded(7), now: clock });
    const rs = replicas(4);
    idleScrape(rs);
    const holder = rs[1];
    p.onRouted(holder, tenantRequest(0, -1));

    Object.assign(holder, { inFlight: 4, inFlightTokens: 30_000, scraped: { at: NOW, running: 4, waiting: 0, kvUsage: 0.4 } });
    assert.equal(p.pick(rs, tenantRequest(0, 1))!.id, holder.id);

    Object.assign(holder, { inFlight: 30, inFlightTokens: 220_000, scraped: { at: NOW, running: 10, waiting: 20, kvUsage: 0.95 } });
    assert.notEqual(p.pick(rs, tenantRequest(0, 2))!.id, holder.id);
  });

  it('filters replicas at max concurrency, and returns undefined when all are', () => {
    const p = new SchedulerPolicy({ random: seeded(8), now: clock });
    const rs = replicas(3, { maxConcurrency: 2 });
    idleScrape(rs);
    p.onRouted(rs[0], tenantRequest(0, -1));
    rs[0].inFlight = 2;
    assert.notEqual(p.pick(rs, tenantRequest(0, 1))!.id, 'r0');
    for (const r of rs) r.inFlight = 2;
    assert.equal(p.pick(rs, tenantRequest(0, 1)), undefined);
    assert.equal(p.pick([], tenantRequest(0, 1)), undefined);
  });

  it('filters replicas whose queue is far longer than the shortest, even when they hold the prefix', () => {
    const p = new SchedulerPolicy({ random: seeded(9), now: clock, scorers: [{ name: 'prefix-cache', weight: 3 }], maxQueueAboveMin: 10 });
    const rs = replicas(2);
    idleScrape(rs);
    p.onRouted(rs[0], tenantRequest(0, -1));
    rs[0].scraped = { at: NOW, waiting: 11 };
    assert.equal(p.pick(rs, tenantRequest(0, 1))!.id, 'r1');
    rs[0].scraped = { at: NOW, waiting: 10 };
    assert.equal(p.pick(rs, tenantRequest(0, 1))!.id, 'r0');
  });

  it('ignores stale scrapes and falls back to the gateway in-flight count', () => {
    const p = new SchedulerPolicy({ random: seeded(10), now: clock, staleAfterMs: 1_000 });
    const rs = replicas(2);
    rs[0].scraped = { at: NOW - 5_000, waiting: 0, kvUsage: 0 };
    rs[0].inFlight = 5;
    rs[1].scraped = { at: NOW, waiting: 2, kvUsage: 0.5 };
    assert.equal(p.queue.depth(rs[0], { now: NOW, staleAfterMs: 1_000 }), 5);
    assert.equal(p.pick(rs, coldRequest(1))!.id, 'r1');
  });

  it('breaks exact ties at random (no burst to the first replica)', () => {
    const p = new SchedulerPolicy({ random: seeded(11), now: clock });
    const rs = replicas(4);
    idleScrape(rs);
    const counts = countBy(Array.from({ length: 400 }, (_, i) => p.pick(rs, coldRequest(i))!.id));
    for (const r of rs) assert.ok(counts.get(r.id)! > 60, `${r.id}: ${counts.get(r.id)}`);
  });

  it('keeps a prefix holder with a long queue when the long-queue filter is not configured', () => {
    const p = new SchedulerPolicy({ random: seeded(9), now: clock, scorers: [{ name: 'prefix-cache', weight: 3 }], filters: ['at-capacity'], maxQueueAboveMin: 10 });
    const rs = replicas(2);
    idleScrape(rs);
    p.onRouted(rs[0], tenantRequest(0, -1));
    rs[0].scraped = { at: NOW, waiting: 50 };
    assert.equal(p.pick(rs, tenantRequest(0, 1))!.id, 'r0');
  });

  it('exposes its scorers and filters, the defaults when none are given', () => {
    assert.deepEqual(new SchedulerPolicy().scorers, DEFAULT_SCORERS);
    assert.deepEqual(new SchedulerPolicy().filterNames, DEFAULT_SCHEDULER_FILTERS);
    assert.deepEqual(new SchedulerPolicy({ scorers: reweighted({ queue: 5 }) }).scorers, reweighted({ queue: 5 }));
  });

  it('uses only the scorers listed', () => {
    // kv-cache alone: the replica with the emptiest cache wins every time, whatever else differs.
    const p = new SchedulerPolicy({ random: seeded(12), now: clock, scorers: [{ name: 'kv-cache', weight: 1 }] });
    const rs = replicas(3);
    idleScrape(rs);
    rs[1].scraped = { at: NOW, waiting: 3, kvUsage: 0.05 };
    rs[1].inFlight = 9;
    for (let i = 0; i < 20; i++) assert.equal(p.pick(rs, coldRequest(i))!.id, 'r1');
  });
});
