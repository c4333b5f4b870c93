// "Self-host vs API": what a self-hosted model's traffic over a window really cost in GPU time,
// per 1M tokens, against what the same tokens (same prompt/cached/completion mix) would have cost
// on a hosted reference model's list price.
//
// The GPU cost is the full window (gpu_hourly_usd x gpus x hours), idle time included: that is
// what the hardware costs whether or not it is busy. This is the honest number to compare; the
// per-request attribution in the ledger uses a floor and so can leave idle time unallocated.

import type { DeploymentCostSpec } from './deployments.ts';
import { costOf, type ModelPrice } from './pricing.ts';
import type { UsageLedger } from './ports.ts';

const HOUR_MS = 3_600_000;
/** Input:output token mix assumed for break-even when the window saw no traffic. */
const ASSUMED_INPUT_SHARE = 0.75;

export interface SelfHostVsApiInput {
  ledger: UsageLedger;
  deployments: readonly DeploymentCostSpec[];
  model: string;
  referenceModel: string;
  referencePrice: ModelPrice;
  windowMs: number;
  now: number;
}

export interface SelfHostVsApiReport {
  model: string;
  reference_model: string;
  window: { from: string; to: string; hours: number };
  deployments: { id: string; gpus: number; gpu_hourly_usd: number; gpu_cost_usd: number; requests: number; tokens: number; tokens_per_hour: number }[];
  self_hosted: {
    requests: number;
    prompt_tokens: number;
    cached_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    gpu_cost_usd: number;
    /** null when the window saw no tokens (every dollar was idle time). */
    usd_per_1m_tokens: number | null;
  };
  reference: {
    price: { input_per_1m: number; cached_input_per_1m: number; output_per_1m: number };
    cost_of_same_tokens_usd: number;
    usd_per_1m_tokens: number | null;
  };
  /** Positive when self-hosting was cheaper over the window. */
  savings_usd: number;
  cheaper: 'self_hosted' | 'api' | 'equal';
  /** Tokens per hour the GPUs must process for their $/1M to match the reference (at this traffic mix). */
  break_even_tokens_per_hour: number | null;
}

export async function selfHostVsApi(input: SelfHostVsApiInput): Promise<SelfHostVsApiReport> {
  const { ledger, model, referencePrice: ref, windowMs, now } = input;
  const hours = windowMs / HOUR_MS;
  const gpuDeployments = input.deployments.filter((d) => d.model === model && d.gpuHourlyUsd !== undefined);
  const usage = new Map((await ledger.deploymentUsage(now - windowMs, now, model)).map((r) => [r.group, r]));

  const rows = gpuDeployments.map((d) => {
    const u = usage.get(d.id);
    const tokens = u ? u.promptTokens + u.completionTokens : 0;
    return { id: d.id, gpus: d.gpus, gpu_hourly_usd: d.gpuHourlyUsd!, gpu_cost_usd: d.gpuHourlyUsd! * d.gpus * hours, requests: u?.requests ?? 0, tokens, tokens_per_hour: tokens / hours };
  });
  const used = gpuDeployments.map((d) => usage.get(d.id)).filter((u) => u !== undefined);
  const prompt = used.reduce((s, u) => s + u.promptTokens, 0);
  const cached = used.reduce((s, u) => s + u.cachedTokens, 0);
  const cacheWrite = used.reduce((s, u) => s + u.cacheCreationTokens, 0);
  const completion = used.reduce((s, u) => s + u.completionTokens, 0);
  const requests = used.reduce((s, u) => s + u.requests, 0);
  const total = prompt + completion;
  const gpuCost = rows.reduce((s, r) => s + r.gpu_cost_usd, 0);
  const gpuHourly = rows.reduce((s, r) => s + r.gpu_hourly_usd * r.gpus, 0);

  const refCost = costOf({ prompt_tokens: prompt, cached_tokens: cached, cache_creation_tokens: cacheWrite, completion_tokens: completion }, ref);
  // Reference $/token at this traffic mix (or an assumed 3:1 mix when there was none).
  const refPerToken = total > 0 ? refCost / total : (ASSUMED_INPUT_SHARE * ref.input + (1 - ASSUMED_INPUT_SHARE) * ref.output) / 1_000_000;
  const savings = refCost - gpuCost;
  return {
    model,
    reference_model: input.referenceModel,
    window: { from: new Date(now - windowMs).toISOString(), to: new Date(now).toISOString(), hours: round(hours, 4) },
    deployments: rows.map((r) => ({ ...r, gpu_cost_usd: round(r.gpu_cost_usd, 6), tokens_per_hour: round(r.tokens_per_hour, 1) })),
    self_hosted: {
      requests,
      prompt_tokens: prompt,
      cached_tokens: cached,
      completion_tokens: completion,
      total_tokens: total,
      gpu_cost_usd: round(gpuCost, 6),
      usd_per_1m_tokens: total > 0 ? round((gpuCost / total) * 1_000_000, 6) : null,
    },
    reference: {
      price: { input_per_1m: ref.input, cached_input_per_1m: ref.cachedInput ?? ref.input, output_per_1m: ref.output },
      cost_of_same_tokens_usd: round(refCost, 6),
      usd_per_1m_tokens: total > 0 ? round(refPerToken * 1_000_000, 6) : null,
    },
    savings_usd: round(savings, 6),
    cheaper: Math.abs(savings) < 1e-9 ? 'equal' : savings > 0 ? 'self_hosted' : 'api',
    break_even_tokens_per_hour: refPerToken > 0 ? Math.ceil(gpuHourly / refPerToken) : null,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
