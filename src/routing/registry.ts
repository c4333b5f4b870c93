// Builds the run-time model pools from validated config. Simulator deployments must already have
// been launched and replaced by openai-compatible deployments pointing at them.

import type { DeploymentConfig, ModelConfig, RoutingConfig } from '../config/schema.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { openAICompatibleAdapter } from '../providers/openai-compatible/index.ts';
import { ENGINE_QUIRKS } from '../providers/openai-compatible/quirks.ts';
import { openAIProvider } from '../providers/openai/index.ts';
import { anthropicProvider } from '../providers/anthropic/index.ts';
import { Deployment } from './deployment.ts';
import { deploymentId } from './deployment-id.ts';
import { ModelPool } from './model-pool.ts';
import { createPolicy, withStickiness, type PolicyName } from './policies/index.ts';
import type { LowestPriorityShare } from './lowest-priority-share.ts';
import type { RoutingPolicy } from './types.ts';

type ConcreteDeployment = Exclude<DeploymentConfig, { provider: 'simulator' }>;

function adapterFor(d: ConcreteDeployment): ProviderAdapter {
  switch (d.provider) {
    case 'openai-compatible':
      return openAICompatibleAdapter(d.engine);
    case 'openai':
      return openAIProvider;
    case 'anthropic':
      return anthropicProvider;
  }
}

function serverRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function healthUrlFor(d: ConcreteDeployment): string | null {
  if (d.provider !== 'openai-compatible') return null;
  return serverRoot(d.url) + (d.health_path ?? ENGINE_QUIRKS[d.engine].healthPath);
}

function metricsUrlFor(d: ConcreteDeployment): string | null {
  if (d.provider !== 'openai-compatible') return null;
  const path = d.metrics_path === undefined ? ENGINE_QUIRKS[d.engine].metricsPath : d.metrics_path;
  return path === null ? null : serverRoot(d.url) + path;
}

/** `scheduler` for pools of self-hosted engines; `weighted` when hosted APIs are involved. */
export function defaultPolicyName(model: ModelConfig): PolicyName {
  return model.deployments.every((d) => d.provider === 'openai-compatible' || d.provider === 'simulator') ? 'scheduler' : 'weighted';
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
      if (raw.provider === 'simulator') throw new Error(`models "${model.name}": simulator deployments must be launched before building the registry`);
      const deployment = new Deployment({
        id: deploymentId(model.name, i, raw.id),
        modelName: model.name,
        adapter: adapterFor(raw),
        target: { baseUrl: raw.url, upstreamModel: raw.model ?? model.name, apiKey: raw.api_key, headers: raw.headers },
        weight: raw.weight,
        healthUrl: healthUrlFor(raw),
        metricsUrl: metricsUrlFor(raw),
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
