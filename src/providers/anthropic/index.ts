// Anthropic's Messages API (api.anthropic.com) as an upstream, for clients of either edge format.

import type { ProviderAdapter } from '../types.ts';
import { buildAnthropicCall } from './request.ts';
import { parseAnthropicResponse } from './response.ts';
import { AnthropicStreamDecoder } from './stream.ts';
import { parseAnthropicError } from './errors.ts';

export const anthropicProvider: ProviderAdapter = {
  kind: 'anthropic',
  buildRequest: buildAnthropicCall,
  parseResponse: parseAnthropicResponse,
  streamDecoder: () => new AnthropicStreamDecoder(),
  parseError: parseAnthropicError,
};
