// Load signals from an inference engine's Prometheus /metrics, for vLLM and SGLang metric names.
// Engines differ by version (vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc and
// gpu_prefix_cache_* to prefix_cache_*), so each signal has a list of names tried in order, and a
// missing metric leaves its field undefined instead of failing the scrape.
//
// Counts (running, waiting, counters) are summed over label sets, e.g. several data-parallel
// engines or model_name series behind one endpoint. Fractions (KV usage, a reported hit rate) are
// averaged instead, as a sum of fractions would exceed 1.

import type { ScrapedSignals } from './types.ts';
import { meanOf, parsePrometheusText, sumOf, type PromSamples } from './prom-text.ts';

const RUNNING = ['vllm:num_requests_running', 'sglang:num_running_reqs'];
const WAITING = ['vllm:num_requests_waiting', 'sglang:num_queue_reqs'];
const KV_USAGE = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'sglang:token_usage'];
/** Engines that report a hit rate themselves (SGLang; vLLM V0's gauge). */
const HIT_RATE_GAUGE = ['sglang:cache_hit_rate', 'vllm:gpu_prefix_cache_hit_rate'];
/** Counter pairs (hits, queries) whose increase over a scrape window gives the hit rate. */
const HIT_COUNTERS: readonly (readonly [string, string])[] = [
  ['vllm:prefix_cache_hits_total', 'vllm:prefix_cache_queries_total'],
  ['vllm:gpu_prefix_cache_hits_total', 'vllm:gpu_prefix_cache_queries_total'],
  ['sglang:cached_tokens_total', 'sglang:prompt_tokens_total'],
];

const WANTED: ReadonlySet<string> = new Set([...RUNNING, ...WAITING, ...KV_USAGE, ...HIT_RATE_GAUGE, ...HIT_COUNTERS.flat()]);

/** What one scrape says, before any window arithmetic. */
export interface EngineReading {
  running?: number;
  waiting?: number;
  kvUsage?: number;
  /** Hit rate the engine reports itself, 0-1. */
  reportedHitRate?: number;
  /** Cumulative prefix-cache hits and queries (tokens), from the first counter pair present. */
  prefixHits?: number;
  prefixQueries?: number;
}

function first(samples: PromSamples, names: readonly string[], read: typeof sumOf): number | undefined {
  for (const name of names) {
    const v = read(samples, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

function clamp01(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.min(1, Math.max(0, v));
}

export function readEngineMetrics(text: string): EngineReading {
  const samples = parsePrometheusText(text, WANTED);
  const reading: EngineReading = {
    running: first(samples, RUNNING, sumOf),
    waiting: first(samples, WAITING, sumOf),
    kvUsage: clamp01(first(samples, KV_USAGE, meanOf)),
    reportedHitRate: clamp01(first(samples, HIT_RATE_GAUGE, meanOf)),
  };
  for (const [hitsName, queriesName] of HIT_COUNTERS) {
    const hits = sumOf(samples, hitsName);
    const queries = sumOf(samples, queriesName);
    if (hits !== undefined && queries !== undefined) {
      reading.prefixHits = hits;
      reading.prefixQueries = queries;
      break;
    }
  }
  return reading;
}

function toSignals(r: EngineReading, now: number, hitRate: number | undefined): ScrapedSignals {
  const s: ScrapedSignals = { at: now };
  if (r.running !== undefined) s.running = r.running;
  if (r.waiting !== undefined) s.waiting = r.waiting;
  if (r.kvUsage !== undefined) s.kvUsage = r.kvUsage;
  if (hitRate !== undefined) s.prefixHitRate = hitRate;
  return s;
}

/**
 * Signals from one scrape alone. The prefix hit rate is only known when the engine reports it as
 * a gauge; vLLM's counters need two scrapes, which is what SignalTracker is for.
 */
export function signalsFromMetrics(text: string, now: number): ScrapedSignals {
  const r = readEngineMetrics(text);
  return toSignals(r, now, r.reportedHitRate);
}

/**
 * Keeps the previous counter values of each replica so that the prefix-cache hit rate is the rate
 * over the last scrape window (hits increase / queries increase), not since engine start.
 */
export class SignalTracker {
  private readonly previous = new Map<string, { hits: number; queries: number }>();

  update(replicaId: string, text: string, now: number): ScrapedSignals {
    const r = readEngineMetrics(text);
    let hitRate = r.reportedHitRate;
    if (hitRate === undefined && r.prefixHits !== undefined && r.prefixQueries !== undefined) {
      const prev = this.previous.get(replicaId);
      if (prev) {
        // A counter that went down means the engine restarted: count from zero, as Prometheus' rate() does.
        const restarted = r.prefixQueries < prev.queries || r.prefixHits < prev.hits;
        const dq = restarted ? r.prefixQueries : r.prefixQueries - prev.queries;
        const dh = restarted ? r.prefixHits : r.prefixHits - prev.hits;
        // No queries in the window: no evidence either way, so no rate.
        if (dq > 0) hitRate = clamp01(dh / dq);
      }
      this.previous.set(replicaId, { hits: r.prefixHits, queries: r.prefixQueries });
    }
    return toSignals(r, now, hitRate);
  }

  /** Drops a replica's history (removed from config, or its next scrape should start a new window). */
  forget(replicaId: string): void {
    this.previous.delete(replicaId);
  }
}
