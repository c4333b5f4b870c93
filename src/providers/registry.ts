// Every deployment kind Switchyard knows, one line each (see providers/definition.ts for what a
// definition holds, docs/architecture.md "Adding a provider" for how to add one). Config accepts
// exactly these kinds, in this order in its error messages; routing and finops look them up here.

import type { z } from 'zod';
import type { DeploymentDefinition, LaunchedDeploymentDefinition, Probes, UpstreamDeploymentConfig } from './definition.ts';
import type { ProviderAdapter } from './types.ts';
import { openAICompatibleDefinition } from './openai-compatible/definition.ts';
import { openAIDefinition } from './openai/definition.ts';
import { anthropicDefinition } from './anthropic/definition.ts';
import { simulatorDefinition } from './simulator/definition.ts';

export const DEPLOYMENT_DEFINITIONS = [
  openAICompatibleDefinition,
  openAIDefinition,
  anthropicDefinition,
  simulatorDefinition,
] as const;

type Definitions = (typeof DEPLOYMENT_DEFINITIONS)[number];

/** Every `provider:` a deployment config may name. */
export type DeploymentKind = Definitions['kind'];
/** The kinds reached over HTTP through an adapter (launched kinds are served as one of these). */
export type ProviderKind = Extract<Definitions, { adapter: unknown }>['kind'];
/** A validated deployment config, of any kind. */
export type DeploymentConfig = z.output<Definitions['schema']>;
/** A validated deployment config of an upstream provider: what routing builds a deployment from. */
export type UpstreamConfig = Extract<DeploymentConfig, { provider: ProviderKind }>;

type SchemasOf<T extends readonly { schema: unknown }[]> = { -readonly [K in keyof T]: T[K]['schema'] };

/** The definitions' schemas in registry order, as the tuple z.discriminatedUnion takes. */
export const DEPLOYMENT_SCHEMAS = DEPLOYMENT_DEFINITIONS.map((d) => d.schema) as unknown as SchemasOf<typeof DEPLOYMENT_DEFINITIONS>;

export const DEPLOYMENT_KINDS: readonly DeploymentKind[] = DEPLOYMENT_DEFINITIONS.map((d) => d.kind);

const byKind = new Map<string, DeploymentDefinition>(DEPLOYMENT_DEFINITIONS.map((d) => [d.kind, d]));

/** The definition of a kind; throws for a kind the registry does not list (config validation rules that out). */
export function deploymentDefinition(kind: string): DeploymentDefinition {
  const definition = byKind.get(kind);
  if (!definition) throw new Error(`unknown deployment provider "${kind}"; expected one of: ${DEPLOYMENT_KINDS.join(', ')}`);
  return definition;
}

/** Priced per token by a vendor (true), or self-hosted and costed from GPU time (false). */
export function isHosted(kind: string): boolean {
  return deploymentDefinition(kind).hosted;
}

/** Launched kinds' definitions have `launch`; upstream providers' have an adapter. */
export function launchOf(kind: string): LaunchedDeploymentDefinition['launch'] | undefined {
  const definition = deploymentDefinition(kind);
  return 'launch' in definition ? definition.launch : undefined;
}

export interface ResolvedUpstream {
  adapter: ProviderAdapter;
  probes: Probes;
  config: UpstreamDeploymentConfig;
}

/**
 * The adapter and probes for one validated deployment config, from its kind's definition; undefined
 * for a launched kind, whose replicas must be launched (and their configs put in its place) first.
 */
export function resolveUpstream(config: DeploymentConfig): ResolvedUpstream | undefined {
  const definition = deploymentDefinition(config.provider);
  if ('launch' in definition) return undefined;
  // The config was validated by the schema of the definition its `provider` names, so it is that
  // definition's config (the type checker sees a config of any kind, one definition of any kind).
  return { adapter: definition.adapter(config), probes: definition.probes(config), config: config as UpstreamConfig };
}
