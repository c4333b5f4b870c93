// Anthropic Messages request body -> canonical request.

import type { CanonicalRequest, ChatMessage, ContentPart, EndpointKind, SamplingParams, ToolCall, ToolChoice, ToolDefinition } from '../canonical.ts';
import { GatewayError } from '../errors.ts';
import { requireObject } from '../validation.ts';
import { parseMessagesRequest, type ContentBlock, type ImageBlock, type MessagesRequest, type ToolResultPart } from './schema.ts';

/** Prefix that carries a tool_result's is_error flag to upstreams that have no such field. */
export const TOOL_ERROR_PREFIX = 'Error: ';

function misplaced(i: number, j: number, what: string): GatewayError {
  const param = `messages.${i}.content.${j}`;
  return new GatewayError('invalid_request', `${param}: ${what}`, { param, code: 'invalid_value' });
}

function imagePart(block: ImageBlock): ContentPart {
  const s = block.source;
  const url = s.type === 'base64' ? `data:${s.media_type};base64,${s.data}` : s.url;
  return { type: 'image_url', image_url: { url } };
}

/** A single text stays a plain string: every OpenAI-format engine accepts that, not all accept arrays. */
function compact(parts: ContentPart[]): string | ContentPart[] {
  if (parts.length === 1 && parts[0].type === 'text') return parts[0].text;
  return parts;
}

function toolResultContent(content: string | ToolResultPart[] | undefined, isError: boolean): string | ContentPart[] {
  const parts: ContentPart[] =
    typeof content === 'string'
      ? [{ type: 'text', text: content }]
      : (content ?? []).map((p): ContentPart => (p.type === 'text' ? { type: 'text', text: p.text } : imagePart(p)));
  if (parts.every((p) => p.type === 'text')) {
    const text = parts.map((p) => (p as { text: string }).text).join('\n');
    return isError ? `${TOOL_ERROR_PREFIX}${text}` : text;
  }
  return isError ? [{ type: 'text', text: TOOL_ERROR_PREFIX.trim() }, ...parts] : parts;
}

/**
 * A user turn becomes one `tool` message per tool_result (first, because in the OpenAI shape they
 * must directly follow the assistant's tool_calls) and then one user message with the rest.
 */
function userTurn(i: number, blocks: ContentBlock[], out: ChatMessage[]): void {
  const parts: ContentPart[] = [];
  blocks.forEach((b, j) => {
    switch (b.type) {
      case 'tool_result':
        out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: toolResultContent(b.content, b.is_error === true) });
        break;
      case 'text':
        parts.push({ type: 'text', text: b.text });
        break;
      case 'image':
        parts.push(imagePart(b));
        break;
      case 'tool_use':
        throw misplaced(i, j, 'tool_use blocks may only appear in assistant messages');
      default:
        break; // thinking: carries nothing an upstream can use
    }
  });
  if (parts.length > 0) out.push({ role: 'user', content: compact(parts) });
}

function assistantTurn(i: number, blocks: ContentBlock[], out: ChatMessage[]): void {
  let text = '';
  const toolCalls: ToolCall[] = [];
  blocks.forEach((b, j) => {
    switch (b.type) {
      case 'text':
        text += b.text;
        break;
      case 'tool_use':
        toolCalls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
        break;
      case 'tool_result':
        throw misplaced(i, j, 'tool_result blocks may only appear in user messages');
      case 'image':
        throw misplaced(i, j, 'image blocks may only appear in user messages');
      default:
        break; // thinking / redacted_thinking
    }
  });
  // An assistant turn that held only thinking says nothing to an upstream; an empty one would be rejected.
  if (text === '' && toolCalls.length === 0) return;
  out.push(toolCalls.length > 0 ? { role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls } : { role: 'assistant', content: text });
}

function messages(b: MessagesRequest): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (b.system != null) {
    const system = typeof b.system === 'string' ? b.system : b.system.map((s) => s.text).join('\n');
    if (system !== '') out.push({ role: 'system', content: system });
  }
  b.messages.forEach((m, i) => {
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      return;
    }
    if (m.role === 'user') userTurn(i, m.content, out);
    else assistantTurn(i, m.content, out);
  });
  return out;
}

function tools(b: MessagesRequest): ToolDefinition[] | undefined {
  if (!b.tools || b.tools.length === 0) return undefined;
  return b.tools.map((t) => ({
    type: 'function',
    function: { name: t.name, ...(t.description != null ? { description: t.description } : {}), parameters: t.input_schema },
  }));
}

function toolChoice(b: MessagesRequest): { tool_choice?: ToolChoice; parallel_tool_calls?: boolean } {
  const c = b.tool_choice;
  if (!c) return {};
  const parallel = c.type !== 'none' && c.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (c.type) {
    case 'auto':
      return { tool_choice: 'auto', ...parallel };
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'tool':
      return { tool_choice: { type: 'function', function: { name: c.name } }, ...parallel };
    case 'none':
      return { tool_choice: 'none' };
  }
}

export function parseAnthropicRequest(kind: EndpointKind, rawBody: unknown, requestId: string): CanonicalRequest {
  if (kind !== 'chat') {
    throw new GatewayError('invalid_request', 'The Anthropic format serves only POST /v1/messages.', { code: 'unsupported_endpoint' });
  }
  const b = parseMessagesRequest(requireObject(rawBody));
  const params: SamplingParams = { max_tokens: b.max_tokens };
  if (b.temperature != null) params.temperature = b.temperature;
  if (b.top_p != null) params.top_p = b.top_p;
  if (b.stop_sequences != null && b.stop_sequences.length > 0) params.stop = b.stop_sequences;
  const user = b.metadata?.user_id ?? undefined;
  return {
    kind: 'chat',
    model: b.model,
    stream: b.stream === true,
    // The Anthropic shape always reports usage, so the edge always needs it from the upstream.
    includeUsage: true,
    messages: messages(b),
    tools: tools(b),
    ...toolChoice(b),
    params,
    // top_k is the one Anthropic sampling field OpenAI-format engines (vLLM, SGLang) also understand.
    extra: b.top_k != null ? { top_k: b.top_k } : {},
    meta: { requestId, edge: 'anthropic', user },
  };
}
