// One adapter for every engine that speaks OpenAI's wire format: vLLM, SGLang, llama.cpp server,
// Ollama, TGI, LM Studio and the Switchyard simulator. Their quirks are data (quirks.ts), not branches.

import type { ProviderAdapter, ProviderKind } from '../types.ts';
import { buildOpenAIFormatCall, type OpenAIFormatOptions } from './request.ts';
import { parseOpenAIFormatResponse } from './response.ts';
import { OpenAIFormatStreamDecoder } from './stream.ts';
import { mapUpstreamError } from './errors.ts';
import { ENGINE_QUIRKS, type Engine } from './quirks.ts';

export function createOpenAIFormatAdapter(kind: ProviderKind, options: OpenAIFormatOptions): ProviderAdapter {
  return {
    kind,
    buildRequest: (req, target) => buildOpenAIFormatCall(req, target, options),
    parseResponse: parseOpenAIFormatResponse,
    streamDecoder: (req) => new OpenAIFormatStreamDecoder(req),
    parseError: mapUpstreamError,
  };
}

const adapters = new Map<Engine, ProviderAdapter>();

export function openAICompatibleAdapter(engine: Engine): ProviderAdapter {
  let adapter = adapters.get(engine);
  if (!adapter) {
    adapter = createOpenAIFormatAdapter('openai-compatible', {
      maxTokensField: 'max_tokens',
      requestStreamUsage: ENGINE_QUIRKS[engine].streamUsage,
    });
    adapters.set(engine, adapter);
  }
  return adapter;
}
