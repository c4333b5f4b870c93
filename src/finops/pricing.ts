// Token prices and the cost of one request's usage.
//
// Cached-input and cache-write tokens are SUBSETS of prompt_tokens (see api/canonical.ts): each
// prompt token is billed exactly once, at the rate of the bucket it falls in. Gateways that add
// cache tokens on top of the prompt, or bill cached tokens at the full input rate, misreport
// prompt-cached traffic by up to 10x.

import type { Usage } from '../api/canonical.ts';
import type { ModelPriceConfig } from './config.ts';
import { BUILT_IN_PRICES } from './prices.ts';

/** USD per 1M tokens. */
export interface ModelPrice {
  input: number;
  /** Prompt tokens served from the provider's prompt cache; defaults to `input`. */
  cachedInput?: number;
  /** Prompt tokens written to the prompt cache (Anthropic); defaults to `input`. */
  cacheWrite?: number;
  output: number;
}

/** Dated snapshots (-2024-08-06, -20241022, -0125) and moving aliases (-latest). */
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$/;

export const ZERO_PRICE: ModelPrice = Object.freeze({ input: 0, output: 0 });

/** The usage split into disjoint billing buckets (clamped so malformed counts never bill twice). */
export function billableTokens(usage: Usage): { uncached: number; cached: number; cacheWrite: number; output: number } {
  const prompt = Math.max(0, usage.prompt_tokens);
  const cached = Math.min(Math.max(0, usage.cached_tokens ?? 0), prompt);
  const cacheWrite = Math.min(Math.max(0, usage.cache_creation_tokens ?? 0), prompt - cached);
  return { uncached: prompt - cached - cacheWrite, cached, cacheWrite, output: Math.max(0, usage.completion_tokens) };
}

export function costOf(usage: Usage, price: ModelPrice): number {
  const t = billableTokens(usage);
  const micro =
    t.uncached * price.input +
    t.cached * (price.cachedInput ?? price.input) +
    t.cacheWrite * (price.cacheWrite ?? price.input) +
    t.output * price.output;
  return micro / 1_000_000;
}

/** The most a request can cost: every prompt token at the dearest input bucket, and max output. */
export function maxCostOf(promptTokens: number, maxOutputTokens: number, price: ModelPrice): number {
  const inputRate = Math.max(price.input, price.cachedInput ?? price.input, price.cacheWrite ?? price.input);
  return (Math.max(0, promptTokens) * inputRate + Math.max(0, maxOutputTokens) * price.output) / 1_000_000;
}

export function isFree(price: ModelPrice): boolean {
  return price.input === 0 && price.output === 0 && (price.cachedInput ?? 0) === 0 && (price.cacheWrite ?? 0) === 0;
}

export function fromConfig(p: ModelPriceConfig): ModelPrice {
  return { input: p.input_per_1m, cachedInput: p.cached_input_per_1m, cacheWrite: p.cache_write_per_1m, output: p.output_per_1m };
}

/** Built-in prices with config overrides on top; finds dated snapshots and provider-prefixed names. */
export class PriceBook {
  private readonly prices = new Map<string, ModelPrice>();
  private readonly overridden = new Set<string>();

  constructor(overrides: Readonly<Record<string, ModelPriceConfig>> = {}, builtIn: Readonly<Record<string, ModelPrice>> = BUILT_IN_PRICES) {
    for (const [name, price] of Object.entries(builtIn)) this.prices.set(name.toLowerCase(), price);
    for (const [name, price] of Object.entries(overrides)) {
      this.prices.set(name.toLowerCase(), fromConfig(price));
      this.overridden.add(name.toLowerCase());
    }
  }

  /** True when config names this model exactly (an override beats any built-in match). */
  hasOverride(model: string): boolean {
    return this.overridden.has(model.toLowerCase());
  }

  /**
   * Exact name first, then without a `provider/` prefix, then without a snapshot suffix (a date
   * or `-latest`). Only such suffixes are stripped: `o3-pro` must never be priced as `o3`.
   */
  lookup(model: string): ModelPrice | undefined {
    const name = model.toLowerCase();
    const bare = name.includes('/') ? name.slice(name.lastIndexOf('/') + 1) : name;
    return this.prices.get(name) ?? this.prices.get(bare) ?? this.prices.get(bare.replace(SNAPSHOT_SUFFIX, ''));
  }

  entries(): [string, ModelPrice][] {
    return [...this.prices.entries()];
  }
}
