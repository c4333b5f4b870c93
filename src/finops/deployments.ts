// What FinOps needs to know about each deployment: which model it serves, what it is called
// upstream (for the price book), whether it is hosted, and for self-hosted ones what its GPUs
// cost per hour. Kinds are read from the provider registry.

import { isHosted, launchOf } from '../providers/registry.ts';

import { deploymentId } from '../routing/deployment-id.ts';

export interface DeploymentCostSpec {
  /** The run-time deployment id, as the meter reports it. */
  id: string;
  /** Switchyard model name. */
  model: string;
  /** The upstream provider serving it (for a launched replica, the provider it is served as). */
  provider: string;
  /** Priced per token by a vendor, from the provider registry; self-hosted ones may be GPU-priced. */
  hosted: boolean;
  /** Model name sent upstream (price-book lookups for hosted providers). */
  upstreamModel: string;
  /** Set for self-hosted deployments whose cost comes from GPU time. */
  gpuHourlyUsd?: number;
  gpus: number;
}

/** The config shape read here; the validated SwitchyardConfig models satisfy it. */
export interface ModelLike {
  name: string;
  /** Models tried, in order, when this one cannot serve (requests are billed at theirs then). */
  fallbacks?: readonly string[];
  deployments: readonly {
    id?: string;
    provider: string;
    model?: string;
    /** Replicas of a launched kind (the schema defaults it to 1). */
    replicas?: number;
    gpu_hourly_usd?: number;
    gpus?: number;
  }[];
}

/**
 * Deployment specs from config models. A deployment of a launched kind (the simulator) expands to
 * one spec per replica, with the ids and provider its definition gives the replicas, each replica
 * carrying the configured GPUs; already-expanded models (replicas with ids) pass through.
 */
export function deploymentCostsFromModels(models: readonly ModelLike[]): DeploymentCostSpec[] {
  const out: DeploymentCostSpec[] = [];
  for (const model of models) {
    model.deployments.forEach((d, i) => {
      const launch = launchOf(d.provider);
      const base = {
        model: model.name,
        provider: launch ? launch.servedAs : d.provider,
        hosted: isHosted(d.provider),
        upstreamModel: d.model ?? model.name,
        gpuHourlyUsd: d.gpu_hourly_usd,
        gpus: d.gpus ?? 1,
      };
      if (launch) {
        for (let r = 0; r < (d.replicas ?? 1); r++) out.push({ ...base, id: deploymentId(model.name, i, d.id, r) });
      } else {
        out.push({ ...base, id: deploymentId(model.name, i, d.id) });
      }
    });
  }
  return out;
}
