// The scheduler's parts by name: the scorers and filters config may list
// (`routing.scheduler.scorers: [{name, weight}]`, `routing.scheduler.filters: [name]`), and the
// filters every model pool applies before any policy sees its candidates. Adding a scorer or a
// filter is a file in this folder and one line here (docs/architecture.md).

import type { Deployment } from '../deployment.ts';
import { atCapacityFilter } from './at-capacity-filter.ts';
import { batchShareFilter } from './batch-share-filter.ts';
import { excludedFilter } from './excluded-filter.ts';
import { availableFilter, healthyFilter } from './health-filter.ts';
import { InFlightTokensScorer } from './in-flight-tokens.ts';
import { KvCacheScorer } from './kv-cache.ts';
import { LongQueueFilter } from './long-queue-filter.ts';
import { PrefixCacheScorer } from './prefix-cache.ts';
import type { QueueEstimate } from './queue-estimate.ts';
import { QueueScorer } from './queue.ts';
import type { Filter, PoolPickContext, Scorer } from './types.ts';

/** What a scheduler hands the factories: its settings, and the state its parts share. */
export interface SchedulerParts {
  /** Read by the queue scorer and the long-queue filter; fed by the queue scorer. */
  readonly queue: QueueEstimate;
  readonly prefixIndexCapacity?: number;
  readonly prefixBlockStride?: number;
  readonly queueScale?: number;
  readonly tokenScale?: number;
  readonly maxQueueAboveMin?: number;
}

export const SCORERS = {
  'prefix-cache': (p: SchedulerParts) => new PrefixCacheScorer({ capacity: p.prefixIndexCapacity, blockStride: p.prefixBlockStride }),
  queue: (p: SchedulerParts) => new QueueScorer({ scale: p.queueScale, estimate: p.queue }),
  'kv-cache': () => new KvCacheScorer(),
  'in-flight-tokens': (p: SchedulerParts) => new InFlightTokensScorer({ scale: p.tokenScale }),
} satisfies Record<string, (parts: SchedulerParts) => Scorer>;

export const SCHEDULER_FILTERS = {
  'at-capacity': () => atCapacityFilter,
  'long-queue': (p: SchedulerParts) => new LongQueueFilter(p.queue, { maxAboveMin: p.maxQueueAboveMin }),
} satisfies Record<string, (parts: SchedulerParts) => Filter>;

/** What model-pool.ts removes, in its order: excluded and batch-share, then a health tier, then at-capacity. */
export const POOL_FILTERS = {
  excluded: excludedFilter,
  'batch-share': batchShareFilter,
  available: availableFilter,
  healthy: healthyFilter,
  'at-capacity': atCapacityFilter,
} satisfies Record<string, Filter<Deployment, PoolPickContext>>;

export type ScorerName = keyof typeof SCORERS;
export type SchedulerFilterName = keyof typeof SCHEDULER_FILTERS;
export const SCORER_NAMES = Object.keys(SCORERS) as [ScorerName, ...ScorerName[]];
export const SCHEDULER_FILTER_NAMES = Object.keys(SCHEDULER_FILTERS) as [SchedulerFilterName, ...SchedulerFilterName[]];

export interface WeightedScorer {
  readonly name: ScorerName;
  /** Multiplies the scorer's 0..1 score; 0 turns it off. */
  readonly weight: number;
}

/**
 * A replica holding a long shared prefix (score near 1, worth up to 3) beats idle replicas until
 * its load deficit in the other scorers together exceeds that, i.e. until it is clearly queueing.
 * With no prefix match anywhere the prefix term is equal for everyone and the least-loaded wins.
 * Summed in this order.
 */
export const DEFAULT_SCORERS: readonly WeightedScorer[] = Object.freeze([
  Object.freeze({ name: 'prefix-cache', weight: 3 }),
  Object.freeze({ name: 'queue', weight: 2 }),
  Object.freeze({ name: 'kv-cache', weight: 1 }),
  Object.freeze({ name: 'in-flight-tokens', weight: 1 }),
]);

export const DEFAULT_SCHEDULER_FILTERS: readonly SchedulerFilterName[] = Object.freeze(['at-capacity', 'long-queue']);

/** The deprecated `routing.scheduler_weights` keys, each the scorer name spelled with underscores. */
export type LegacySchedulerWeights = Partial<Record<'prefix_cache' | 'queue' | 'kv_cache' | 'in_flight_tokens', number>>;

/** The scorer list `scheduler_weights` means: the default list, with each weight given replacing its default. */
export function scorersFromLegacyWeights(weights: LegacySchedulerWeights): WeightedScorer[] {
  return DEFAULT_SCORERS.map((s) => ({ name: s.name, weight: weights[s.name.replaceAll('-', '_') as keyof LegacySchedulerWeights] ?? s.weight }));
}

export type { Filter, PoolPickContext, Scorer, ScoringContext } from './types.ts';
export { QueueEstimate } from './queue-estimate.ts';
