import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readEngineMetrics, signalsFromMetrics, SignalTracker } from '../../src/routing/engine-signals.ts';
import { SGLANG_TEXT, VLLM_TEXT, vllmText } from './metrics-fixtures.ts';

describe('signalsFromMetrics', () => {
  it('reads vLLM gauges; the counter-based hit rate needs a second scrape', () => {
    assert.deepEqual(signalsFromMetrics(VLLM_TEXT, 1_000), { at: 1_000, running: 7, waiting: 2, kvUsage: 0.4375 });
  });

  it('reads SGLang gauges including its own hit rate', () => {
    assert.deepEqual(signalsFromMetrics(SGLANG_TEXT, 5), { at: 5, running: 12, waiting: 3, kvUsage: 0.62, prefixHitRate: 0.8125 });
  });

  it('falls back to the pre-rename vLLM names', () => {
    const s = signalsFromMetrics(vllmText({ running: 1, waiting: 0, kv: 0.3, hits: 0, queries: 0, legacy: true }), 0);
    assert.equal(s.kvUsage, 0.3);
    assert.deepEqual(readEngineMetrics(vllmText({ running: 1, waiting: 0, kv: 0.3, hits: 5, queries: 9, legacy: true })).prefixHits, 5);
  });

  it('prefers the current name when an engine exposes both (the simulator does)', () => {
    const text = 'vllm:kv_cache_usage_perc{model_name="m"} 0.5\nvllm:gpu_cache_usage_perc{model_name="m"} 0.5\n';
    assert.equal(signalsFromMetrics(text, 0).kvUsage, 0.5);
  });

  it('sums counts and averages fractions over several engines / model_name series', () => {
    const s = signalsFromMetrics(vllmText({ running: 8, waiting: 4, kv: 0.25, hits: 0, queries: 0, engines: 2 }), 0);
    assert.equal(s.running, 8);
    assert.equal(s.waiting, 4);
    assert.equal(s.kvUsage, 0.25);
  });

  it('leaves missing metrics undefined and never throws on junk', () => {
    assert.deepEqual(signalsFromMetrics('', 7), { at: 7 });
    assert.deepEqual(signalsFromMetrics('<html>502 Bad Gateway</html>\n{{{', 7), { at: 7 });
    assert.deepEqual(signalsFromMetrics('vllm:num_requests_waiting{model_name="m"} 3\n', 7), { at: 7, waiting: 3 });
  });
});

describe('SignalTracker', () => {
  it('computes the prefix-cache hit rate over the window between two scrapes', () => {
    const t = new SignalTracker();
    const first = t.update('a', vllmText({ running: 1, waiting: 0, kv: 0.1, hits: 6_000, queries: 10_000 }), 0);
    assert.equal(first.prefixHitRate, undefined);
    // Window: 900 more hits out of 1,000 more queried tokens, not 6,900 / 11,000 since start.
    const second = t.update('a', vllmText({ running: 1, waiting: 0, kv: 0.1, hits: 6_900, queries: 11_000 }), 250);
    assert.equal(second.prefixHitRate, 0.9);
    assert.equal(second.at, 250);
  });

  it('keeps replicas apart', () => {
    const t = new SignalTracker();
    t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 0, queries: 0 }), 0);
    t.update('b', vllmText({ running: 0, waiting: 0, kv: 0, hits: 100, queries: 100 }), 0);
    assert.equal(t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 50, queries: 200 }), 1).prefixHitRate, 0.25);
    assert.equal(t.update('b', vllmText({ running: 0, waiting: 0, kv: 0, hits: 100, queries: 200 }), 1).prefixHitRate, 0);
  });

  it('reports no rate for an idle window and treats counters going down as a restart', () => {
    const t = new SignalTracker();
    t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 500, queries: 1_000 }), 0);
    assert.equal(t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 500, queries: 1_000 }), 1).prefixHitRate, undefined);
    assert.equal(t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 30, queries: 40 }), 2).prefixHitRate, 0.75);
  });

  it('uses the engine-reported rate when there is one, and forgets on request', () => {
    const t = new SignalTracker();
    assert.equal(t.update('s', SGLANG_TEXT, 0).prefixHitRate, 0.8125);
    t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 0, queries: 0 }), 0);
    t.forget('a');
    assert.equal(t.update('a', vllmText({ running: 0, waiting: 0, kv: 0, hits: 10, queries: 10 }), 1).prefixHitRate, undefined);
  });
});
