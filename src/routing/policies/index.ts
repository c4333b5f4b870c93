// The routing policies by name, as chosen per model in config.

import type { RoutingPolicy } from '../types.ts';
import { LatencyPolicy, type LatencyOptions } from './latency.ts';
import { LeastRequestsPolicy, type LeastRequestsOptions } from './least-requests.ts';
import { LeastTokensPolicy, type LeastTokensOptions } from './least-tokens.ts';
import { PrefixAffinityPolicy, type PrefixAffinityOptions } from './prefix-affinity.ts';
import { RoundRobinPolicy } from './round-robin.ts';
import { SchedulerPolicy, type SchedulerOptions } from './scheduler.ts';
import { WeightedPolicy } from './weighted.ts';

export const POLICY_NAMES = ['round-robin', 'weighted', 'least-requests', 'least-tokens', 'latency', 'prefix-affinity', 'scheduler'] as const;

export type PolicyName = (typeof POLICY_NAMES)[number];

export interface PolicyOptionsByName {
  'round-robin': Record<string, never>;
  weighted: Record<string, never>;
  'least-requests': LeastRequestsOptions;
  'least-tokens': LeastTokensOptions;
  latency: LatencyOptions;
  'prefix-affinity': PrefixAffinityOptions;
  scheduler: SchedulerOptions;
}

export function createPolicy<N extends PolicyName>(name: N, options?: PolicyOptionsByName[N]): RoutingPolicy;
export function createPolicy(name: PolicyName, options: object = {}): RoutingPolicy {
  switch (name) {
    case 'round-robin':
      return new RoundRobinPolicy();
    case 'weighted':
      return new WeightedPolicy();
    case 'least-requests':
      return new LeastRequestsPolicy(options);
    case 'least-tokens':
      return new LeastTokensPolicy(options);
    case 'latency':
      return new LatencyPolicy(options);
    case 'prefix-affinity':
      return new PrefixAffinityPolicy(options);
    case 'scheduler':
      return new SchedulerPolicy(options);
    default:
      throw new Error(`unknown routing policy "${String(name)}"; expected one of ${POLICY_NAMES.join(', ')}`);
  }
}

export { withStickiness, type StickinessOptions } from './sticky.ts';
export { RoundRobinPolicy, WeightedPolicy, LeastRequestsPolicy, LeastTokensPolicy, LatencyPolicy, PrefixAffinityPolicy, SchedulerPolicy };
export type { LatencyOptions, LeastRequestsOptions, LeastTokensOptions, PrefixAffinityOptions, SchedulerOptions };
