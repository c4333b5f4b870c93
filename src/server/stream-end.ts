// One pass over a response stream for every stage that only needs to know how it ended (routing
// settle, limit settle, metering). Each of them used to wrap the stream in its own async
// generator, so every chunk crossed one more async step per stage; now they register a callback
// on the request context and a single wrapper runs them all, once, when the stream ends.

import { performance } from 'node:perf_hooks';
import type { CanonicalChunk, Usage } from '../api/canonical.ts';
import type { RequestContext } from './context.ts';

export interface StreamOutcome {
  /** The stream was read to its end (not failed, not abandoned by the reader). */
  completed: boolean;
  /** It threw: an upstream error, a timeout or the cancellation of a departed client. */
  failed: boolean;
  error: unknown;
  /** The usage chunk, when one was relayed. */
  usage: Usage | undefined;
  /** Delta chunks relayed that carried text or tool calls, so a stream cut short is charged for them. */
  relayed: number;
}

export type StreamEndObserver = (outcome: StreamOutcome) => void;

/** The request's end-of-stream observers; lives on the context (ctx.streamEnd). */
export class StreamEnd {
  readonly observers: StreamEndObserver[] = [];
  /** Reading has begun; from then on the stream's end runs the observers, however it ends. */
  started = false;
}

/**
 * Runs `observer` when the request's response stream ends. Observers run in the order they were
 * registered, which is innermost stage first (a stage registers after its next() returned), as
 * the finally blocks of nested wrappers did.
 */
export function onStreamEnd(ctx: RequestContext, observer: StreamEndObserver): void {
  (ctx.streamEnd ??= new StreamEnd()).observers.push(observer);
}

/** Whether the response stream is being read (so its end, not the caller, settles what it holds). */
export function streamStarted(ctx: RequestContext): boolean {
  return ctx.streamEnd?.started ?? false;
}

/**
 * The one wrapper: relays `buffered` (chunks read ahead while priming) and then the rest of
 * `source`, tracks usage, relayed tokens and the first token's time, and at the end closes the
 * source and runs the observers, exactly once however the stream ends (read to the end, failed,
 * or abandoned by its reader through return()). A plain iterator rather than an async generator:
 * it passes each chunk on with one promise step instead of a generator's several.
 */
export function observeStream(
  ctx: RequestContext,
  buffered: readonly CanonicalChunk[],
  source: AsyncIterator<CanonicalChunk>,
  sourceDone: boolean,
): AsyncIterableIterator<CanonicalChunk> {
  return new ObservedStream(ctx, buffered, source, sourceDone);
}

class ObservedStream implements AsyncIterableIterator<CanonicalChunk> {
  private readonly end: StreamEnd;
  private readonly outcome: StreamOutcome = { completed: false, failed: false, error: undefined, usage: undefined, relayed: 0 };
  private index = 0;
  private started = false;
  private ended = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly buffered: readonly CanonicalChunk[],
    private readonly source: AsyncIterator<CanonicalChunk>,
    private readonly sourceDone: boolean,
  ) {
    this.end = ctx.streamEnd ??= new StreamEnd();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<CanonicalChunk>> {
    if (!this.started) {
      // As a generator's body would, reading starts at the first next(), not at creation.
      this.started = true;
      this.end.started = true;
    }
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.index < this.buffered.length) {
      const chunk = this.buffered[this.index++];
      this.note(chunk);
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.sourceDone) return this.finish(true).then(() => ({ done: true, value: undefined }));
    return this.source.next().then(
      (result) => {
        if (result.done) return this.finish(true).then(() => result);
        this.note(result.value);
        return result;
      },
      (err: unknown) => {
        this.outcome.failed = true;
        this.outcome.error = err;
        return this.finish(false).then(() => Promise.reject(err as Error));
      },
    );
  }

  /** The reader stopped early (client gone, or a failure downstream): close the source, then settle. */
  async return(): Promise<IteratorResult<CanonicalChunk>> {
    this.started = true;
    this.end.started = true;
    await this.finish(false);
    return { done: true, value: undefined };
  }

  private note(chunk: CanonicalChunk): void {
    if (chunk.type === 'delta') {
      if (chunk.text || chunk.tool_calls) {
        this.outcome.relayed += 1;
        if (this.ctx.firstTokenAt === undefined) this.ctx.firstTokenAt = performance.now();
      }
    } else if (chunk.type === 'usage') this.outcome.usage = chunk.usage;
  }

  private async finish(completed: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.outcome.completed = completed;
    try {
      // Closes the upstream side first (frees the connection, stops generation for a departed client).
      await this.source.return?.();
    } finally {
      runObservers(this.end.observers, this.outcome);
    }
  }
}

function runObservers(observers: readonly StreamEndObserver[], outcome: StreamOutcome): void {
  let failure: { error: unknown } | undefined;
  for (const observer of observers) {
    try {
      observer(outcome);
    } catch (error) {
      // One failing observer must not keep the others (a limit lease, the ledger) from settling.
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
