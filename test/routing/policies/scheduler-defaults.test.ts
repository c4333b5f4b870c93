// The scheduler as configured by default routes exactly as it did when its weights were fixed
// fields (prefix-cache 3, queue 2, kv-cache 1, in-flight-tokens 1): the registry, the config block
// and the deprecated scheduler_weights alias all come to the same decisions. The fingerprints were
// taken from the scheduler before the scorer registry, on this workload.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../src/config/load.ts';
import { SchedulerPolicy } from '../../../src/routing/policies/scheduler.ts';
import { DEFAULT_SCORERS } from '../../../src/routing/scorers/index.ts';
import type { RoutingConfig } from '../../../src/config/schema.ts';
import type { RoutingPolicy, RoutingRequest } from '../../../src/routing/types.ts';
import { replicas, request, seeded, type MutableReplica } from '../helpers.ts';

/** Before the registry: new SchedulerPolicy() with its default weights. */
const DEFAULT_FINGERPRINT = { hash: 'f494398', picks: 4000, none: 0 };
/** Before the registry: weights { queue: 5, kvCache: 0 }. */
const REWEIGHTED_FINGERPRINT = { hash: '3c6949a1', picks: 4000, none: 0 };

/**
 * Routes a fixed, seeded workload (6 replicas, half with max_concurrency, one with a long engine
 * queue, one whose scrapes go stale, tenants sharing prefixes, cold requests) and hashes the
 * sequence of choices: any change in filtering, scoring, summing order or tie-breaking changes it.
 */
function decisionsFingerprint(make: (random: () => number, now: () => number) => RoutingPolicy): { hash: string; picks: number; none: number } {
  let now = 5_000_000;
  const p = make(seeded(42), () => now);
  const rs: MutableReplica[] = replicas(6);
  for (const [i, r] of rs.entries()) if (i % 2 === 0) r.maxConcurrency = 10;
  const rng = seeded(7);
  const live: { r: MutableReplica; req: RoutingRequest; until: number }[] = [];
  let h = 2166136261;
  let picks = 0;
  let none = 0;
  for (let step = 0; step < 4_000; step++) {
    now += 5;
    if (step % 50 === 0) {
      for (const [i, r] of rs.entries()) {
        if (i === 5 && step % 400 < 200) continue; // one replica's scrapes go stale now and then
        r.scraped = { at: now, running: Math.min(r.inFlight, 6), waiting: Math.max(0, r.inFlight - 6 + (i === 3 ? 40 : 0)), kvUsage: Math.min(1, r.inFlight / 12) };
      }
    }
    for (let k = live.length - 1; k >= 0; k--) {
      if (live[k].until <= step) {
        const done = live.splice(k, 1)[0];
        done.r.inFlight--;
        done.r.inFlightTokens -= done.req.estimatedPromptTokens + done.req.expectedOutputTokens;
      }
    }
    const tenant = Math.floor(rng() * 12);
    const cold = rng() < 0.3;
    const shared = cold ? 0 : 8 + tenant * 2;
    const hashes: string[] = [];
    for (let b = 0; b < shared; b++) hashes.push(`t${tenant}-${b}`);
    const own = 2 + Math.floor(rng() * 10);
    for (let b = 0; b < own; b++) hashes.push(`s${step}-${b}`);
    const req = request({ prefixHashes: hashes, estimatedPromptTokens: hashes.length * 64, expectedOutputTokens: 50 + Math.floor(rng() * 400) });
    const chosen = p.pick(rs, req) as MutableReplica | undefined;
    if (chosen === undefined) {
      none++;
      h = Math.imul(h ^ 255, 16777619) >>> 0;
      continue;
    }
    picks++;
    chosen.inFlight++;
    chosen.inFlightTokens += req.estimatedPromptTokens + req.expectedOutputTokens;
    p.onRouted?.(chosen, req);
    live.push({ r: chosen, req, until: step + 5 + Math.floor(rng() * 60) });
    h = Math.imul(h ^ rs.indexOf(chosen), 16777619) >>> 0;
  }
  return { hash: h.toString(16), picks, none };
}

function routingOf(routing: object | undefined): RoutingConfig {
  const config = validateConfig({ models: [{ name: 'm', routing, deployments: [{ provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1' }] }] }, 'test', {});
  return config.models[0].routing;
}

function fromConfig(routing: RoutingConfig) {
  return (random: () => number, now: () => number) =>
    new SchedulerPolicy({ random, now, staleAfterMs: routing.stale_after_ms, scorers: routing.scheduler.scorers, filters: routing.scheduler.filters });
}

describe('scheduler defaults', () => {
  it('the default scorer list is the old default weights, in the old summing order', () => {
    assert.deepEqual(DEFAULT_SCORERS, [
      { name: 'prefix-cache', weight: 3 },
      { name: 'queue', weight: 2 },
      { name: 'kv-cache', weight: 1 },
      { name: 'in-flight-tokens', weight: 1 },
    ]);
    assert.deepEqual(routingOf(undefined).scheduler, { scorers: DEFAULT_SCORERS, filters: ['at-capacity', 'long-queue'] });
  });

  it('routes as before with no scheduler config, with the defaults written out, and with an empty scheduler_weights', () => {
    assert.deepEqual(decisionsFingerprint((random, now) => new SchedulerPolicy({ random, now })), DEFAULT_FINGERPRINT);
    assert.deepEqual(decisionsFingerprint(fromConfig(routingOf(undefined))), DEFAULT_FINGERPRINT);
    assert.deepEqual(decisionsFingerprint(fromConfig(routingOf({ scheduler: { scorers: DEFAULT_SCORERS, filters: ['at-capacity', 'long-queue'] } }))), DEFAULT_FINGERPRINT);
    assert.deepEqual(decisionsFingerprint(fromConfig(routingOf({ scheduler_weights: {} }))), DEFAULT_FINGERPRINT);
  });

  it('routes as before with reweighted scorers, through scheduler_weights or scheduler.scorers', () => {
    assert.deepEqual(decisionsFingerprint(fromConfig(routingOf({ scheduler_weights: { queue: 5, kv_cache: 0 } }))), REWEIGHTED_FINGERPRINT);
    const scorers = [
      { name: 'prefix-cache', weight: 3 },
      { name: 'queue', weight: 5 },
      { name: 'in-flight-tokens', weight: 1 },
    ];
    assert.deepEqual(decisionsFingerprint(fromConfig(routingOf({ scheduler: { scorers } }))), REWEIGHTED_FINGERPRINT);
  });
});
