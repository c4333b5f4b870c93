// Self-hosted cost: $/token from GPU hours over measured throughput (with a floor), per-request
// cost through the cost model, and the self-host vs API report.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CostModel } from '../../src/finops/cost-model.ts';
import { deploymentCostsFromModels } from '../../src/finops/deployments.ts';
import { PriceBook } from '../../src/finops/pricing.ts';
import { selfHostVsApi } from '../../src/finops/self-host-report.ts';
import { SelfHostedRates } from '../../src/finops/self-hosted.ts';
import { finopsStores, type FinopsStores } from '../../src/store/finops/index.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { sqliteStore, usageRecord } from './support.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

const MODELS = [
  { name: 'llama', deployments: [{ provider: 'openai-compatible', id: 'llama-a', gpu_hourly_usd: 2, gpus: 2 }, { provider: 'simulator', replicas: 2, gpu_hourly_usd: 1 }] },
  { name: 'mini', deployments: [{ provider: 'openai', model: 'gpt-4o-mini-2024-07-18' }] },
  { name: 'mystery', deployments: [{ provider: 'anthropic', model: 'claude-9' }] },
  { name: 'free-local', deployments: [{ provider: 'openai-compatible' }] },
];

let store: OpenedStore;
let stores: FinopsStores;
before(async () => {
  store = await sqliteStore();
  stores = finopsStores(store.sql);
  // Last hour: llama-a did 3M prompt + 1M completion tokens; llama#1-sim0 only 1,000 tokens.
  await stores.ledger.insertBatch([
    usageRecord({ time: NOW - 30 * 60_000, model: 'llama', deployment: 'llama-a', promptTokens: 3_000_000, cachedTokens: 1_000_000, completionTokens: 1_000_000 }),
    usageRecord({ time: NOW - 10 * 60_000, model: 'llama', deployment: 'llama#1-sim0', promptTokens: 800, completionTokens: 200 }),
    usageRecord({ time: NOW - 2 * HOUR, model: 'llama', deployment: 'llama-a', promptTokens: 9_000_000, completionTokens: 0 }), // outside 1 h
  ]);
});
after(async () => {
  await store.close();
});

describe('self-hosted cost', () => {
  it('expands deployments the way the gateway names them', () => {
    const specs = deploymentCostsFromModels(MODELS);
    assert.deepEqual(specs.map((d) => [d.id, d.model, d.provider, d.upstreamModel, d.gpuHourlyUsd, d.gpus]), [
      ['llama-a', 'llama', 'openai-compatible', 'llama', 2, 2],
      ['llama#1-sim0', 'llama', 'openai-compatible', 'llama', 1, 1],
      ['llama#1-sim1', 'llama', 'openai-compatible', 'llama', 1, 1],
      ['mini#0', 'mini', 'openai', 'gpt-4o-mini-2024-07-18', undefined, 1],
      ['mystery#0', 'mystery', 'anthropic', 'claude-9', undefined, 1],
      ['free-local#0', 'free-local', 'openai-compatible', 'free-local', undefined, 1],
    ]);
  });

  it('charges GPU hours over measured tokens, with a floor for idle deployments', async () => {
    const rates = new SelfHostedRates(stores.ledger, deploymentCostsFromModels(MODELS), { windowMs: HOUR, floorTokensPerGpuHour: 100_000, now: () => NOW });
    // Before any measurement: the floor rate, the highest possible ($1/h over 100k tokens).
    close(rates.perToken('llama#1-sim0'), 1 / 100_000);
    await rates.refresh();
    // llama-a: $2 x 2 GPUs x 1 h = $4 over 4M tokens = $1 per 1M tokens.
    close(rates.perToken('llama-a') * 1e6, 1);
    // llama#1-sim0: 1,000 tokens is below the 100k floor: $1 over 100k tokens.
    close(rates.perToken('llama#1-sim0'), 1 / 100_000);
    assert.deepEqual(rates.current().map((r) => [r.id, r.floored]), [['llama-a', false], ['llama#1-sim0', true], ['llama#1-sim1', true]]);
    assert.equal(rates.perToken('mini#0'), 0);
  });

  it('prices each request by its deployment: GPU rate, price book, or nothing', async () => {
    const specs = deploymentCostsFromModels(MODELS);
    const rates = new SelfHostedRates(stores.ledger, specs, { windowMs: HOUR, floorTokensPerGpuHour: 100_000, now: () => NOW });
    await rates.refresh();
    const costs = new CostModel(new PriceBook(), rates, specs);
    close(costs.costOf('llama', 'llama-a', { prompt_tokens: 600_000, completion_tokens: 400_000 }), 1);
    close(costs.costOf('mini', 'mini#0', { prompt_tokens: 1_000_000, cached_tokens: 1_000_000, completion_tokens: 0 }), 0.075);
    assert.equal(costs.costOf('free-local', 'free-local#0', { prompt_tokens: 10_000, completion_tokens: 10_000 }), 0);
    assert.deepEqual(costs.unpricedHostedModels(), ['mystery']);
    // Max cost for a reservation: the dearest deployment at its floor rate.
    close(costs.maxCostOf('llama', 1000, 1000), 2000 * (2 / 100_000));
    close(costs.maxCostOf('mini', 1000, 1000), (1000 * 0.15 + 1000 * 0.6) / 1e6);
    assert.equal(costs.maxCostOf('free-local', 1000, 1000), 0);
  });

  it('compares a self-hosted model with a reference API price over a window', async () => {
    const report = await selfHostVsApi({
      ledger: stores.ledger,
      deployments: deploymentCostsFromModels(MODELS),
      model: 'llama',
      referenceModel: 'gpt-4o-mini',
      referencePrice: new PriceBook().lookup('gpt-4o-mini')!,
      windowMs: HOUR,
      now: NOW,
    });
    // GPU cost over 1 h: llama-a $4, two sim replicas $1 each = $6, idle time included.
    assert.equal(report.self_hosted.gpu_cost_usd, 6);
    assert.equal(report.self_hosted.total_tokens, 4_001_000);
    close(report.self_hosted.usd_per_1m_tokens!, Math.round((6 / 4_001_000) * 1e6 * 1e6) / 1e6);
    // Same tokens on gpt-4o-mini: 2,000,800 uncached x 0.15 + 1M cached x 0.075 + 1,000,200 out x 0.6.
    const api = (2_000_800 * 0.15 + 1_000_000 * 0.075 + 1_000_200 * 0.6) / 1e6;
    close(report.reference.cost_of_same_tokens_usd, Math.round(api * 1e6) / 1e6);
    assert.equal(report.cheaper, 'api');
    close(report.savings_usd, Math.round((api - 6) * 1e6) / 1e6, 1e-6);
    // Break-even: $6/h of GPUs at the reference's blended $/token for this mix.
    assert.equal(report.break_even_tokens_per_hour, Math.ceil(6 / (api / 4_001_000)));
    assert.deepEqual(report.deployments.map((d) => [d.id, d.requests, d.tokens]), [['llama-a', 1, 4_000_000], ['llama#1-sim0', 1, 1000], ['llama#1-sim1', 0, 0]]);
    assert.equal(report.window.hours, 1);
  });
});
