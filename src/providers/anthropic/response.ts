// Anthropic Message JSON -> canonical response, plus the stop-reason and usage mappings the stream shares.

import type { CanonicalRequest, CanonicalResponse, FinishReason, ToolCall, Usage } from '../../api/canonical.ts';
import { GatewayError } from '../../api/errors.ts';

type Json = Record<string, unknown>;

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  // The context window filled up before max_tokens: to an OpenAI client that is still a length stop.
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  // A server-tool loop paused; the turn is over as far as this request is concerned.
  pause_turn: 'stop',
};

export function canonicalFinishReason(stopReason: unknown): FinishReason | null {
  if (typeof stopReason !== 'string') return null;
  return FINISH[stopReason] ?? 'stop';
}

/** Anthropic's counters as reported; input_tokens excludes cache reads and writes. */
export interface AnthropicUsageCounters {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** Copies the counters present in `raw` over `into`: Anthropic's streamed usage is cumulative, never summed. */
export function mergeUsage(into: AnthropicUsageCounters, raw: unknown): void {
  if (raw === null || typeof raw !== 'object') return;
  const u = raw as Json;
  for (const key of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const) {
    if (typeof u[key] === 'number') into[key] = u[key];
  }
}

/** Canonical prompt_tokens counts every input token, cached or not, as OpenAI's does. */
export function canonicalUsage(c: AnthropicUsageCounters): Usage {
  const cacheRead = c.cache_read_input_tokens ?? 0;
  const cacheCreation = c.cache_creation_input_tokens ?? 0;
  return {
    prompt_tokens: (c.input_tokens ?? 0) + cacheRead + cacheCreation,
    completion_tokens: c.output_tokens ?? 0,
    cached_tokens: cacheRead,
    cache_creation_tokens: cacheCreation,
  };
}

export function malformed(what: string): GatewayError {
  return new GatewayError('upstream_error', `The Anthropic upstream returned a malformed response (${what}).`, { code: 'upstream_malformed_response' });
}

export function parseAnthropicResponse(_req: CanonicalRequest, raw: unknown): CanonicalResponse {
  if (raw === null || typeof raw !== 'object') throw malformed('not a JSON object');
  const body = raw as Json;
  if (!Array.isArray(body.content)) throw malformed('no content array');
  let text = '';
  let sawText = false;
  const toolCalls: ToolCall[] = [];
  for (const block of body.content as Json[]) {
    if (block.type === 'text' && typeof block.text === 'string') {
      text += block.text;
      sawText = true;
    } else if (block.type === 'tool_use') {
      toolCalls.push({ id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) } });
    }
    // thinking, redacted_thinking and server-tool blocks have no place in the canonical response.
  }
  const usage: AnthropicUsageCounters = {};
  mergeUsage(usage, body.usage);
  return {
    kind: 'chat',
    id: String(body.id ?? ''),
    created: Math.floor(Date.now() / 1000),
    upstreamModel: String(body.model ?? ''),
    choices: [
      {
        index: 0,
        // OpenAI reports content: null for a pure tool-call answer.
        text: sawText || toolCalls.length === 0 ? text : null,
        tool_calls: toolCalls.length > 0 ? toolCalls : undefined,
        finish_reason: canonicalFinishReason(body.stop_reason) ?? 'stop',
        stop_sequence: typeof body.stop_sequence === 'string' ? body.stop_sequence : null,
      },
    ],
    usage: canonicalUsage(usage),
  };
}
