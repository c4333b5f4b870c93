// OpenAI request bodies -> canonical request.

import type { CanonicalRequest, ChatMessage, EndpointKind, SamplingParams, ToolChoice, ToolDefinition } from '../canonical.ts';
import { parseOrThrow, requireObject } from '../validation.ts';
import { chatRequestSchema, completionRequestSchema, embeddingRequestSchema, MODELLED_FIELDS } from './schema.ts';

function extraFields(body: Record<string, unknown>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const key in body) if (!MODELLED_FIELDS.has(key)) extra[key] = body[key];
  return extra;
}

function orUndefined<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

function samplingParams(b: {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
}): SamplingParams {
  const params: SamplingParams = {};
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  if (maxTokens != null) params.max_tokens = maxTokens;
  if (b.temperature != null) params.temperature = b.temperature;
  if (b.top_p != null) params.top_p = b.top_p;
  if (b.n != null) params.n = b.n;
  if (b.stop != null) params.stop = typeof b.stop === 'string' ? [b.stop] : b.stop;
  if (b.seed != null) params.seed = b.seed;
  if (b.presence_penalty != null) params.presence_penalty = b.presence_penalty;
  if (b.frequency_penalty != null) params.frequency_penalty = b.frequency_penalty;
  return params;
}

export function parseOpenAIRequest(kind: EndpointKind, rawBody: unknown, requestId: string): CanonicalRequest {
  const body = requireObject(rawBody);
  const extra = extraFields(body);
  if (kind === 'chat') {
    const b = parseOrThrow(chatRequestSchema, body);
    return {
      kind,
      model: b.model,
      stream: b.stream === true,
      includeUsage: b.stream_options?.include_usage === true,
      messages: b.messages as ChatMessage[],
      tools: orUndefined(b.tools) as ToolDefinition[] | undefined,
      tool_choice: orUndefined(b.tool_choice) as ToolChoice | undefined,
      parallel_tool_calls: orUndefined(b.parallel_tool_calls),
      response_format: orUndefined(b.response_format),
      params: samplingParams(b),
      extra,
      meta: { requestId, edge: 'openai', user: b.user },
    };
  }
  if (kind === 'completion') {
    const b = parseOrThrow(completionRequestSchema, body);
    return {
      kind,
      model: b.model,
      stream: b.stream === true,
      includeUsage: b.stream_options?.include_usage === true,
      prompt: b.prompt,
      params: samplingParams(b),
      extra,
      meta: { requestId, edge: 'openai', user: b.user },
    };
  }
  const b = parseOrThrow(embeddingRequestSchema, body);
  return {
    kind,
    model: b.model,
    stream: false,
    includeUsage: false,
    input: typeof b.input === 'string' ? [b.input] : b.input,
    dimensions: b.dimensions,
    encoding_format: b.encoding_format,
    params: {},
    extra,
    meta: { requestId, edge: 'openai', user: b.user },
  };
}
