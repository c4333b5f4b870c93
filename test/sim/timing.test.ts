// Timing that clients can see over HTTP: prefix-cache hits, queueing behind a full KV cache, and
// requests cancelled by disconnecting clients.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { chat, metricValue, MODEL, post, sleep, stream, uniqueText, waitFor } from './helpers.ts';

describe('simulator timing over HTTP', () => {
  let sim: RunningSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('a second request sharing a long prefix gets a much shorter TTFT', async () => {
    sim = await startSimulator({ timeScale: 1 });
    const system = uniqueText(5000); // ~170 ms of prefill on the H100 profile
    const ask = (q: string) =>
      stream(`${sim!.url}/v1/chat/completions`, {
        model: MODEL,
        messages: [{ role: 'system', content: system }, { role: 'user', content: q }],
        max_tokens: 2,
        stream: true,
        stream_options: { include_usage: true },
      });
    const cold = await ask('first question');
    const warm = await ask('second question');
    assert.equal(cold.events.at(-1)!.usage.prompt_tokens_details.cached_tokens, 0);
    assert.ok(warm.events.at(-1)!.usage.prompt_tokens_details.cached_tokens >= 4992);
    assert.ok(cold.firstEventMs > 150, `cold TTFT ${cold.firstEventMs.toFixed(1)} ms`);
    assert.ok(warm.firstEventMs < cold.firstEventMs / 3, `warm ${warm.firstEventMs.toFixed(1)} ms vs cold ${cold.firstEventMs.toFixed(1)} ms`);
    assert.ok((await metricValue(sim.url, 'vllm:prefix_cache_hits_total')) >= 4992);
  });

  it('a full KV cache (tiny profile) makes requests wait, visible on /metrics, and their TTFT grows', async () => {
    sim = await startSimulator({ profile: 'tiny', timeScale: 0.25 });
    const url = sim.url;
    let maxWaiting = 0;
    let maxUsage = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        maxWaiting = Math.max(maxWaiting, await metricValue(url, 'vllm:num_requests_waiting'));
        maxUsage = Math.max(maxUsage, await metricValue(url, 'vllm:kv_cache_usage_perc'));
        await sleep(5);
      }
    })();
    // Each request grows to 500 tokens: two of them fill the 1,024-token cache.
    const results = await Promise.all(
      Array.from({ length: 6 }, () => stream(`${url}/v1/chat/completions`, chat(uniqueText(390), { max_tokens: 100, ignore_eos: true, stream: true }))),
    );
    polling = false;
    await poller;
    assert.ok(results.every((r) => r.done));
    assert.ok(maxWaiting > 0, 'num_requests_waiting was never above 0');
    assert.ok(maxUsage > 0.9, `kv_cache_usage_perc peaked at ${maxUsage}`);
    const ttfts = results.map((r) => r.firstEventMs).sort((a, b) => a - b);
    // The last ones waited for at least one earlier request's 100 decode steps (~450 ms model, ~110 ms wall).
    assert.ok(ttfts[5] > ttfts[0] + 80, `TTFTs ${ttfts.map((t) => t.toFixed(0)).join(', ')} ms`);
    assert.ok((await metricValue(url, 'vllm:request_queue_time_seconds_sum')) > 0.3);
  });

  it('a client disconnect aborts the request and frees its KV blocks (streamed and not)', async () => {
    sim = await startSimulator({ timeScale: 1 });
    const engine = sim.engine;
    for (const streaming of [true, false]) {
      const controller = new AbortController();
      const pending = fetch(`${sim.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chat(uniqueText(300), { max_tokens: 4000, ignore_eos: true, stream: streaming })),
        signal: controller.signal,
      });
      if (streaming) {
        const res = await pending;
        await res.body!.getReader().read();
      } else {
        pending.catch(() => undefined);
      }
      assert.ok(await waitFor(() => engine.numRunning === 1 && engine.kv.usage > 0), 'running');
      assert.equal(await metricValue(sim.url, 'vllm:num_requests_running'), 1);
      controller.abort();
      assert.ok(await waitFor(() => engine.numRunning === 0), 'stopped after the disconnect');
      assert.equal(engine.kv.usage, 0, 'blocks released');
    }
    assert.equal(engine.counters.finished.abort, 2);
    assert.equal(await metricValue(sim.url, 'vllm:num_requests_running'), 0);
  });

  it('zero-latency mode still computes everything, and fast', async () => {
    sim = await startSimulator({ timeScale: 0 });
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 32 }, () => post(`${sim!.url}/v1/chat/completions`, chat(uniqueText(200), { max_tokens: 200, ignore_eos: true }))));
    const wall = performance.now() - started;
    assert.ok(results.every((r) => r.status === 200 && r.json.usage.completion_tokens === 200));
    const modelMs = sim.engine.now();
    assert.ok(modelMs > 200 * 4.4, `model time ${modelMs} ms`);
    assert.ok(wall < modelMs, `wall ${wall.toFixed(0)} ms < model ${modelMs.toFixed(0)} ms`);
    assert.equal(sim.engine.counters.generationTokens, 32 * 200);
  });

  it('timeScale slows or speeds model time against the wall clock', async () => {
    sim = await startSimulator({ timeScale: 0.1 });
    const started = performance.now();
    const r = await post(`${sim.url}/v1/chat/completions`, chat(uniqueText(50), { max_tokens: 100, ignore_eos: true }));
    const wall = performance.now() - started;
    assert.equal(r.status, 200);
    // 100 steps of ~4.45 ms model time = ~445 ms; at 0.1 that is ~45 ms of wall time.
    assert.ok(wall > 35 && wall < 400, `wall ${wall.toFixed(0)} ms`);
  });
});
