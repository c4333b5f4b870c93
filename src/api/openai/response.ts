// Canonical responses -> OpenAI response bodies (chat.completion, text_completion, embeddings list).

import type { CanonicalEmbeddingResponse, CanonicalResponse, FinishReason, Usage } from '../canonical.ts';

/** OpenAI has no 'error' finish reason; a choice cut by an upstream fault reports where it stopped. */
export function openAIFinishReason(reason: FinishReason | null | undefined): Exclude<FinishReason, 'error'> | null {
  if (reason === undefined || reason === null) return null;
  return reason === 'error' ? 'stop' : reason;
}

export function openAIUsage(usage: Usage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
  };
  if (usage.cached_tokens !== undefined) out.prompt_tokens_details = { cached_tokens: usage.cached_tokens };
  return out;
}

export function renderChatCompletion(res: CanonicalResponse, clientModel: string): Record<string, unknown> {
  return {
    id: res.id,
    object: 'chat.completion',
    created: res.created,
    model: clientModel,
    choices: res.choices.map((c) => {
      const message: Record<string, unknown> = { role: 'assistant', content: c.text, refusal: null };
      if (c.tool_calls && c.tool_calls.length > 0) message.tool_calls = c.tool_calls;
      return { index: c.index, message, logprobs: null, finish_reason: openAIFinishReason(c.finish_reason) ?? 'stop' };
    }),
    usage: openAIUsage(res.usage),
    ...(res.system_fingerprint ? { system_fingerprint: res.system_fingerprint } : {}),
  };
}

export function renderTextCompletion(res: CanonicalResponse, clientModel: string): Record<string, unknown> {
  return {
    id: res.id,
    object: 'text_completion',
    created: res.created,
    model: clientModel,
    choices: res.choices.map((c) => ({
      index: c.index,
      text: c.text ?? '',
      logprobs: null,
      finish_reason: openAIFinishReason(c.finish_reason) ?? 'stop',
    })),
    usage: openAIUsage(res.usage),
    ...(res.system_fingerprint ? { system_fingerprint: res.system_fingerprint } : {}),
  };
}

export function renderEmbeddings(res: CanonicalEmbeddingResponse, clientModel: string): Record<string, unknown> {
  return {
    object: 'list',
    data: res.data.map((d) => ({ object: 'embedding', index: d.index, embedding: d.embedding })),
    model: clientModel,
    usage: { prompt_tokens: res.usage.prompt_tokens, total_tokens: res.usage.prompt_tokens },
  };
}
