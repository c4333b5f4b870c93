// The openai-compatible deployment kind: a self-hosted engine speaking OpenAI's wire format
// (vLLM, SGLang, llama.cpp, Ollama, TGI, LM Studio), probed for health and load at its server root.

import { z } from 'zod';
import { defineUpstreamProvider, type Probes } from '../definition.ts';
import { commonDeploymentFields, deploymentUrl, selfHostedCostFields } from '../deployment-fields.ts';
import { openAICompatibleAdapter } from './index.ts';
import { ENGINE_QUIRKS, ENGINES } from './quirks.ts';

export const openAICompatibleDeploymentSchema = z.strictObject({
  provider: z.literal('openai-compatible'),
  url: deploymentUrl,
  model: z.string().min(1).optional(),
  api_key: z.string().optional(),
  engine: z.enum(ENGINES).default('generic'),
  health_path: z.string().startsWith('/').optional(),
  metrics_path: z.string().startsWith('/').nullable().optional(),
  ...selfHostedCostFields,
  ...commonDeploymentFields,
});

export type OpenAICompatibleDeploymentConfig = z.output<typeof openAICompatibleDeploymentSchema>;

/** Engines serve health and metrics at the server root, not under the API's /v1. */
function serverRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function probesOf(d: OpenAICompatibleDeploymentConfig): Probes {
  const quirks = ENGINE_QUIRKS[d.engine];
  const root = serverRoot(d.url);
  const metricsPath = d.metrics_path === undefined ? quirks.metricsPath : d.metrics_path;
  return { health: root + (d.health_path ?? quirks.healthPath), metrics: metricsPath === null ? null : root + metricsPath };
}

export const openAICompatibleDefinition = defineUpstreamProvider({
  kind: 'openai-compatible',
  schema: openAICompatibleDeploymentSchema,
  hosted: false,
  adapter: (d) => openAICompatibleAdapter(d.engine),
  probes: probesOf,
});
