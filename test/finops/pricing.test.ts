// Cost math: cached and cache-write tokens are subsets of prompt_tokens, billed once each.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { billableTokens, costOf, maxCostOf, PriceBook } from '../../src/finops/pricing.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

describe('costOf', () => {
  const gpt4o = { input: 2.5, cachedInput: 1.25, output: 10 };
  const sonnet = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 };

  it('bills uncached prompt, output and nothing else', () => {
    close(costOf({ prompt_tokens: 1_000_000, completion_tokens: 1_000_000 }, gpt4o), 12.5);
    close(costOf({ prompt_tokens: 0, completion_tokens: 0 }, gpt4o), 0);
  });

  it('bills cached tokens at the cached rate as part of the prompt, never on top of it', () => {
    // 1000 prompt tokens, 800 of them from the cache: 200 x 2.5 + 800 x 1.25 (+ 100 x 10 output).
    close(costOf({ prompt_tokens: 1000, cached_tokens: 800, completion_tokens: 100 }, gpt4o), (200 * 2.5 + 800 * 1.25 + 100 * 10) / 1e6);
    // Fully cached prompt costs half the uncached one, not 1.5x.
    const full = costOf({ prompt_tokens: 1000, completion_tokens: 0 }, gpt4o);
    const cached = costOf({ prompt_tokens: 1000, cached_tokens: 1000, completion_tokens: 0 }, gpt4o);
    close(cached, full / 2);
  });

  it('bills cache writes at the write rate and cache reads at the read rate (Anthropic)', () => {
    // Anthropic reported input 100, cache read 5000, cache write 2000 -> canonical prompt 7100.
    const usage = { prompt_tokens: 7100, cached_tokens: 5000, cache_creation_tokens: 2000, completion_tokens: 300 };
    close(costOf(usage, sonnet), (100 * 3 + 5000 * 0.3 + 2000 * 3.75 + 300 * 15) / 1e6);
    assert.deepEqual(billableTokens(usage), { uncached: 100, cached: 5000, cacheWrite: 2000, output: 300 });
  });

  it('missing cached and write rates fall back to the input rate', () => {
    close(costOf({ prompt_tokens: 1000, cached_tokens: 600, cache_creation_tokens: 400, completion_tokens: 0 }, { input: 1, output: 2 }), 1000 / 1e6);
  });

  it('clamps malformed counts so no token is billed twice', () => {
    assert.deepEqual(billableTokens({ prompt_tokens: 100, cached_tokens: 150, cache_creation_tokens: 50, completion_tokens: -3 }), { uncached: 0, cached: 100, cacheWrite: 0, output: 0 });
    assert.deepEqual(billableTokens({ prompt_tokens: 100, cached_tokens: 70, cache_creation_tokens: 50, completion_tokens: 1 }), { uncached: 0, cached: 70, cacheWrite: 30, output: 1 });
  });

  it('maxCostOf assumes every prompt token at the dearest input rate and full output', () => {
    close(maxCostOf(1000, 500, sonnet), (1000 * 3.75 + 500 * 15) / 1e6);
    close(maxCostOf(1000, 500, gpt4o), (1000 * 2.5 + 500 * 10) / 1e6);
    for (let cached = 0; cached <= 1000; cached += 250) {
      assert.ok(costOf({ prompt_tokens: 1000, cached_tokens: cached, cache_creation_tokens: 1000 - cached, completion_tokens: 500 }, sonnet) <= maxCostOf(1000, 500, sonnet));
    }
  });
});

describe('PriceBook', () => {
  const book = new PriceBook({ 'my-llama': { input_per_1m: 0.2, output_per_1m: 0.4 }, 'gpt-4o': { input_per_1m: 2, output_per_1m: 8 } });

  it('finds dated snapshots, -latest aliases and provider prefixes', () => {
    assert.equal(book.lookup('gpt-4o-mini-2024-07-18')?.input, 0.15);
    assert.equal(book.lookup('claude-3-5-sonnet-20241022')?.output, 15);
    assert.equal(book.lookup('claude-3-5-sonnet-latest')?.output, 15);
    assert.equal(book.lookup('claude-sonnet-4-5-20250929')?.cacheWrite, 3.75);
    assert.equal(book.lookup('claude-opus-4-1-20250805')?.input, 15);
    assert.equal(book.lookup('openai/gpt-4.1-mini')?.input, 0.4);
    assert.equal(book.lookup('gpt-3.5-turbo-0125')?.output, 1.5);
    assert.equal(book.lookup('GPT-4.1-NANO')?.input, 0.1);
  });

  it('never prices a different model by a shared prefix', () => {
    assert.equal(book.lookup('o3-pro'), undefined);
    assert.equal(book.lookup('gpt-4o-realtime-preview'), undefined);
    assert.equal(book.lookup('llama-3.1-8b'), undefined);
  });

  it('config overrides beat built-in prices and add new models', () => {
    assert.equal(book.lookup('gpt-4o')?.input, 2);
    assert.equal(book.lookup('gpt-4o-2024-11-20')?.input, 2, 'snapshots follow the override');
    assert.equal(book.lookup('gpt-4o-2024-05-13')?.input, 5, 'an exact built-in snapshot entry still wins');
    assert.deepEqual(book.lookup('my-llama'), { input: 0.2, cachedInput: undefined, cacheWrite: undefined, output: 0.4 });
    assert.equal(book.hasOverride('MY-LLAMA'), true);
  });
});
