// An upstream SSE body as a canonical stream, through an adapter's synchronous StreamDecoder.
// A plain async iterator, not a generator: each body piece is split and parsed in one go and its
// chunks are then handed out from an array with one resolved promise each, so a burst of events
// in one piece costs one await for the piece instead of a generator step (or two) per chunk.

import type { CanonicalChunk } from '../api/canonical.ts';
import { SseDecoder, type SseEvent } from './sse.ts';
import type { StreamDecoder } from './types.ts';

export interface DecodedStreamHooks {
  /** The first delta is about to be handed out (stops the first-token timer). */
  firstDelta(): void;
  /** What the reader sees when reading or decoding failed (transport errors become GatewayErrors). */
  mapError(err: unknown): unknown;
  /** Runs once when the stream is over, however it ended: timers, the body. */
  close(): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class DecodedStream implements AsyncIterableIterator<CanonicalChunk> {
  private readonly sse = new SseDecoder();
  private readonly events: SseEvent[] = [];
  private readonly body: AsyncIterator<Uint8Array | string>;
  /** Chunks of the current piece, handed out from `index` on. */
  private out: CanonicalChunk[] = [];
  private index = 0;
  /** Nothing more is to be read from the body (it ended, or the decoder said the stream is complete). */
  private finished = false;
  /** Thrown once the chunks decoded before it have been handed out, as one by one they would have been. */
  private failure: { error: unknown } | undefined;
  private closed = false;
  private sawDelta = false;

  constructor(
    body: AsyncIterable<Uint8Array | string>,
    private readonly decoder: StreamDecoder,
    private readonly hooks: DecodedStreamHooks,
  ) {
    this.body = body[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<CanonicalChunk>> {
    if (this.index < this.out.length) return Promise.resolve({ done: false, value: this.out[this.index++] });
    return this.read();
  }

  /** The reader stopped early: stop the upstream. */
  return(): Promise<IteratorResult<CanonicalChunk>> {
    this.close();
    return Promise.resolve(DONE);
  }

  private async read(): Promise<IteratorResult<CanonicalChunk>> {
    for (;;) {
      if (this.closed) return DONE;
      if (this.failure) {
        const { error } = this.failure;
        this.close();
        throw this.hooks.mapError(error);
      }
      if (this.finished) {
        this.close();
        return DONE;
      }
      this.out = [];
      this.index = 0;
      try {
        const piece = await this.body.next();
        if (this.closed) return DONE;
        if (piece.done) {
          this.finished = true;
          this.decode(this.sse.end(this.events));
        } else this.decode(this.sse.push(piece.value, this.events));
      } catch (error) {
        this.failure = { error };
      }
      this.events.length = 0;
      if (!this.sawDelta && this.out.some((c) => c.type === 'delta')) {
        this.sawDelta = true;
        this.hooks.firstDelta();
      }
      if (this.index < this.out.length) return { done: false, value: this.out[this.index++] };
    }
  }

  private decode(events: readonly SseEvent[]): void {
    let complete = false;
    for (let i = 0; i < events.length && !complete; i++) complete = this.decoder.event(events[i], this.out);
    if (complete) this.finished = true;
    // The closing chunks (usage) once no more events will come; throws when the stream was cut short.
    if (this.finished) this.decoder.end(this.out);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.close();
  }
}
