// The engine in virtual time (ManualClock): exact, deterministic and fast.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/sim/engine/clock.ts';
import { Engine } from '../../src/sim/engine/engine.ts';
import type { EngineRequestResult } from '../../src/sim/engine/request.ts';
import { predictedItlMs, stepDurationMs } from '../../src/sim/engine/step-time.ts';
import { resolveProfile, type ProfileOverrides } from '../../src/sim/profiles.ts';

let nextToken = 1;
/** `n` prompt tokens no other prompt shares. */
function uniquePrompt(n: number): number[] {
  return Array.from({ length: n }, () => nextToken++);
}

function setup(profile = 'h100-llama-3.1-8b', overrides: ProfileOverrides = {}) {
  const clock = new ManualClock();
  const engine = new Engine(resolveProfile(profile, overrides), clock);
  const submit = (prompt: number[], outputs: number, onFinish?: (r: EngineRequestResult) => void, onToken?: (i: number) => void) =>
    engine.submit({ id: 'r', promptTokenIds: prompt, outputTokenIds: new Array(outputs).fill(5), finishReason: 'length', onFinish, onToken });
  return { clock, engine, submit, profile: engine.profile };
}

const ttft = (r: EngineRequestResult) => r.firstTokenMs - r.arrivalMs;
const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;

