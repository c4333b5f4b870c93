// The one wrapper of a response stream. It relays the chunks read ahead while priming (a stream is
// read up to its first token so failures before it can be retried elsewhere), then the rest of the
// source; it notes the first token's time, hands each chunk to the onChunk handlers, and when the
// stream ends, however it ends, closes the source and ends the request. Stages observe the stream
// through the context; they never wrap it, as each wrapper would cost an async step per chunk.

import { performance } from 'node:perf_hooks';
import type { CanonicalChunk, CanonicalStream, Usage } from '../api/canonical.ts';
import { estimatePromptTokens } from '../api/estimate.ts';
import type { RequestContext } from './context.ts';
import { streamEnd, type Ending } from './lifecycle.ts';

/** Sets the request's result to its response stream, wrapped once. */
export function respondWithStream(ctx: RequestContext, source: AsyncIterator<CanonicalChunk>, readAhead: readonly CanonicalChunk[] = [], sourceDone = false): void {
  ctx.result = { type: 'stream', stream: new ObservedStream(ctx, readAhead, source, sourceDone) };
}

export function isObserved(stream: CanonicalStream): boolean {
  return stream instanceof ObservedStream;
}

/**
 * A client that leaves before its stream is read ends the request here. Only streams get this
 * listener: one on every JSON request would keep its objects alive past young-generation collections.
 */
export function watchDeparture(ctx: RequestContext): void {
  const stream = ctx.result?.type === 'stream' ? ctx.result.stream : undefined;
  if (!(stream instanceof ObservedStream)) return;
  const onAbort = () => {
    if (!stream.started) void stream.return();
  };
  if (ctx.signal.aborted) {
    onAbort();
    return;
  }
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  ctx.onEnd(() => ctx.signal.removeEventListener('abort', onAbort));
}

/** Whether the client has begun reading the request's stream (so its end, not the departure watch, ends it). */
export function streamStarted(stream: CanonicalStream): boolean {
  return stream instanceof ObservedStream && stream.started;
}

/** A plain iterator rather than an async generator: one promise step per chunk instead of several. */
class ObservedStream implements AsyncIterableIterator<CanonicalChunk> {
  started = false;
  private index = 0;
  private ended = false;
  private usage: Usage | undefined = undefined;
  private relayed = 0;

  constructor(
    private readonly ctx: RequestContext,
    private readonly readAhead: readonly CanonicalChunk[],
    private readonly source: AsyncIterator<CanonicalChunk>,
    private readonly sourceDone: boolean,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<CanonicalChunk>> {
    this.started = true;
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.index < this.readAhead.length) {
      const chunk = this.readAhead[this.index++];
      this.note(chunk);
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.sourceDone) return this.finish('stream_completed', undefined).then(() => ({ done: true, value: undefined }));
    return this.source.next().then(
      (result) => {
        if (result.done) return this.finish('stream_completed', undefined).then(() => result);
        this.note(result.value);
        return result;
      },
      (err: unknown) => this.finish('stream_failed', err).then(() => Promise.reject(err as Error)),
    );
  }

  /** The reader stopped early (client gone, or a failure downstream): close the source, then end. */
  async return(): Promise<IteratorResult<CanonicalChunk>> {
    this.started = true;
    await this.finish('stream_abandoned', undefined);
    return { done: true, value: undefined };
  }

  private note(chunk: CanonicalChunk): void {
    if (chunk.type === 'delta') {
      if (chunk.text || chunk.tool_calls) {
        this.relayed += 1;
        if (this.ctx.firstTokenAt === undefined) this.ctx.firstTokenAt = performance.now();
      }
    } else if (chunk.type === 'usage') this.usage = chunk.usage;
    const handlers = this.ctx.chunkHandlers;
    if (handlers) for (const handler of handlers) handler(chunk);
  }

  private async finish(ending: Extract<Ending, `stream_${string}`>, failure: unknown): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const { ctx } = this;
    try {
      // Closes the upstream side first (frees the connection, stops generation for a departed client).
      await this.source.return?.();
    } finally {
      const request = ctx.request;
      ctx.finish(streamEnd(ending, failure, ctx.signal.aborted, this.usage, this.relayed, () => (request ? estimatePromptTokens(request) : 0)));
    }
  }
}
