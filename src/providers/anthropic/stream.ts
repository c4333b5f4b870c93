// Anthropic Messages SSE -> canonical chunks: `start`, deltas (text, tool-call fragments, finish), `usage`.

import type { CanonicalChunk, FinishReason } from '../../api/canonical.ts';
import { GatewayError } from '../../api/errors.ts';
import type { SseEvent } from '../sse.ts';
import type { StreamDecoder } from '../types.ts';
import { canonicalFinishReason, canonicalUsage, malformed, mergeUsage, type AnthropicUsageCounters } from './response.ts';

type Json = Record<string, unknown>;
type Delta = CanonicalChunk & { type: 'delta' };

function streamError(body: Json): GatewayError {
  const err = (body.error ?? {}) as Json;
  const message = typeof err.message === 'string' ? err.message : 'unknown error';
  // overloaded_error is the in-stream form of HTTP 529: worth retrying elsewhere, like a 503.
  if (err.type === 'overloaded_error') {
    return new GatewayError('overloaded', `The Anthropic upstream is overloaded: ${message}`, { code: 'upstream_overloaded' });
  }
  return new GatewayError('upstream_error', `The Anthropic upstream failed mid-stream: ${message}`, { code: 'upstream_stream_error' });
}

/**
 * Anthropic Messages SSE events -> canonical chunks, one event at a time (a StreamDecoder): the
 * relay drives it synchronously from each body piece. Usage in Anthropic streams is cumulative
 * (message_start, then each message_delta restates the totals), so counters are overwritten,
 * never summed; message_stop completes the stream, and a body that ends before it was cut short.
 */
export class AnthropicStreamDecoder implements StreamDecoder {
  private readonly usage: AnthropicUsageCounters = {};
  /** Content-block index -> tool-call ordinal, so tool calls are numbered 0, 1, ... as OpenAI does. */
  private readonly toolOrdinal = new Map<number, number>();
  /** The first delta carries the role, as OpenAI's first chunk does (see delta()). */
  private roleSent = false;
  private finished = false;
  private stopped = false;

  event(sse: SseEvent, out: CanonicalChunk[]): boolean {
    let body: Json;
    try {
      body = JSON.parse(sse.data) as Json;
    } catch {
      throw malformed('a stream event is not JSON');
    }
    const type = typeof body.type === 'string' ? body.type : sse.event;
    switch (type) {
      case 'message_start': {
        const message = (body.message ?? {}) as Json;
        mergeUsage(this.usage, message.usage);
        out.push({ type: 'start', id: String(message.id ?? ''), created: Math.floor(Date.now() / 1000), upstreamModel: String(message.model ?? '') });
        break;
      }
      case 'content_block_start': {
        const block = (body.content_block ?? {}) as Json;
        if (block.type === 'tool_use') {
          const ordinal = this.toolOrdinal.size;
          this.toolOrdinal.set(Number(body.index), ordinal);
          out.push(this.delta({ tool_calls: [{ index: ordinal, id: String(block.id ?? ''), name: String(block.name ?? ''), arguments: '' }] }));
        } else if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          out.push(this.delta({ text: block.text }));
        }
        break;
      }
      case 'content_block_delta': {
        const d = (body.delta ?? {}) as Json;
        if (d.type === 'text_delta' && typeof d.text === 'string') {
          out.push(this.delta({ text: d.text }));
        } else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && d.partial_json !== '') {
          const ordinal = this.toolOrdinal.get(Number(body.index));
          // Fragments of a server-tool block (not a tool_use we announced) have no canonical home.
          if (ordinal !== undefined) out.push(this.delta({ tool_calls: [{ index: ordinal, arguments: d.partial_json }] }));
        }
        // thinking_delta, signature_delta, citations_delta: dropped, the canonical shape has no slot.
        break;
      }
      case 'message_delta': {
        mergeUsage(this.usage, body.usage);
        const d = (body.delta ?? {}) as Json;
        const reason: FinishReason | null = canonicalFinishReason(d.stop_reason);
        if (reason && !this.finished) {
          this.finished = true;
          out.push(this.delta({ finish_reason: reason, stop_sequence: typeof d.stop_sequence === 'string' ? d.stop_sequence : null }));
        }
        break;
      }
      case 'message_stop':
        this.stopped = true;
        return true;
      case 'error':
        throw streamError(body);
      default:
        break; // ping, content_block_stop and event types added after this was written
    }
    return false;
  }

  end(out: CanonicalChunk[]): void {
    if (!this.stopped) {
      throw new GatewayError('upstream_error', 'The Anthropic upstream stream ended early, before message_stop.', { code: 'upstream_stream_truncated' });
    }
    // Canonical consumers expect every stream to say how it finished.
    if (!this.finished) out.push(this.delta({ finish_reason: 'stop' }));
    out.push({ type: 'usage', usage: canonicalUsage(this.usage) });
  }

  /**
   * A delta at choice 0. The role rides on the first one rather than on a chunk of its own at
   * message_start, because Anthropic sends message_start before generating: it is not a first token.
   */
  private delta(fields: Omit<Delta, 'type' | 'index'>): Delta {
    const chunk: Delta = { type: 'delta', index: 0, ...fields };
    if (!this.roleSent) {
      chunk.role = 'assistant';
      this.roleSent = true;
    }
    return chunk;
  }
}