describe('engine', () => {
  it('prefill time is proportional to uncached prompt tokens: a shared prefix cuts TTFT', () => {
    const { clock, submit, profile } = setup();
    const prefix = uniquePrompt(4000);
    let first!: EngineRequestResult;
    let second!: EngineRequestResult;
    submit(prefix, 4, (r) => (first = r));
    clock.run();
    submit([...prefix, ...uniquePrompt(100)], 4, (r) => (second = r));
    clock.run();
    assert.equal(first.cachedTokens, 0);
    assert.ok(close(ttft(first), stepDurationMs(profile, { prefillTokens: 4000, decodeSeqs: 0, decodeContextTokens: 0 })));
    assert.equal(second.cachedTokens, 4000, 'all 250 full blocks of the prefix');
    assert.ok(close(ttft(second), stepDurationMs(profile, { prefillTokens: 100, decodeSeqs: 0, decodeContextTokens: 0 })));
    assert.ok(ttft(second) < ttft(first) / 10, `${ttft(second)} vs ${ttft(first)}`);
  });

  it('an identical prompt still computes its last token', () => {
    const { clock, submit } = setup();
    const prompt = uniquePrompt(320); // exactly 20 blocks
    submit(prompt, 2);
    clock.run();
    let again!: EngineRequestResult;
    submit(prompt, 2, (r) => (again = r));
    clock.run();
    assert.equal(again.cachedTokens, 304, '19 blocks: the block holding the last token is recomputed');
  });

  it('a finished request stays cached until other work evicts it (LRU)', () => {
    const { clock, engine, submit } = setup('tiny');
    const a = uniquePrompt(320);
    submit(a, 1);
    clock.run();
    let hit!: EngineRequestResult;
    submit(a, 1, (r) => (hit = r));
    clock.run();
    assert.equal(hit.cachedTokens, 304);
    // Three other prompts of 20 blocks each need 60 of the 64 blocks: most of a's are evicted.
    for (let i = 0; i < 3; i++) {
      submit(uniquePrompt(320), 1);
      clock.run();
    }
    let miss!: EngineRequestResult;
    submit(a, 1, (r) => (miss = r));
    clock.run();
    assert.ok(miss.cachedTokens < hit.cachedTokens, `after eviction ${miss.cachedTokens} cached`);
    assert.ok(engine.kv.evictions > 0);
  });

  it('decode step time grows with the batch: ITL follows the profile', () => {
    const { clock, submit, profile } = setup();
    const gaps: number[] = [];
    let last = -1;
    for (let i = 0; i < 10; i++) {
      submit(uniquePrompt(100), 20, undefined, () => {
        if (i !== 0) return;
        if (last >= 0) gaps.push(clock.now() - last);
        last = clock.now();
      });
    }
    clock.run();
    // All 10 decode together; before decode step k each holds 100 + k + 1 tokens of context.
    assert.equal(gaps.length, 19);
    for (const [k, gap] of gaps.entries()) assert.ok(close(gap, predictedItlMs(profile, 10, 100 + k + 1)), `gap ${k}: ${gap}`);
    // The calibration target: ITL ≈ 4.4 ms + 0.047 ms x running sequences at ~300 tokens of context.
    for (const seqs of [1, 50, 100, 200]) {
      const fit = 4.4 + 0.047 * seqs;
      assert.ok(Math.abs(predictedItlMs(profile, seqs, 300) - fit) / fit < 0.02, `c=${seqs}`);
    }
  });

  it('chunked prefill keeps each step within max_num_batched_tokens', () => {
    const { clock, engine, submit, profile } = setup('h100-llama-3.1-8b', { maxNumBatchedTokens: 2048 });
    let r!: EngineRequestResult;
    submit(uniquePrompt(8000), 1, (x) => (r = x));
    clock.run();
    assert.equal(engine.counters.steps, 4, '2048 + 2048 + 2048 + 1856');
    assert.ok(close(ttft(r), 4 * profile.stepBaseMs + 8000 * profile.prefillPerTokenMs));
  });

  it('a full KV cache makes requests wait, and their TTFT grows', () => {
    const { clock, engine, submit } = setup('tiny');
    const results: EngineRequestResult[] = [];
    let maxWaiting = 0;
    let maxUsage = 0;
    for (let i = 0; i < 6; i++) submit(uniquePrompt(400), 100, (r) => results.push(r));
    clock.run({
      until: () => {
        maxWaiting = Math.max(maxWaiting, engine.numWaiting);
        maxUsage = Math.max(maxUsage, engine.kv.usage);
        return false;
      },
    });
    assert.equal(results.length, 6);
    // Two 500-token sequences fill the 1,024-token cache; the rest wait for blocks.
    assert.ok(maxWaiting >= 3, `max waiting ${maxWaiting}`);
    assert.ok(maxUsage > 0.9, `max usage ${maxUsage}`);
    const ttfts = results.map(ttft).sort((a, b) => a - b);
    assert.ok(ttfts[5] > ttfts[0] + 2 * 100 * 4.4, `TTFTs ${ttfts.map((t) => t.toFixed(0)).join(', ')}`);
    assert.ok(results.every((r) => r.reason === 'length' && r.outputTokens === 100));
    assert.equal(engine.kv.numFree, engine.kv.numBlocks, 'every block released');
  });

  it('preempts when running sequences outgrow the cache, and still finishes everything', () => {
    const { clock, engine, submit } = setup('tiny');
    const results: EngineRequestResult[] = [];
    for (let i = 0; i < 3; i++) submit(uniquePrompt(200), 400, (r) => results.push(r));
    clock.run();
    assert.ok(engine.counters.preemptions > 0);
    assert.equal(results.length, 3);
    assert.ok(results.every((r) => r.outputTokens === 400));
    assert.equal(engine.kv.numFree, engine.kv.numBlocks);
  });

  it('respects max_num_seqs', () => {
    const { clock, engine, submit } = setup('tiny', { numGpuBlocks: 4096, maxNumSeqs: 4 });
    for (let i = 0; i < 10; i++) submit(uniquePrompt(20), 10);
    let maxRunning = 0;
    clock.run({ until: () => ((maxRunning = Math.max(maxRunning, engine.numRunning)), false) });
    assert.equal(maxRunning, 4);
  });

  it('abort frees the request and its blocks; an idle engine schedules nothing', () => {
    const { clock, engine, submit } = setup();
    let result!: EngineRequestResult;
    const req = submit(uniquePrompt(1000), 1000, (r) => (result = r));
    clock.run({ maxEvents: 20 });
    assert.equal(engine.numRunning, 1);
    assert.ok(engine.kv.usage > 0);
    engine.abort(req);
    assert.equal(result.reason, 'abort');
    assert.equal(engine.numRunning, 0);
    assert.equal(engine.kv.usage, 0);
    assert.equal(engine.counters.finished.abort, 1);
    clock.run();
    assert.equal(clock.step(), false, 'no step scheduled while idle');
  });

  it('a throwing callback aborts only its own request; the loop keeps running', (t) => {
    t.mock.method(process.stderr, 'write', () => true); // the failure is reported on stderr
    const { clock, engine, submit } = setup();
    let bad!: EngineRequestResult;
    let good!: EngineRequestResult;
    submit(uniquePrompt(10), 50, (r) => (bad = r), (i) => {
      if (i === 3) throw new Error('boom');
    });
    submit(uniquePrompt(10), 50, (r) => (good = r));
    clock.run();
    assert.equal(bad.reason, 'abort');
    assert.equal(good.reason, 'length');
    assert.equal(good.outputTokens, 50);
    assert.equal(engine.kv.usage, 0);
  });

  it('prefill-only requests (embeddings) finish when their prompt is computed', () => {
    const { clock, engine } = setup();
    let r!: EngineRequestResult;
    engine.submit({ id: 'e', promptTokenIds: uniquePrompt(50), outputTokenIds: [], finishReason: 'stop', onFinish: (x) => (r = x) });
    clock.run();
    assert.equal(r.reason, 'stop');
    assert.equal(r.outputTokens, 0);
    assert.equal(engine.counters.promptTokens, 50);
  });

  it('rejects requests that can never fit', () => {
    const { engine } = setup('tiny');
    assert.throws(() => engine.submit({ id: 'x', promptTokenIds: uniquePrompt(1000), outputTokenIds: new Array(100).fill(1), finishReason: 'length' }), /max_model_len/);
  });
});

