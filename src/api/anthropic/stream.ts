// Canonical stream -> Anthropic SSE: message_start, content blocks (start / deltas / stop, indices in
// final-content order), message_delta with stop reason and cumulative usage, message_stop.
//
// Anthropic blocks are strictly sequential: once a block stops it can never grow again. OpenAI-format
// streams are not: some engines announce every tool call before sending any arguments, or interleave
// fragments of parallel calls. So a block stays open until it is provably finished (text: anything
// else arrived; tool call: its arguments form a complete JSON object, or the choice finished), and
// whatever arrives for later blocks meanwhile is held, in arrival order, and replayed verbatim when
// their turn comes. No fragment is dropped or reordered.

import { randomUUID } from 'node:crypto';
import type { CanonicalRequest, CanonicalStream, FinishReason, ToolCallDelta, Usage } from '../canonical.ts';
import { encodeSse } from '../../providers/sse.ts';
import { estimatePromptTokens } from '../estimate.ts';
import { anthropicMessageId, anthropicStopReason, anthropicUsage } from './response.ts';

interface TextBlock {
  kind: 'text';
  /** Text not yet written to the client. */
  held: string;
}

interface ToolBlock {
  kind: 'tool';
  id?: string;
  name?: string;
  /** Argument fragments already written (to know when the JSON object is complete). */
  sent: string;
  /** Argument fragments that arrived before this block could be opened. */
  held: string;
  closed: boolean;
}

type Block = TextBlock | ToolBlock;

function event(type: string, payload: Record<string, unknown>): string {
  return encodeSse(JSON.stringify({ type, ...payload }), type);
}

/** Function arguments are always a JSON object, and nothing can follow a complete one but whitespace. */
function isCompleteObject(json: string): boolean {
  const trimmed = json.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}

/** Turns canonical deltas of one choice into Anthropic content-block events. */
export class ContentBlockWriter {
  private nextIndex = 0;
  private open: { block: Block; index: number } | null = null;
  private readonly queue: Block[] = [];
  private readonly tools = new Map<number, ToolBlock>();
  toolUseCount = 0;

  text(text: string, out: string[]): void {
    if (text === '') return;
    if (this.open?.block.kind === 'text' && this.queue.length === 0) {
      out.push(this.textDelta(this.open.index, text));
      return;
    }
    const last = this.queue.at(-1);
    if (last?.kind === 'text') last.held += text;
    else this.queue.push({ kind: 'text', held: text });
    this.advance(out);
  }

  tool(delta: ToolCallDelta, out: string[]): void {
    let tool = this.tools.get(delta.index);
    if (!tool) {
      tool = { kind: 'tool', sent: '', held: '', closed: false };
      this.tools.set(delta.index, tool);
      this.queue.push(tool);
    }
    if (delta.id && tool.id === undefined) tool.id = delta.id;
    if (delta.name && tool.name === undefined) tool.name = delta.name;
    const fragment = delta.arguments ?? '';
    if (fragment !== '') {
      if (this.open?.block === tool) {
        tool.sent += fragment;
        out.push(this.jsonDelta(this.open.index, fragment));
      } else if (!tool.closed) {
        tool.held += fragment;
      }
      // A closed tool's arguments were already a complete JSON object; anything after it could only
      // be whitespace (or would have made the input invalid), so there is nothing to lose here.
    }
    this.advance(out);
  }

  /** The choice finished: every held block is opened, replayed and closed in arrival order. */
  finish(out: string[]): void {
    if (this.open) this.closeOpen(out);
    while (this.queue.length > 0) {
      this.openBlock(this.queue.shift()!, out);
      this.closeOpen(out);
    }
  }

  private advance(out: string[]): void {
    while (this.queue.length > 0) {
      if (this.open) {
        if (this.open.block.kind === 'tool' && !isCompleteObject(this.open.block.sent)) return;
        this.closeOpen(out);
      }
      const head = this.queue[0];
      // A tool_use block cannot start without its name; it (and everything behind it) waits.
      if (head.kind === 'tool' && head.name === undefined) return;
      this.queue.shift();
      this.openBlock(head, out);
    }
  }

  private openBlock(block: Block, out: string[]): void {
    const index = this.nextIndex++;
    this.open = { block, index };
    if (block.kind === 'text') {
      out.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      if (block.held !== '') out.push(this.textDelta(index, block.held));
      block.held = '';
      return;
    }
    this.toolUseCount++;
    block.id ??= `toolu_${randomUUID().replace(/-/g, '')}`;
    out.push(event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name ?? '', input: {} } }));
    if (block.held !== '') {
      block.sent = block.held;
      out.push(this.jsonDelta(index, block.held));
    }
    block.held = '';
  }

  private closeOpen(out: string[]): void {
    if (!this.open) return;
    if (this.open.block.kind === 'tool') this.open.block.closed = true;
    out.push(event('content_block_stop', { index: this.open.index }));
    this.open = null;
  }

  private textDelta(index: number, text: string): string {
    return event('content_block_delta', { index, delta: { type: 'text_delta', text } });
  }

  private jsonDelta(index: number, partialJson: string): string {
    return event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: partialJson } });
  }
}

export async function* renderAnthropicStream(req: CanonicalRequest, stream: CanonicalStream, clientModel: string): AsyncGenerator<string> {
  const blocks = new ContentBlockWriter();
  let started = false;
  let finishReason: FinishReason | null = null;
  let stopSequence: string | null = null;
  let usage: Usage | undefined;

  function start(id: string): string {
    started = true;
    // The real input count arrives only with the final usage chunk (OpenAI-format upstreams report it
    // last), so message_start carries an estimate and message_delta the exact, cumulative figures.
    return event('message_start', {
      message: {
        id: anthropicMessageId(id, req.meta.requestId),
        type: 'message',
        role: 'assistant',
        model: clientModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: estimatePromptTokens(req), output_tokens: 0 },
      },
    });
  }

  for await (const chunk of stream) {
    const out: string[] = [];
    if (chunk.type === 'start') {
      if (!started) out.push(start(chunk.id));
    } else {
      if (!started) out.push(start(''));
      if (chunk.type === 'usage') {
        usage = chunk.usage;
      } else if (chunk.index === 0) {
        if (chunk.text !== undefined) blocks.text(chunk.text, out);
        for (const call of chunk.tool_calls ?? []) blocks.tool(call, out);
        if (chunk.finish_reason) {
          finishReason = chunk.finish_reason;
          stopSequence = chunk.stop_sequence ?? null;
          blocks.finish(out);
        }
      }
    }
    for (const text of out) yield text;
  }

  const out: string[] = [];
  if (!started) out.push(start(''));
  blocks.finish(out);
  const stopReason = anthropicStopReason(finishReason, stopSequence, blocks.toolUseCount > 0);
  out.push(
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: stopReason === 'stop_sequence' ? stopSequence : null },
      // Providers always end with a usage chunk; the estimate only covers a provider that broke that rule.
      usage: anthropicUsage(usage ?? { prompt_tokens: estimatePromptTokens(req), completion_tokens: 0 }),
    }),
  );
  out.push(event('message_stop', {}));
  for (const text of out) yield text;
}
