// OpenAI-format upstream SSE -> canonical chunks.

import type { CanonicalChunk, CanonicalRequest, ToolCallDelta, Usage } from '../../api/canonical.ts';
import { GatewayError } from '../../api/errors.ts';
import type { SseEvent } from '../sse.ts';
import { estimatePromptTokens, estimateTokens } from '../../api/estimate.ts';
import { canonicalFinishReason, canonicalUsage } from './response.ts';

type Json = Record<string, unknown>;

function upstreamStreamError(body: Json): GatewayError {
  const err = (body.error ?? {}) as Json;
  const message = typeof err.message === 'string' ? err.message : 'unknown error';
  return new GatewayError('upstream_error', `The upstream failed mid-stream: ${message}`, { code: 'upstream_stream_error' });
}

/**
 * The parser as a plain object fed one SSE event at a time: the relay drives it synchronously
 * from each body piece (see StreamDecoder in ../types.ts), so no async layer per event.
 */
export class OpenAIFormatStreamDecoder {
  private started = false;
  private usage: Usage | undefined;
  private done = false;
  private completionEstimate = 0;
  private readonly finished = new Set<number>();
  private readonly chat: boolean;

  constructor(private readonly req: CanonicalRequest) {
    this.chat = req.kind === 'chat';
  }

  /** Appends the event's chunks to `out`; true once the stream is complete ([DONE]): read no further. */
  event(event: SseEvent, out: CanonicalChunk[]): boolean {
    if (event.data === '[DONE]') {
      this.done = true;
      return true;
    }
    let body: Json;
    try {
      body = JSON.parse(event.data) as Json;
    } catch {
      throw new GatewayError('upstream_error', 'The upstream sent a malformed stream chunk.', { code: 'upstream_malformed_response' });
    }
    if (body.error !== undefined && body.error !== null) throw upstreamStreamError(body);
    if (!this.started) {
      this.started = true;
      out.push({
        type: 'start',
        id: String(body.id ?? ''),
        created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
        upstreamModel: String(body.model ?? ''),
      });
    }
    if (body.usage !== undefined) {
      const chunkUsage = canonicalUsage(body.usage);
      if (chunkUsage) this.usage = chunkUsage;
    }
    const choices = body.choices;
    if (!Array.isArray(choices)) return false;
    for (const raw of choices as Json[]) {
      const index = typeof raw.index === 'number' ? raw.index : 0;
      const finish = canonicalFinishReason(raw.finish_reason);
      if (finish) this.finished.add(index);
      const chunk: CanonicalChunk & { type: 'delta' } = { type: 'delta', index };
      if (this.chat) {
        const delta = (raw.delta ?? {}) as Json;
        if (delta.role === 'assistant') chunk.role = 'assistant';
        if (typeof delta.content === 'string') {
          chunk.text = delta.content;
          this.completionEstimate += estimateTokens(delta.content) > 0 ? 1 : 0;
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
          this.completionEstimate += 1;
        }
      } else if (typeof raw.text === 'string') {
        chunk.text = raw.text;
        this.completionEstimate += raw.text.length > 0 ? 1 : 0;
      }
      if (finish) chunk.finish_reason = finish;
      if (chunk.role || chunk.text !== undefined || chunk.tool_calls || chunk.finish_reason) out.push(chunk);
    }
    return false;
  }

  /** The events ran out (or [DONE] came): appends the closing usage chunk, or throws if truncated. */
  end(out: CanonicalChunk[]): void {
    // Some engines omit [DONE]; a stream is complete when every choice has finished.
    const expectedChoices = this.req.params.n ?? 1;
    if (!this.done && this.finished.size < expectedChoices) {
      throw new GatewayError('upstream_error', 'The upstream stream ended before the response was complete.', { code: 'upstream_stream_truncated' });
    }
    out.push({ type: 'usage', usage: this.usage ?? { prompt_tokens: estimatePromptTokens(this.req), completion_tokens: this.completionEstimate } });
  }
}