describe('engine throughput vs concurrency (virtual time)', () => {
  const PROMPT = 128;
  const OUTPUT = 256;

  /** Closed loop: `c` clients, each sending its next request as soon as the last one finishes. */
  function measure(c: number): number {
    const { clock, engine } = setup();
    let sent = 0;
    const total = 3 * c;
    const send = () => {
      sent++;
      engine.submit({ id: 'x', promptTokenIds: uniquePrompt(PROMPT), outputTokenIds: new Array(OUTPUT).fill(5), finishReason: 'length', onFinish: () => sent < total && send() });
    };
    for (let i = 0; i < c; i++) send();
    clock.run();
    return (engine.counters.generationTokens / clock.now()) * 1000;
  }

  /** What the profile predicts: OUTPUT decode steps per round, plus every request's prefill. */
  function expected(c: number): number {
    const profile = resolveProfile();
    const seqs = Math.min(c, profile.maxNumSeqs);
    const decodeMs = OUTPUT * predictedItlMs(profile, seqs, PROMPT + OUTPUT / 2);
    const prefillMs = seqs * PROMPT * profile.prefillPerTokenMs;
    return (seqs * OUTPUT * 1000) / (decodeMs + prefillMs);
  }

  it('rises with concurrency, then saturates at max_num_seqs, as the profile predicts', () => {
    const measured = new Map([1, 32, 256, 512].map((c) => [c, measure(c)]));
    for (const [c, tps] of measured) {
      const want = expected(c);
      assert.ok(Math.abs(tps - want) / want < 0.05, `c=${c}: ${tps.toFixed(0)} tok/s, profile predicts ${want.toFixed(0)}`);
    }
    assert.ok(measured.get(32)! > 15 * measured.get(1)!);
    assert.ok(measured.get(256)! > 2 * measured.get(32)!);
    assert.ok(Math.abs(measured.get(512)! - measured.get(256)!) / measured.get(256)! < 0.03, 'saturated');
    // The calibration sources: ~215 tok/s at c=1 and a ~13k tok/s plateau (NVIDIA NIM, H100).
    assert.ok(Math.abs(measured.get(1)! - 215) / 215 < 0.1);
    assert.ok(Math.abs(measured.get(256)! - 13_000) / 13_000 < 0.15);
  });
});
