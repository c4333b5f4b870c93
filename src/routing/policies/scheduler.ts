// Scheduler: routing as an inference scheduler does it (llm-d's filters and scorers). Filters drop
// candidates that cannot take the request well; weighted scorers rate the rest, each score clamped
// to [0, 1]; the best total wins, ties at random. The parts are named in ../scorers/index.ts and
// chosen by config (`routing.scheduler`); the defaults are DEFAULT_SCORERS and
// DEFAULT_SCHEDULER_FILTERS there.

import type { ReplicaView, RoutingPolicy, RoutingRequest } from '../types.ts';
import {
  DEFAULT_SCHEDULER_FILTERS,
  DEFAULT_SCORERS,
  QueueEstimate,
  SCHEDULER_FILTERS,
  SCORERS,
  type Filter,
  type SchedulerFilterName,
  type Scorer,
  type ScoringContext,
  type WeightedScorer,
} from '../scorers/index.ts';
import { clampScore } from '../scorers/types.ts';
import { indexOfMax, type Random } from './select.ts';

export interface SchedulerOptions {
  /** Scorers and their weights, summed in this order; a weight of 0 leaves one out. Default: DEFAULT_SCORERS. */
  scorers?: readonly WeightedScorer[];
  /** Filters, applied in this order. Default: DEFAULT_SCHEDULER_FILTERS. */
  filters?: readonly SchedulerFilterName[];
  /** Scraped signals older than this (ms) are ignored. Default 2,000 (8 missed 250 ms scrapes). */
  staleAfterMs?: number;
  /** long-queue filter: candidates whose estimated queue exceeds the shortest by more than this are dropped. Default 32. */
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
  /** The scorers configured, with their weights (0 included), in summing order. */
  readonly scorers: readonly WeightedScorer[];
  readonly filterNames: readonly SchedulerFilterName[];
  /** The queue estimate the queue scorer and the long-queue filter share. */
  readonly queue = new QueueEstimate();
  private readonly active: { scorer: Scorer; weight: number }[];
  private readonly filters: Filter[];
  private readonly staleAfterMs: number;
  private readonly random: Random;
  private readonly now: () => number;
  // Scratch buffers reused across picks (grown on demand), so a pick allocates nothing.
  private totals = new Float64Array(8);
  private scratch = new Float64Array(8);
  private eligible: boolean[] = [];

  constructor(options: SchedulerOptions = {}) {
    this.scorers = Object.freeze((options.scorers ?? DEFAULT_SCORERS).map((s) => Object.freeze({ name: s.name, weight: s.weight })));
    this.filterNames = Object.freeze([...(options.filters ?? DEFAULT_SCHEDULER_FILTERS)]);
    this.staleAfterMs = options.staleAfterMs ?? 2_000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    const parts = { ...options, queue: this.queue };
    this.active = this.scorers.filter((s) => s.weight > 0).map((s) => ({ scorer: SCORERS[s.name](parts), weight: s.weight }));
    this.filters = this.filterNames.map((name) => SCHEDULER_FILTERS[name](parts));
  }

  pick(candidates: readonly ReplicaView[], request: RoutingRequest): ReplicaView | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const ctx: ScoringContext = { now: this.now(), staleAfterMs: this.staleAfterMs };
    if (this.totals.length < n) {
      this.totals = new Float64Array(n * 2);
      this.scratch = new Float64Array(n * 2);
    }
    const eligible = this.eligible;
    eligible.length = n;
    eligible.fill(true);
    for (const f of this.filters) f.filter(candidates, request, ctx, eligible);
    if (!eligible.includes(true)) return undefined;

    const totals = this.totals;
    const scratch = this.scratch;
    for (let i = 0; i < n; i++) totals[i] = 0;
    for (const { scorer, weight } of this.active) {
      scorer.score(candidates, request, ctx, scratch);
      for (let i = 0; i < n; i++) totals[i] += weight * clampScore(scratch[i]);
    }
    const best = indexOfMax(totals, n, this.random, eligible);
    return best < 0 ? undefined : candidates[best];
  }

  onRouted(replica: ReplicaView, request: RoutingRequest): void {
    const ctx: ScoringContext = { now: this.now(), staleAfterMs: this.staleAfterMs };
    for (const { scorer } of this.active) scorer.onRouted?.(replica, request, ctx);
  }
}
