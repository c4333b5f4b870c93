// OpenAI-format upstream SSE -> canonical chunks.

import type { CanonicalChunk, CanonicalRequest, ToolCallDelta, Usage } from '../../api/canonical.ts';
import { GatewayError } from '../../api/errors.ts';
import type { SseEvent } from '../sse.ts';
import { estimatePromptTokens, estimateTokens } from '../estimate.ts';
import { canonicalFinishReason, canonicalUsage } from './response.ts';

type Json = Record<string, unknown>;

function upstreamStreamError(body: Json): GatewayError {
  const err = (body.error ?? {}) as Json;
  const message = typeof err.message === 'string' ? err.message : 'unknown error';
  return new GatewayError('upstream_error', `The upstream failed mid-stream: ${message}`, { code: 'upstream_stream_error' });
}

export async function* parseOpenAIFormatStream(req: CanonicalRequest, events: AsyncIterable<SseEvent>): AsyncGenerator<CanonicalChunk> {
  let started = false;
  let usage: Usage | undefined;
  let done = false;
  let completionEstimate = 0;
  const finished = new Set<number>();

  for await (const event of events) {
    if (event.data === '[DONE]') {
      done = true;
      break;
    }
    let body: Json;
    try {
      body = JSON.parse(event.data) as Json;
    } catch {
      throw new GatewayError('upstream_error', 'The upstream sent a malformed stream chunk.', { code: 'upstream_malformed_response' });
    }
    if (body.error !== undefined && body.error !== null) throw upstreamStreamError(body);
    if (!started) {
      started = true;
      yield {
        type: 'start',
        id: String(body.id ?? ''),
        created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
        upstreamModel: String(body.model ?? ''),
      };
    }
    const chunkUsage = canonicalUsage(body.usage);
    if (chunkUsage) usage = chunkUsage;
    const choices = body.choices;
    if (!Array.isArray(choices)) continue;
    for (const raw of choices as Json[]) {
      const index = typeof raw.index === 'number' ? raw.index : 0;
      const finish = canonicalFinishReason(raw.finish_reason);
      if (finish) finished.add(index);
      const chunk: CanonicalChunk & { type: 'delta' } = { type: 'delta', index };
      if (req.kind === 'chat') {
        const delta = (raw.delta ?? {}) as Json;
        if (delta.role === 'assistant') chunk.role = 'assistant';
        if (typeof delta.content === 'string') {
          chunk.text = delta.content;
          completionEstimate += estimateTokens(delta.content) > 0 ? 1 : 0;
        }
        if (Array.isArray(delta.tool_calls)) {
          chunk.tool_calls = (delta.tool_calls as Json[]).map((t, i) => {
            const fn = (t.function ?? {}) as Json;
            const out: ToolCallDelta = { index: typeof t.index === 'number' ? t.index : i };
            if (typeof t.id === 'string') out.id = t.id;
            if (typeof fn.name === 'string') out.name = fn.name;
            if (typeof fn.arguments === 'string') out.arguments = fn.arguments;
            return out;
          });
          completionEstimate += 1;
        }
      } else if (typeof raw.text === 'string') {
        chunk.text = raw.text;
        completionEstimate += raw.text.length > 0 ? 1 : 0;
      }
      if (finish) chunk.finish_reason = finish;
      if (chunk.role || chunk.text !== undefined || chunk.tool_calls || chunk.finish_reason) yield chunk;
    }
  }
  // Some engines omit [DONE]; a stream is complete when every choice has finished.
  const expectedChoices = req.params.n ?? 1;
  if (!done && finished.size < expectedChoices) {
    throw new GatewayError('upstream_error', 'The upstream stream ended before the response was complete.', { code: 'upstream_stream_truncated' });
  }
  yield { type: 'usage', usage: usage ?? { prompt_tokens: estimatePromptTokens(req), completion_tokens: completionEstimate } };
}
