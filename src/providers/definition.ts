// What a deployment kind is: the one definition each folder under providers/ exports and
// providers/registry.ts lists. Config builds the deployment union from the definitions' schemas,
// routing builds each deployment from its definition, finops reads whether it is hosted.
//
// Two sorts of kind:
//   - an upstream provider (openai-compatible, openai, anthropic) is reached over HTTP at the URL
//     its config gives: it has an adapter and, when it is a self-hosted engine, health and metrics
//     probes;
//   - a launched kind (simulator) has no wire format of its own: the gateway starts its replicas
//     as local processes and serves each one as a deployment of an upstream provider. Its
//     definition says which provider, how replicas are named, and how one is configured.

import type { z } from 'zod';
import type { ProviderAdapter } from './types.ts';

/** The fields every deployment config has, whatever its kind (see deployment-fields.ts). */
export interface CommonDeploymentConfig {
  provider: string;
  id?: string;
  weight: number;
  headers: Record<string, string>;
  max_concurrency?: number;
}

/** What the gateway needs to reach an upstream provider's deployment. */
export interface UpstreamDeploymentConfig extends CommonDeploymentConfig {
  /** Base URL, e.g. http://10.0.0.5:8000/v1 or https://api.anthropic.com. */
  url: string;
  /** Model name the upstream knows; the Switchyard model name when unset. */
  model?: string;
  api_key?: string;
}

/** A launched kind's config says how many replicas to start. */
export interface LaunchedDeploymentConfig extends CommonDeploymentConfig {
  replicas: number;
}

/** Absolute URLs the gateway polls on a deployment; null when it has none. */
export interface Probes {
  /** Answers 2xx when the deployment is ready; unprobed (hosted APIs) when null. */
  health: string | null;
  /** Prometheus metrics with the engine's load signals; unscraped when null. */
  metrics: string | null;
}

export const NO_PROBES: Probes = { health: null, metrics: null };

type DeploymentSchema = z.ZodObject;

export interface UpstreamProviderDefinition<Kind extends string = string, Schema extends DeploymentSchema = DeploymentSchema> {
  readonly kind: Kind;
  /** The deployment fields this kind accepts, `provider: <kind>` included; a strict zod object. */
  readonly schema: Schema;
  /** Priced per token by a vendor (true), or self-hosted hardware costed from GPU time (false). */
  readonly hosted: boolean;
  /** The adapter for one deployment (adapters are pure; one may be shared by many deployments). */
  adapter(config: z.output<Schema>): ProviderAdapter;
  probes(config: z.output<Schema>): Probes;
}

export interface LaunchedDeploymentDefinition<
  Kind extends string = string,
  Schema extends DeploymentSchema = DeploymentSchema,
  Replica extends UpstreamDeploymentConfig = UpstreamDeploymentConfig,
> {
  readonly kind: Kind;
  readonly schema: Schema;
  /** Launched replicas run on the gateway's own hardware. */
  readonly hosted: false;
  readonly launch: {
    /** The upstream provider each replica is served as. */
    readonly servedAs: Replica['provider'];
    /** The upstream deployment config of one replica, once it listens at `url`. */
    replica(config: z.output<Schema>, replica: { id: string; url: string }, modelName: string): Replica;
  };
}

export type DeploymentDefinition = UpstreamProviderDefinition | LaunchedDeploymentDefinition;

/**
 * Identity, for inference: the kind stays a literal and the adapter and probes see the schema's
 * output type. The schema's output must have the upstream fields.
 */
export function defineUpstreamProvider<const Kind extends string, Schema extends DeploymentSchema>(
  definition: UpstreamProviderDefinition<Kind, Schema> & { schema: { _zod: { output: UpstreamDeploymentConfig & { provider: NoInfer<Kind> } } } },
): UpstreamProviderDefinition<Kind, Schema> {
  return definition;
}

export function defineLaunchedDeployment<const Kind extends string, Schema extends DeploymentSchema, Replica extends UpstreamDeploymentConfig>(
  definition: LaunchedDeploymentDefinition<Kind, Schema, Replica> & { schema: { _zod: { output: LaunchedDeploymentConfig & { provider: NoInfer<Kind> } } } },
): LaunchedDeploymentDefinition<Kind, Schema, Replica> {
  return definition;
}
