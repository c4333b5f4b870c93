// OpenAI-format upstream JSON -> canonical response.

import type { CanonicalEmbeddingResponse, CanonicalRequest, CanonicalResponse, FinishReason, ToolCall, Usage } from '../../api/canonical.ts';
import { GatewayError } from '../../api/errors.ts';

type Json = Record<string, unknown>;

const FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
  eos: 'stop',
  abort: 'error',
  error: 'error',
};

export function canonicalFinishReason(value: unknown): FinishReason | null {
  if (typeof value !== 'string') return null;
  return FINISH[value] ?? 'stop';
}

export function canonicalUsage(raw: unknown): Usage | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const u = raw as Json;
  const usage: Usage = {
    prompt_tokens: Number(u.prompt_tokens ?? 0),
    completion_tokens: Number(u.completion_tokens ?? 0),
  };
  const details = u.prompt_tokens_details as Json | null | undefined;
  if (details && typeof details.cached_tokens === 'number') usage.cached_tokens = details.cached_tokens;
  return usage;
}

function malformed(what: string): GatewayError {
  return new GatewayError('upstream_error', `The upstream returned a malformed response (${what}).`, { code: 'upstream_malformed_response' });
}

export function parseOpenAIFormatResponse(req: CanonicalRequest, raw: unknown): CanonicalResponse | CanonicalEmbeddingResponse {
  if (raw === null || typeof raw !== 'object') throw malformed('not a JSON object');
  const body = raw as Json;
  if (req.kind === 'embedding') {
    if (!Array.isArray(body.data)) throw malformed('no data array');
    return {
      kind: 'embedding',
      upstreamModel: String(body.model ?? ''),
      data: (body.data as Json[]).map((d, i) => ({ index: typeof d.index === 'number' ? d.index : i, embedding: d.embedding as number[] | string })),
      usage: canonicalUsage(body.usage) ?? { prompt_tokens: 0, completion_tokens: 0 },
    };
  }
  if (!Array.isArray(body.choices)) throw malformed('no choices array');
  const choices = (body.choices as Json[]).map((c, i) => {
    const index = typeof c.index === 'number' ? c.index : i;
    if (req.kind === 'chat') {
      const message = (c.message ?? {}) as Json;
      const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as ToolCall[]) : undefined;
      return {
        index,
        text: typeof message.content === 'string' ? message.content : null,
        tool_calls: toolCalls && toolCalls.length > 0 ? toolCalls : undefined,
        finish_reason: canonicalFinishReason(c.finish_reason),
      };
    }
    return { index, text: typeof c.text === 'string' ? c.text : '', finish_reason: canonicalFinishReason(c.finish_reason) };
  });
  return {
    kind: req.kind,
    id: String(body.id ?? ''),
    created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
    upstreamModel: String(body.model ?? ''),
    choices,
    usage: canonicalUsage(body.usage) ?? { prompt_tokens: 0, completion_tokens: 0 },
    system_fingerprint: typeof body.system_fingerprint === 'string' ? body.system_fingerprint : undefined,
  };
}
