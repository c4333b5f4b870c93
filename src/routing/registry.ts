// Builds the run-time model pools from validated config. Simulator deployments must already have
// been launched and replaced by openai-compatible deployments pointing at them.

import type { DeploymentConfig, ModelConfig } from '../config/schema.ts';
import type { ProviderAdapter } from '../providers/types.ts';
import { openAICompatibleAdapter } from '../providers/openai-compatible/index.ts';
import { ENGINE_QUIRKS } from '../providers/openai-compatible/quirks.ts';
import { openAIProvider } from '../providers/openai/index.ts';
import { anthropicProvider } from '../providers/anthropic/index.ts';
import { Deployment } from './deployment.ts';
import { ModelPool } from './model-pool.ts';

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

export class ModelRegistry {
  readonly pools = new Map<string, ModelPool>();

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

export function createModelRegistry(models: ModelConfig[]): ModelRegistry {
  const registry = new ModelRegistry();
  for (const model of models) {
    const deployments = model.deployments.map((raw, i) => {
      if (raw.provider === 'simulator') throw new Error(`models "${model.name}": simulator deployments must be launched before building the registry`);
      return new Deployment({
        id: raw.id ?? `${model.name}#${i}`,
        modelName: model.name,
        adapter: adapterFor(raw),
        target: { baseUrl: raw.url, upstreamModel: raw.model ?? model.name, apiKey: raw.api_key, headers: raw.headers },
        weight: raw.weight,
        healthUrl: healthUrlFor(raw),
        timeouts: model.timeouts,
      });
    });
    registry.pools.set(model.name, new ModelPool(model.name, deployments, model.max_retries));
  }
  return registry;
}
