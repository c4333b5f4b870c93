// Rough token estimates for upstreams that report no usage (some engines omit it on streams).
// About four characters per token for English text; only used when the upstream is silent.

import type { CanonicalRequest } from '../api/canonical.ts';

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

export function estimatePromptTokens(req: CanonicalRequest): number {
  let chars = 0;
  for (const m of req.messages ?? []) {
    chars += 4; // role and separators
    if (typeof m.content === 'string') chars += m.content.length;
    else if (Array.isArray(m.content)) for (const p of m.content) if (p.type === 'text') chars += p.text.length;
    if (m.role === 'assistant' && m.tool_calls) for (const t of m.tool_calls) chars += t.function.name.length + t.function.arguments.length;
  }
  const prompt = req.prompt ?? req.input;
  if (typeof prompt === 'string') chars += prompt.length;
  else if (Array.isArray(prompt)) for (const p of prompt) chars += p.length;
  return Math.max(1, Math.ceil(chars / 4));
}
