// Hosted OpenAI: the OpenAI wire format with max_completion_tokens (required by its newer models).

import { createOpenAIFormatAdapter } from '../openai-compatible/index.ts';

export const openAIProvider = createOpenAIFormatAdapter('openai', {
  maxTokensField: 'max_completion_tokens',
  requestStreamUsage: true,
});
