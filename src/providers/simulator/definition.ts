// The simulator deployment kind: replicas of the built-in engine simulator (src/sim/), which the
// gateway launches as child processes on free loopback ports (cli/simulator-replicas.ts). Each
// replica speaks vLLM's wire format and metrics, so it is served as an openai-compatible
// deployment with engine vllm: the simulator has no adapter of its own, and routing, health
// checks, scraping and GPU costing treat its replicas like any self-hosted engine.

import { z } from 'zod';
import { DEFAULT_PROFILE, PROFILE_NAMES, unknownProfileMessage } from '../../sim/profiles.ts';
import { defineLaunchedDeployment } from '../definition.ts';
import { commonDeploymentFields, selfHostedCostFields } from '../deployment-fields.ts';
import type { OpenAICompatibleDeploymentConfig } from '../openai-compatible/definition.ts';

export const simulatorDeploymentSchema = z.strictObject({
  provider: z.literal('simulator'),
  replicas: z.number().int().positive().max(64).default(1),
  profile: z.enum(PROFILE_NAMES, { error: (issue) => unknownProfileMessage(String(issue.input)) }).default(DEFAULT_PROFILE),
  time_scale: z.number().min(0).default(1),
  ...selfHostedCostFields,
  ...commonDeploymentFields,
});

export type SimulatorDeploymentConfig = z.output<typeof simulatorDeploymentSchema>;

export const simulatorDefinition = defineLaunchedDeployment({
  kind: 'simulator',
  schema: simulatorDeploymentSchema,
  hosted: false,
  launch: {
    servedAs: 'openai-compatible',
    replica: (d, replica, modelName): OpenAICompatibleDeploymentConfig => ({
      provider: 'openai-compatible',
      id: replica.id,
      url: `${replica.url}/v1`,
      model: modelName,
      engine: 'vllm',
      weight: d.weight,
      headers: d.headers,
      max_concurrency: d.max_concurrency,
      gpu_hourly_usd: d.gpu_hourly_usd,
      gpus: d.gpus,
    }),
  },
});
