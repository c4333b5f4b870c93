// Builds the run-time model pools from validated config, each deployment from its kind's
// definition in the provider registry. Launched kinds (the simulator) must already have been
// launched and replaced by the upstream deployments of their replicas.

import type { ModelConfig, RoutingConfig } from '../config/schema.ts';
import { isHosted, resolveUpstream } from '../providers/registry.ts';
import { Deployment } from './deployment.ts';
import { deploymentId } from './deployment-id.ts';
import { ModelPool } from './model-pool.ts';
import { createPolicy, withStickiness, type PolicyName } from './policies/index.ts';
import type { LowestPriorityShare } from './lowest-priority-share.ts';
import type { RoutingPolicy } from './types.ts';

/** `scheduler` for pools of self-hosted engines; `weighted` when hosted APIs are involved. */
export function defaultPolicyName(model: ModelConfig): PolicyName {
  return model.deployments.every((d) => !isHosted(d.provider)) ? 'scheduler' : 'weighted';
}

function policyFor(name: PolicyName, routing: RoutingConfig): RoutingPolicy {
  let policy: RoutingPolicy;
  if (name === 'scheduler') {
    policy = createPolicy('scheduler', { staleAfterMs: routing.stale_after_ms, scorers: routing.scheduler.scorers, filters: routing.scheduler.filters });
  } else if (name === 'prefix-affinity') {
    policy = createPolicy('prefix-affinity', { epsilon: routing.load_bound_epsilon });
  } else {
    policy = createPolicy(name);
  }
  return routing.sticky_sessions ? withStickiness(policy) : policy;
}

export class ModelRegistry {
  readonly pools = new Map<string, ModelPool>();
  /** Scrape interval per deployment, for the metrics scraper. */
  readonly scrapeIntervals = new Map<Deployment, number>();

  get(name: string): ModelPool | undefined {
    return this.pools.get(name);
  }

  allDeployments(): Deployment[] {
    return [...this.pools.values()].flatMap((p) => p.deployments);
  }

  async close(): Promise<void> {
    await Promise.all(this.allDeployments().map((d) => d.close()));
  }
}

export interface ModelRegistryOptions {
  /** The batch share every pool reads when picking for the lowest priority (default: none, no spreading). */
  lowestPriorityShare?: LowestPriorityShare;
}

export function createModelRegistry(models: ModelConfig[], options: ModelRegistryOptions = {}): ModelRegistry {
  const registry = new ModelRegistry();
  for (const model of models) {
    const deployments = model.deployments.map((raw, i) => {
      const upstream = resolveUpstream(raw);
      if (!upstream) throw new Error(`models "${model.name}": ${raw.provider} deployments must be launched before building the registry`);
      const { config } = upstream;
      const deployment = new Deployment({
        id: deploymentId(model.name, i, raw.id),
        modelName: model.name,
        adapter: upstream.adapter,
        target: { baseUrl: config.url, upstreamModel: config.model ?? model.name, apiKey: config.api_key, headers: raw.headers },
        weight: raw.weight,
        healthUrl: upstream.probes.health,
        metricsUrl: upstream.probes.metrics,
        maxConcurrency: raw.max_concurrency,
        timeouts: model.timeouts,
        circuitBreaker: model.circuit_breaker,
      });
      registry.scrapeIntervals.set(deployment, model.routing.scrape_interval_ms);
      return deployment;
    });
    const policyName = model.routing.policy ?? defaultPolicyName(model);
    registry.pools.set(
      model.name,
      new ModelPool({
        name: model.name,
        deployments,
        policy: policyFor(policyName, model.routing),
        maxRetries: model.max_retries,
        retry: model.retry,
        admission: model.admission,
        fallbacks: model.fallbacks,
        needsPrefixHashes: policyName === 'scheduler' || policyName === 'prefix-affinity',
        sessionHeader: model.routing.session_header.toLowerCase(),
        outlierDetection: model.outlier_detection,
        lowestPriorityShare: options.lowestPriorityShare,
      }),
    );
  }
  return registry;
}
