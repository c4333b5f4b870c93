// Which price applies to a request, and what it cost. Synchronous and map-based: it runs when a
// request ends and when a budget reservation is made, so it never touches the database.
//
// Resolution, first match wins:
//   1. the deployment has gpu_hourly_usd: self-hosted rate x (prompt + completion tokens);
//   2. config price for the Switchyard model name (finops.prices);
//   3. price for the deployment's upstream model name (config, then built-in);
//   4. price for the Switchyard model name in the built-in book;
//   5. nothing: cost 0 (reported by unpricedHostedModels() at start-up, because an unpriced
//      hosted model silently escapes every budget).

import type { Usage } from '../api/canonical.ts';
import type { DeploymentCostSpec } from './deployments.ts';
import { costOf, maxCostOf, type ModelPrice, type PriceBook } from './pricing.ts';
import type { SelfHostedRates } from './self-hosted.ts';

export class CostModel {
  private readonly deployments = new Map<string, DeploymentCostSpec>();
  private readonly byModel = new Map<string, DeploymentCostSpec[]>();

  /** `fallbacks`: the models a request may fall back to when its own cannot serve (models[].fallbacks). */
  constructor(
    private readonly prices: PriceBook,
    private readonly rates: SelfHostedRates,
    deployments: readonly DeploymentCostSpec[],
    private readonly fallbacks: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {
    for (const d of deployments) {
      this.deployments.set(d.id, d);
      const list = this.byModel.get(d.model) ?? [];
      list.push(d);
      this.byModel.set(d.model, list);
    }
  }

  /** The token price for a model served by a hosted (non-GPU-priced) deployment, if known. */
  priceFor(model: string, deploymentId?: string | null): ModelPrice | undefined {
    if (this.prices.hasOverride(model)) return this.prices.lookup(model);
    const d = deploymentId ? this.deployments.get(deploymentId) : undefined;
    return (d && this.prices.lookup(d.upstreamModel)) ?? this.prices.lookup(model);
  }

  costOf(model: string, deploymentId: string | null | undefined, usage: Usage): number {
    if (deploymentId && this.rates.isGpuPriced(deploymentId)) {
      return (Math.max(0, usage.prompt_tokens) + Math.max(0, usage.completion_tokens)) * this.rates.perToken(deploymentId);
    }
    const price = this.priceFor(model, deploymentId);
    return price ? costOf(usage, price) : 0;
  }

  /**
   * The most a request can cost on whichever deployment serves it: one of its model's, or of a
   * fallback model's (the request is then billed at the fallback's price).
   */
  maxCostOf(model: string, promptTokens: number, maxOutputTokens: number): number {
    let max = this.modelMaxCost(model, promptTokens, maxOutputTokens);
    for (const fallback of this.fallbacks.get(model) ?? []) max = Math.max(max, this.modelMaxCost(fallback, promptTokens, maxOutputTokens));
    return max;
  }

  private modelMaxCost(model: string, promptTokens: number, maxOutputTokens: number): number {
    const deployments = this.byModel.get(model);
    if (!deployments || deployments.length === 0) {
      const price = this.priceFor(model);
      return price ? maxCostOf(promptTokens, maxOutputTokens, price) : 0;
    }
    let max = 0;
    for (const d of deployments) {
      let cost: number;
      if (this.rates.isGpuPriced(d.id)) cost = (promptTokens + maxOutputTokens) * this.rates.maxPerToken(d.id);
      else {
        const price = this.priceFor(model, d.id);
        cost = price ? maxCostOf(promptTokens, maxOutputTokens, price) : 0;
      }
      if (cost > max) max = cost;
    }
    return max;
  }

  /** Hosted-provider models with no price: their requests would cost 0 and escape budgets. */
  unpricedHostedModels(): string[] {
    const out = new Set<string>();
    for (const d of this.deployments.values()) {
      if (d.hosted && !this.priceFor(d.model, d.id)) out.add(d.model);
    }
    return [...out];
  }
}
