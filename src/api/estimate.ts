// Rough token estimates for upstreams that report no usage (some engines omit it on streams).
// About four characters per token for English text; only used when the upstream is silent.

import type { CanonicalRequest } from './canonical.ts';

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

// Chat templates wrap every message in role headers and separators (Llama 3: about 5 tokens a
// message) and open the assistant's turn at the end. Underestimating them would let budget
// reservations fall short of the real cost.
const TEMPLATE_TOKENS_PER_MESSAGE = 6;
const TEMPLATE_TOKENS_BASE = 4;

export function estimatePromptTokens(req: CanonicalRequest): number {
  let chars = 0;
  let templateTokens = req.messages ? TEMPLATE_TOKENS_BASE : 0;
  for (const m of req.messages ?? []) {
    templateTokens += TEMPLATE_TOKENS_PER_MESSAGE;
    if (typeof m.content === 'string') chars += m.content.length;
    else if (Array.isArray(m.content)) for (const p of m.content) if (p.type === 'text') chars += p.text.length;
    if (m.role === 'assistant' && m.tool_calls) for (const t of m.tool_calls) chars += t.function.name.length + t.function.arguments.length;
  }
  const prompt = req.prompt ?? req.input;
  if (typeof prompt === 'string') chars += prompt.length;
  else if (Array.isArray(prompt)) for (const p of prompt) chars += p.length;
  return Math.max(1, templateTokens + Math.ceil(chars / 4));
}
