// Canonical response -> Anthropic Message body, plus the stop-reason and usage mappings the stream shares.

import type { CanonicalResponse, FinishReason, Usage } from '../canonical.ts';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * `hasToolUse` matters because several OpenAI-format engines report `stop` after emitting tool calls,
 * and Anthropic clients decide whether to run tools by checking stop_reason === 'tool_use'.
 */
export function anthropicStopReason(reason: FinishReason | null | undefined, stopSequence: string | null | undefined, hasToolUse: boolean): StopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      if (stopSequence) return 'stop_sequence';
      return hasToolUse ? 'tool_use' : 'end_turn';
  }
}

/** Anthropic's input_tokens counts only uncached input; cache reads and writes are reported beside it. */
export function anthropicUsage(usage: Usage): AnthropicUsage {
  const cacheRead = usage.cached_tokens ?? 0;
  const cacheCreation = usage.cache_creation_tokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cacheRead - cacheCreation),
    output_tokens: usage.completion_tokens,
    cache_creation_input_tokens: cacheCreation,
    cache_read_input_tokens: cacheRead,
  };
}

/** Anthropic clients expect `msg_` ids; an OpenAI-format upstream's `chatcmpl-...` id is kept inside it. */
export function anthropicMessageId(upstreamId: string, requestId: string): string {
  if (upstreamId.startsWith('msg_')) return upstreamId;
  const tail = (upstreamId || requestId).replace(/[^A-Za-z0-9_]/g, '');
  return `msg_${tail || requestId.replace(/[^A-Za-z0-9_]/g, '')}`;
}

/**
 * Tool input must be a JSON object. A model that produced invalid or non-object arguments gets `{}`:
 * the client's tool then fails its own validation and can report that back, which is how an agent
 * loop recovers; inventing a wrapper field would be passed to the tool as if the model meant it.
 */
export function toolInput(args: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(args);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return {};
}

export function renderAnthropicMessage(res: CanonicalResponse, clientModel: string, requestId: string): Record<string, unknown> {
  // The Anthropic edge never asks for n > 1, so the first choice is the whole answer.
  const choice = res.choices[0] ?? { index: 0, text: '', finish_reason: 'stop' as const };
  const content: Record<string, unknown>[] = [];
  if (choice.text) content.push({ type: 'text', text: choice.text });
  for (const call of choice.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  }
  const hasToolUse = (choice.tool_calls?.length ?? 0) > 0;
  const stopReason = anthropicStopReason(choice.finish_reason, choice.stop_sequence, hasToolUse);
  return {
    id: anthropicMessageId(res.id, requestId),
    type: 'message',
    role: 'assistant',
    model: clientModel,
    content,
    stop_reason: stopReason,
    stop_sequence: stopReason === 'stop_sequence' ? choice.stop_sequence : null,
    usage: anthropicUsage(res.usage),
  };
}
