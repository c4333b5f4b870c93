// Scheduler: routing as an inference scheduler does it (llm-d's filters and scorers). Filters drop
// candidates that cannot take the request well; weighted scorers rate the rest; the best total
// wins, ties at random.
//
// Filters: at max concurrency (dropped; if every candidate is, nothing fits and the caller queues);
// queue far longer than the shortest one (dropped unless that would leave nobody).
//
// Default weights: prefix-cache 3, queue 2, kv-cache 1, in-flight-tokens 1. A replica holding a long
// shared prefix (score near 1, worth up to 3) beats idle replicas until its load deficit in the
// other scorers together exceeds that, i.e. until it is clearly queueing. With no prefix match
// anywhere the prefix term is equal for everyone and the least-loaded replica wins.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import { InFlightTokensScorer } from '../scorers/in-flight-tokens.ts';
import { KvCacheScorer } from '../scorers/kv-cache.ts';
import { PrefixCacheScorer } from '../scorers/prefix-cache.ts';
import { QueueScorer } from '../scorers/queue.ts';
import type { Scorer, ScoringContext } from '../scorers/types.ts';
import { indexOfMax, type Random } from './select.ts';

export interface SchedulerWeights {
  prefixCache: number;
  queue: number;
  kvCache: number;
  inFlightTokens: number;
}

export const DEFAULT_SCHEDULER_WEIGHTS: Readonly<SchedulerWeights> = Object.freeze({ prefixCache: 3, queue: 2, kvCache: 1, inFlightTokens: 1 });

export interface SchedulerOptions {
  /** Scorer weights; a weight of 0 disables that scorer. Defaults: DEFAULT_SCHEDULER_WEIGHTS. */
  weights?: Partial<SchedulerWeights>;
  /** Scraped signals older than this (ms) are ignored. Default 2,000 (8 missed 250 ms scrapes). */
  staleAfterMs?: number;
  /** Candidates whose estimated queue exceeds the shortest by more than this are filtered out. Default 32. */
  maxQueueAboveMin?: number;
  /** Prefix-block hashes remembered in the routing history. Default 100,000. */
  prefixIndexCapacity?: number;
  /** The routing history indexes every n-th prefix block. Default 4. */
  prefixBlockStride?: number;
  /** Queue scorer scale (queued requests). Default 4. */
  queueScale?: number;
  /** In-flight-tokens scorer scale (tokens). Default 16,384. */
  tokenScale?: number;
  random?: Random;
  /** Clock for staleness, ms. Default Date.now. */
  now?: () => number;
}

export class SchedulerPolicy implements RoutingPolicy {
  readonly name = 'scheduler';
  readonly weights: Readonly<SchedulerWeights>;
  readonly prefixCache: PrefixCacheScorer;
  readonly queue: QueueScorer;
  private readonly scorers: { scorer: Scorer; weight: number }[];
  private readonly staleAfterMs: number;
  private readonly maxQueueAboveMin: number;
  private readonly random: Random;
  private readonly now: () => number;
  // Scratch buffers reused across picks (grown on demand), so a pick allocates nothing.
  private totals = new Float64Array(8);
  private scratch = new Float64Array(8);
  private eligible: boolean[] = [];

  constructor(options: SchedulerOptions = {}) {
    // A weight given as undefined (an unset config field) keeps its default rather than erasing it.
    const given = Object.fromEntries(Object.entries(options.weights ?? {}).filter(([, w]) => w !== undefined));
    this.weights = Object.freeze({ ...DEFAULT_SCHEDULER_WEIGHTS, ...given });
    this.staleAfterMs = options.staleAfterMs ?? 2_000;
    this.maxQueueAboveMin = options.maxQueueAboveMin ?? 32;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.prefixCache = new PrefixCacheScorer({ capacity: options.prefixIndexCapacity, blockStride: options.prefixBlockStride });
    this.queue = new QueueScorer({ scale: options.queueScale });
    this.scorers = [
      { scorer: this.prefixCache, weight: this.weights.prefixCache },
      { scorer: this.queue, weight: this.weights.queue },
      { scorer: new KvCacheScorer(), weight: this.weights.kvCache },
      { scorer: new InFlightTokensScorer({ scale: options.tokenScale }), weight: this.weights.inFlightTokens },
    ].filter((s) => s.weight > 0);
  }

  pick(candidates: readonly ReplicaView[], request: RoutingRequest): ReplicaView | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const ctx: ScoringContext = { now: this.now(), staleAfterMs: this.staleAfterMs };
    if (this.totals.length < n) {
      this.totals = new Float64Array(n * 2);
      this.scratch = new Float64Array(n * 2);
    }
    if (!this.filter(candidates, ctx)) return undefined;

    const totals = this.totals;
    for (let i = 0; i < n; i++) totals[i] = 0;
    for (const { scorer, weight } of this.scorers) {
      scorer.score(candidates, request, ctx, this.scratch);
      for (let i = 0; i < n; i++) totals[i] += weight * this.scratch[i];
    }
    const best = indexOfMax(totals, n, this.random, this.eligible);
    return best < 0 ? undefined : candidates[best];
  }

  onRouted(replica: ReplicaView, request: RoutingRequest): void {
    const ctx: ScoringContext = { now: this.now(), staleAfterMs: this.staleAfterMs };
    for (const { scorer } of this.scorers) scorer.onRouted?.(replica, request, ctx);
  }

  /** Fills `eligible`; false when no candidate can take the request. */
  private filter(candidates: readonly ReplicaView[], ctx: ScoringContext): boolean {
    const n = candidates.length;
    const eligible = this.eligible;
    eligible.length = n;
    let any = false;
    let minQueue = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const r = candidates[i];
      eligible[i] = r.maxConcurrency === undefined || r.inFlight < r.maxConcurrency;
      if (!eligible[i]) continue;
      any = true;
      this.scratch[i] = this.queue.depth(r, ctx);
      if (this.scratch[i] < minQueue) minQueue = this.scratch[i];
    }
    if (!any) return false;
    // Only ever drops candidates while the shortest queue stays, so someone always remains.
    for (let i = 0; i < n; i++) if (eligible[i] && this.scratch[i] > minQueue + this.maxQueueAboveMin) eligible[i] = false;
    return true;
  }
}
