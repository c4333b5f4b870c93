// Canonical stream -> OpenAI SSE (chat.completion.chunk or text_completion chunks), ending in [DONE].

import type { CanonicalChunk, CanonicalRequest, CanonicalStream, ToolCallDelta } from '../canonical.ts';
import { encodeSse } from '../../providers/sse.ts';
import { openAIFinishReason, openAIUsage } from './response.ts';

export function renderOpenAIStream(req: CanonicalRequest, stream: CanonicalStream, clientModel: string): AsyncIterableIterator<string> {
  return new OpenAIStreamRenderer(req, stream, clientModel);
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A plain async iterator rather than an async generator: each rendered chunk is one promise step
 * on top of the source's, not a generator's several, on a path every streamed token takes.
 */
class OpenAIStreamRenderer implements AsyncIterableIterator<string> {
  private readonly source: AsyncIterator<CanonicalChunk>;
  private readonly chat: boolean;
  private readonly object: string;
  /** The client sees `usage: null` on every chunk only when it asked for usage, as OpenAI does. */
  private readonly usageField: string;
  private head = '';
  private id = '';
  private created = 0;
  private ended = false;

  constructor(
    private readonly req: CanonicalRequest,
    stream: CanonicalStream,
    private readonly clientModel: string,
  ) {
    this.source = stream[Symbol.asyncIterator]();
    this.chat = req.kind === 'chat';
    this.object = this.chat ? 'chat.completion.chunk' : 'text_completion';
    this.usageField = req.includeUsage ? ',"usage":null' : '';
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<string>> {
    if (this.ended) return Promise.resolve(DONE);
    return this.source.next().then((r) => this.step(r));
  }

  /** The reader stopped early: stop the source (which settles the request's stream observers). */
  async return(): Promise<IteratorResult<string>> {
    if (!this.ended) {
      this.ended = true;
      await this.source.return?.();
    }
    return DONE;
  }

  private step(r: IteratorResult<CanonicalChunk>): IteratorResult<string> | Promise<IteratorResult<string>> {
    if (r.done) {
      this.ended = true;
      return { done: false, value: encodeSse('[DONE]') };
    }
    const text = this.render(r.value);
    // Chunks that render to nothing (start, usage not asked for): read on.
    return text === undefined ? this.next() : { done: false, value: text };
  }

  private render(chunk: CanonicalChunk): string | undefined {
    if (chunk.type === 'start') {
      this.id = chunk.id;
      this.created = chunk.created;
      this.head = `{"id":${JSON.stringify(this.id)},"object":"${this.object}","created":${this.created},"model":${JSON.stringify(this.clientModel)},"choices":[`;
      return undefined;
    }
    if (chunk.type === 'usage') {
      if (!this.req.includeUsage) return undefined;
      const { id, object, created, clientModel } = this;
      return encodeSse(JSON.stringify({ id, object, created, model: clientModel, choices: [], usage: openAIUsage(chunk.usage) }));
    }
    // The chunk's shape is fixed, so it is written as text: only the strings the upstream sent go
    // through JSON.stringify (for escaping), with the same keys in the same order as an object would.
    const finish = openAIFinishReason(chunk.finish_reason);
    const finishField = finish === null ? 'null' : `"${finish}"`;
    let choice: string;
    if (this.chat) {
      let delta = chunk.role ? `"role":${JSON.stringify(chunk.role)}` : '';
      if (chunk.text !== undefined) delta += `${delta ? ',' : ''}"content":${JSON.stringify(chunk.text)}`;
      if (chunk.tool_calls) delta += `${delta ? ',' : ''}"tool_calls":${JSON.stringify(chunk.tool_calls.map(renderToolCall))}`;
      choice = `{"index":${chunk.index},"delta":{${delta}},"logprobs":null,"finish_reason":${finishField}}`;
    } else {
      choice = `{"index":${chunk.index},"text":${JSON.stringify(chunk.text ?? '')},"logprobs":null,"finish_reason":${finishField}}`;
    }
    return `data: ${this.head}${choice}]${this.usageField}}\n\n`;
  }
}

function renderToolCall(t: ToolCallDelta): Record<string, unknown> {
  const call: Record<string, unknown> = { index: t.index };
  if (t.id !== undefined) {
    call.id = t.id;
    call.type = 'function';
  }
  const fn: Record<string, unknown> = {};
  if (t.name !== undefined) fn.name = t.name;
  if (t.arguments !== undefined) fn.arguments = t.arguments;
  call.function = fn;
  return call;
}
