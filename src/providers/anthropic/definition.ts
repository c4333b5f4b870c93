// The anthropic deployment kind: Anthropic's hosted Messages API, priced per token, never probed.

import { z } from 'zod';
import { defineUpstreamProvider, NO_PROBES } from '../definition.ts';
import { commonDeploymentFields, deploymentUrl } from '../deployment-fields.ts';
import { anthropicProvider } from './index.ts';

export const anthropicDeploymentSchema = z.strictObject({
  provider: z.literal('anthropic'),
  url: deploymentUrl.default('https://api.anthropic.com'),
  model: z.string().min(1).optional(),
  api_key: z.string().min(1, 'an Anthropic deployment needs api_key, e.g. ${ANTHROPIC_API_KEY}'),
  ...commonDeploymentFields,
});

export const anthropicDefinition = defineUpstreamProvider({
  kind: 'anthropic',
  schema: anthropicDeploymentSchema,
  hosted: true,
  adapter: () => anthropicProvider,
  probes: () => NO_PROBES,
});
