// The openai deployment kind: OpenAI's hosted API, priced per token, never probed.

import { z } from 'zod';
import { defineUpstreamProvider, NO_PROBES } from '../definition.ts';
import { commonDeploymentFields, deploymentUrl } from '../deployment-fields.ts';
import { openAIProvider } from './index.ts';

export const openAIDeploymentSchema = z.strictObject({
  provider: z.literal('openai'),
  url: deploymentUrl.default('https://api.openai.com/v1'),
  model: z.string().min(1).optional(),
  api_key: z.string().min(1, 'an OpenAI deployment needs api_key, e.g. ${OPENAI_API_KEY}'),
  ...commonDeploymentFields,
});

export const openAIDefinition = defineUpstreamProvider({
  kind: 'openai',
  schema: openAIDeploymentSchema,
  hosted: true,
  adapter: () => openAIProvider,
  probes: () => NO_PROBES,
});
