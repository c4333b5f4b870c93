import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightTokensScorer } from '../../../src/routing/scorers/in-flight-tokens.ts';
import { KvCacheScorer } from '../../../src/routing/scorers/kv-cache.ts';
import { PrefixCacheScorer } from '../../../src/routing/scorers/prefix-cache.ts';
import { QueueScorer } from '../../../src/routing/scorers/queue.ts';
import { freshSignals, scoreRelativeToMin, type Scorer, type ScoringContext } from '../../../src/routing/scorers/types.ts';
import type { RoutingRequest } from '../../../src/routing/types.ts';
import { replica, request, type MutableReplica } from '../helpers.ts';

const ctx: ScoringContext = { now: 10_000, staleAfterMs: 2_000 };

function scores(s: Scorer, rs: MutableReplica[], req: RoutingRequest = request()): number[] {
  const out = new Float64Array(rs.length);
  s.score(rs, req, ctx, out);
  return [...out].map((v) => Math.round(v * 1_000) / 1_000);
}

describe('scoreRelativeToMin', () => {
  it('gives the least loaded 1 and falls smoothly with excess load', () => {
    const out = new Float64Array(4);
    scoreRelativeToMin(Float64Array.from([0, 4, 12, 0]), 4, 4, out);
    assert.deepEqual([...out], [1, 0.5, 0.25, 1]);
    scoreRelativeToMin(Float64Array.from([3, 3]), 2, 4, out);
    assert.deepEqual([...out].slice(0, 2), [1, 1]);
  });
});

describe('freshSignals', () => {
  it('returns scraped signals only while recent', () => {
    assert.equal(freshSignals(replica('a'), ctx), undefined);
    assert.equal(freshSignals(replica('a', { scraped: { at: 7_000 } }), ctx), undefined);
    assert.deepEqual(freshSignals(replica('a', { scraped: { at: 8_000, waiting: 1 } }), ctx), { at: 8_000, waiting: 1 });
  });
});

describe('prefix-cache scorer', () => {
  it('scores the fraction of the request blocks a replica was recently sent', () => {
    const s = new PrefixCacheScorer({ blockStride: 1 });
    const rs = [replica('a'), replica('b'), replica('c')];
    s.onRouted(rs[0], request({ prefixHashes: ['1', '2', '3', '4'] }));
    s.onRouted(rs[1], request({ prefixHashes: ['1', 'x'] }));
    assert.deepEqual(scores(s, rs, request({ prefixHashes: ['1', '2', '3', '4', '5', '6', '7', '8'] })), [0.5, 0.125, 0]);
    assert.deepEqual(scores(s, rs, request()), [0, 0, 0]);
  });
});

describe('queue scorer', () => {
  it('uses scraped waiting plus requests routed since that scrape', () => {
    const s = new QueueScorer({ scale: 4 });
    const rs = [replica('a', { scraped: { at: 9_000, waiting: 0 } }), replica('b', { scraped: { at: 9_000, waiting: 4 } })];
    assert.deepEqual(scores(s, rs), [1, 0.5]);
    for (let i = 0; i < 4; i++) s.onRouted(rs[0]);
    assert.equal(s.depth(rs[0], ctx), 4);
    assert.deepEqual(scores(s, rs), [1, 1]);
    rs[0].scraped = { at: 9_500, waiting: 1 }; // newer scrape: credit starts over
    assert.equal(s.depth(rs[0], ctx), 1);
    s.onRouted(rs[0]);
    assert.equal(s.depth(rs[0], ctx), 2);
  });

  it('uses the gateway in-flight count without a fresh waiting value', () => {
    const s = new QueueScorer();
    assert.equal(s.depth(replica('a', { inFlight: 3 }), ctx), 3);
    assert.equal(s.depth(replica('a', { inFlight: 3, scraped: { at: 1, waiting: 0 } }), ctx), 3);
    assert.equal(s.depth(replica('a', { inFlight: 3, scraped: { at: 9_999, running: 2 } }), ctx), 3);
  });

  it('grows its scratch buffer for many candidates', () => {
    const s = new QueueScorer();
    const rs = Array.from({ length: 40 }, (_, i) => replica(`r${i}`, { inFlight: i }));
    const out = scores(s, rs);
    assert.equal(out[0], 1);
    assert.ok(out[39] < out[1]);
  });
});

describe('kv-cache scorer', () => {
  it('scores 1 - usage, giving replicas without a fresh reading the mean of the others', () => {
    const s = new KvCacheScorer();
    const rs = [
      replica('a', { scraped: { at: 9_000, kvUsage: 0.2 } }),
      replica('b', { scraped: { at: 9_000, kvUsage: 0.6 } }),
      replica('c'),
      replica('d', { scraped: { at: 1, kvUsage: 0 } }),
    ];
    assert.deepEqual(scores(s, rs), [0.8, 0.4, 0.6, 0.6]);
    assert.deepEqual(scores(s, [replica('x'), replica('y')]), [1, 1]);
    assert.deepEqual(scores(s, [replica('x', { scraped: { at: 9_000, kvUsage: 1.7 } })]), [0]);
  });
});

describe('in-flight-tokens scorer', () => {
  it('scores outstanding tokens relative to the least loaded', () => {
    const s = new InFlightTokensScorer({ scale: 1_000 });
    assert.deepEqual(scores(s, [replica('a'), replica('b', { inFlightTokens: 1_000 }), replica('c', { inFlightTokens: 3_000 })]), [1, 0.5, 0.25]);
    assert.equal(new InFlightTokensScorer().scale, 16_384);
  });
});
