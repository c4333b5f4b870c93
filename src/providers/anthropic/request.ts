// Canonical request -> Anthropic Messages API call (POST /v1/messages on api.anthropic.com).

import type { CanonicalRequest, ChatMessage, ContentPart, ToolChoice } from '../../api/canonical.ts';
import { GatewayError } from '../../api/errors.ts';
import type { UpstreamCall, UpstreamTarget } from '../types.ts';

/** Anthropic requires max_tokens; OpenAI clients often omit it. Large enough for most answers. */
export const DEFAULT_MAX_TOKENS = 4096;
export const ANTHROPIC_VERSION = '2023-06-01';

type Block = Record<string, unknown> & { type: string };
interface Turn {
  role: 'user' | 'assistant';
  blocks: Block[];
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param, code: 'invalid_value' });
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(url: string, param: string): Block {
  if (url.startsWith('data:')) {
    const m = DATA_URL.exec(url);
    if (!m) throw invalid(param, 'data URLs must be base64-encoded (data:<media type>;base64,<data>)');
    return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw invalid(param, 'expected an http(s) URL or a base64 data URL');
}

/**
 * Anthropic rejects empty and whitespace-only text blocks; they carry nothing, so they are dropped.
 * (OpenAI clients routinely send `content: ""` next to tool_calls.)
 */
function contentBlocks(content: string | ContentPart[] | null, param: string): Block[] {
  if (content === null) return [];
  if (typeof content === 'string') return content.trim() === '' ? [] : [{ type: 'text', text: content }];
  const blocks: Block[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text') {
      if (part.text.trim() !== '') blocks.push({ type: 'text', text: part.text });
    } else if (part.type === 'image_url') {
      blocks.push(imageBlock(part.image_url.url, `${param}[${j}].image_url.url`));
    } else {
      throw invalid(`${param}[${j}]`, `Anthropic upstreams take text and image content parts only, not ${part.type}; send this request to a model served by an OpenAI-compatible deployment`);
    }
  });
  return blocks;
}

function systemText(content: string | ContentPart[]): string {
  return typeof content === 'string' ? content : content.map((p) => (p.type === 'text' ? p.text : '')).join('');
}

function toolUseBlocks(m: ChatMessage & { role: 'assistant' }, i: number): Block[] {
  return (m.tool_calls ?? []).map((call, j) => {
    const param = `messages[${i}].tool_calls[${j}].function.arguments`;
    let input: unknown = {};
    if (call.function.arguments.trim() !== '') {
      try {
        input = JSON.parse(call.function.arguments);
      } catch {
        throw invalid(param, 'is not valid JSON; Anthropic needs tool call arguments as a JSON object');
      }
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalid(param, 'must be a JSON object');
    return { type: 'tool_use', id: call.id, name: call.function.name, input };
  });
}

/** A lone text block is sent as a plain string: the common case, and the most compact form. */
function wireContent(blocks: Block[]): string | Block[] {
  return blocks.length === 1 && blocks[0].type === 'text' ? (blocks[0].text as string) : blocks;
}

function toolResultBlock(m: ChatMessage & { role: 'tool' }, i: number): Block {
  const blocks = contentBlocks(m.content, `messages[${i}].content`);
  if (blocks.length === 0) return { type: 'tool_result', tool_use_id: m.tool_call_id };
  return { type: 'tool_result', tool_use_id: m.tool_call_id, content: wireContent(blocks) };
}

/**
 * Anthropic needs strictly alternating user/assistant turns, with tool results as user-turn blocks
 * that come before any other content of that turn. Consecutive same-role messages are merged.
 */
function turnsOf(messages: ChatMessage[]): { system: string[]; turns: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role !== role) {
      turns.push({ role, blocks });
      return;
    }
    // Tool results lead the merged turn; everything else keeps its order.
    const results = [...last.blocks, ...blocks].filter((b) => b.type === 'tool_result');
    const others = [...last.blocks, ...blocks].filter((b) => b.type !== 'tool_result');
    last.blocks = [...results, ...others];
  };
  messages.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(systemText(m.content));
        break;
      case 'user':
        push('user', contentBlocks(m.content, `messages[${i}].content`));
        break;
      case 'tool':
        push('user', [toolResultBlock(m, i)]);
        break;
      case 'assistant':
        push('assistant', [...contentBlocks(m.content, `messages[${i}].content`), ...toolUseBlocks(m, i)]);
        break;
    }
  });
  return { system: system.filter((s) => s !== ''), turns };
}


function toolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): Record<string, unknown> | undefined {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: 'auto', ...disable } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...disable };
  if (choice === 'required') return { type: 'any', ...disable };
  return { type: 'tool', name: choice.function.name, ...disable };
}

function rejectUnsupported(req: CanonicalRequest): void {
  if ((req.params.n ?? 1) > 1) {
    throw new GatewayError('invalid_request', 'n: Anthropic upstreams return one choice per request; send n=1 (or omit it).', { param: 'n', code: 'invalid_value' });
  }
  const format = req.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') {
    throw new GatewayError(
      'invalid_request',
      `response_format ${format} is not supported by Anthropic upstreams; describe the format in the prompt, or define a tool whose input_schema is the format.`,
      { param: 'response_format', code: 'unsupported_parameter' },
    );
  }
}

export function buildAnthropicCall(req: CanonicalRequest, target: UpstreamTarget): UpstreamCall {
  if (req.kind !== 'chat') {
    const endpoint = req.kind === 'completion' ? '/v1/completions' : '/v1/embeddings';
    throw new GatewayError(
      'invalid_request',
      `Model ${req.model} is served by an Anthropic upstream, which has no ${endpoint} endpoint; use /v1/chat/completions or /v1/messages.`,
      { code: 'unsupported_endpoint' },
    );
  }
  rejectUnsupported(req);
  const { system, turns } = turnsOf(req.messages ?? []);
  const body: Record<string, unknown> = {
    model: target.upstreamModel,
    max_tokens: req.params.max_tokens ?? DEFAULT_MAX_TOKENS,
    messages: turns.map((t) => ({ role: t.role, content: wireContent(t.blocks) })),
  };
  if (system.length === 1) body.system = system[0];
  else if (system.length > 1) body.system = system.map((text) => ({ type: 'text', text }));
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description !== undefined ? { description: t.function.description } : {}),
      // Anthropic insists on an object schema; OpenAI allows omitting parameters for no-argument tools.
      input_schema: { type: 'object', ...t.function.parameters },
    }));
    const choice = toolChoice(req.tool_choice, req.parallel_tool_calls);
    if (choice) body.tool_choice = choice;
  }
  const p = req.params;
  if (p.stop && p.stop.length > 0) body.stop_sequences = p.stop;
  // OpenAI's temperature runs 0-2, Anthropic's 0-1: the top of the OpenAI range maps to Anthropic's
  // maximum instead of failing a request that is valid for the API the client speaks.
  if (p.temperature !== undefined) body.temperature = Math.min(1, p.temperature);
  if (p.top_p !== undefined) body.top_p = p.top_p;
  if (typeof req.extra.top_k === 'number') body.top_k = req.extra.top_k;
  if (req.meta.user !== undefined) body.metadata = { user_id: req.meta.user };
  if (req.stream) body.stream = true;

  const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': ANTHROPIC_VERSION, ...target.headers };
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  if (req.stream) headers.accept = 'text/event-stream';
  return { path: '/v1/messages', headers, body: JSON.stringify(body) };
}
