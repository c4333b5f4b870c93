// The most tokens a request can make its upstream count, known before it runs: what a hard budget
// reserves. It must never be below what any upstream the gateway fronts reports, so it bounds
// rather than estimates:
//
// - Prompt text by its UTF-8 bytes: every BPE tokenizer (byte-level BPE, SentencePiece with byte
//   fallback) spends at least one byte per token, and the simulator at least one UTF-16 unit.
// - JSON a chat template renders (tool definitions, response_format, unmodelled body fields such
//   as vLLM's `documents`) by the bytes of its most verbose serialisation: every non-ASCII unit
//   escaped as \uXXXX and pretty-printed with a four-space indent.
// - What a chat template adds around the text by allowances: per request (begin-of-text, the
//   assistant's generation prompt, a template's built-in system text), per request with tools
//   (the tool-use instructions a provider or template adds: Anthropic's is up to 530 tokens) and
//   per message (role header and end of turn; also per tool definition, per completion prompt
//   and embedding input for their begin/end tokens; twice per tool call for its wrapper). Images
//   by a per-image allowance, since their bytes say nothing about their tokens.
// - Output by max_tokens for each choice (n, or best_of when larger) of each prompt.
//
// Runs on every request a budget applies to: one pass over the request, no copies (byteLength
// reads strings in place; the JSON walk reuses two module-level stacks).

import type { CanonicalRequest, ChatMessage, ContentPart } from '../api/canonical.ts';

export interface TemplateAllowances {
  perRequest: number;
  /** Added once when the request defines tools. */
  withTools: number;
  perMessage: number;
  perImage: number;
}

export interface UsageBound {
  promptTokens: number;
  outputTokens: number;
}

/**
 * max_tokens of OpenAI's /v1/completions when the client sends none (vLLM and SGLang use the same),
 * so sending it upstream changes nothing those upstreams would have done.
 */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

const INDENT = 4;
/** Longest JSON rendering of a number (e.g. -1.2345678901234567e-308). */
const NUMBER_BYTES = 24;

function utf8(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Bytes of a JSON string literal however it is escaped (\uXXXX for every non-ASCII unit at worst). */
function jsonStringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x20 || c >= 0x80 ? 6 : c === 0x22 || c === 0x5c ? 2 : 1;
  }
  return n;
}

const stackValues: unknown[] = [];
const stackDepths: number[] = [];

/**
 * Bytes of `value` rendered as pretty-printed, ASCII-escaped JSON: an upper bound of any template's
 * JSON rendering of it. Iterative, so a deeply nested body cannot overflow the call stack.
 */
export function jsonBytesBound(value: unknown): number {
  let total = 0;
  stackValues.push(value);
  stackDepths.push(0);
  while (stackValues.length > 0) {
    const v = stackValues.pop();
    const depth = stackDepths.pop()!;
    if (typeof v === 'string') total += jsonStringBytes(v);
    else if (typeof v === 'number') total += NUMBER_BYTES;
    else if (v === null || typeof v !== 'object') total += 5; // true, false, null (undefined is skipped: at most null)
    else {
      // Brackets, then per member: a newline, the indent, a comma; for objects also `"key": `.
      const perMember = 2 + (depth + 1) * INDENT;
      total += 2 + 1 + depth * INDENT;
      if (Array.isArray(v)) {
        for (const item of v) {
          total += perMember;
          stackValues.push(item);
          stackDepths.push(depth + 1);
        }
      } else {
        for (const key in v) {
          total += perMember + jsonStringBytes(key) + 2;
          stackValues.push((v as Record<string, unknown>)[key]);
          stackDepths.push(depth + 1);
        }
      }
    }
  }
  return total;
}

function contentBound(content: string | ContentPart[] | null, a: TemplateAllowances): number {
  if (content === null) return 0;
  if (typeof content === 'string') return utf8(content);
  let n = 0;
  for (const part of content) n += part.type === 'text' ? utf8(part.text) : a.perImage;
  return n;
}

function messageBound(m: ChatMessage, a: TemplateAllowances): number {
  let n = a.perMessage + utf8(m.role) + contentBound(m.content, a);
  if ('name' in m && m.name !== undefined) n += utf8(m.name);
  if (m.role === 'tool') n += utf8(m.tool_call_id);
  if (m.role === 'assistant' && m.tool_calls) {
    for (const call of m.tool_calls) n += 2 * a.perMessage + utf8(call.id) + utf8(call.function.name) + utf8(call.function.arguments);
  }
  return n;
}

function hasFields(o: Record<string, unknown>): boolean {
  for (const _ in o) return true;
  return false;
}

/** Sequences the upstream samples per prompt: n choices, or best_of candidates when that is larger. */
function choicesPerPrompt(req: CanonicalRequest): number {
  const bestOf = req.extra.best_of;
  const candidates = typeof bestOf === 'number' && bestOf > 1 ? Math.ceil(bestOf) : 1;
  return Math.max(req.params.n ?? 1, candidates);
}

/**
 * The most prompt and output tokens `req` can be billed for. `maxTokens` is the output cap per
 * choice (the request's max_tokens, or the one the gateway will send); embeddings produce none.
 */
export function usageBound(req: CanonicalRequest, a: TemplateAllowances, maxTokens: number): UsageBound {
  let prompt = 0;
  let prompts = 1;
  if (req.kind === 'chat') {
    prompt = a.perRequest;
    for (const m of req.messages ?? []) prompt += messageBound(m, a);
    if (req.tools && req.tools.length > 0) prompt += a.withTools;
    for (const tool of req.tools ?? []) prompt += a.perMessage + jsonBytesBound(tool);
    if (typeof req.tool_choice === 'object') prompt += jsonBytesBound(req.tool_choice);
    if (req.response_format) prompt += jsonBytesBound(req.response_format);
  } else {
    const texts = req.kind === 'completion' ? req.prompt : req.input;
    if (typeof texts === 'string') prompt = a.perMessage + utf8(texts);
    else {
      prompts = texts?.length ?? 0;
      for (const t of texts ?? []) prompt += a.perMessage + utf8(t);
    }
  }
  // Fields the gateway passes through unmodelled reach the upstream too (vLLM's `documents` and
  // `chat_template_kwargs` are rendered into the prompt).
  if (hasFields(req.extra)) prompt += jsonBytesBound(req.extra);
  const outputTokens = req.kind === 'embedding' ? 0 : maxTokens * choicesPerPrompt(req) * prompts;
  return { promptTokens: prompt, outputTokens };
}
