// An upstream SSE body as a canonical stream, through an adapter's synchronous StreamDecoder.
// The upstream exchange pushes each body piece in as it arrives; the piece is split and parsed
// at once and its chunks queue here until the reader takes them. A plain async iterator, not a
// generator: a queued chunk costs the reader one resolved promise, and a reader already waiting
// is handed the next chunk directly, so the relay adds no async step of its own per piece.

import type { CanonicalChunk } from '../api/canonical.ts';
import { SseDecoder, type SseEvent } from './sse.ts';
import type { StreamDecoder } from './types.ts';
import type { BodySink } from './upstream-exchange.ts';

export interface DecodedStreamHooks {
  /** The first delta was decoded (stops the first-token timer). */
  firstDelta(): void;
  /** What the reader sees when reading or decoding failed (transport errors become GatewayErrors). */
  mapError(err: unknown): unknown;
  /** Runs once when the stream is over, however it ended: timers, the upstream transfer. */
  close(): void;
  /** The reader caught up after the stream asked the transfer to pause. */
  resume(): void;
}

/** Decoded chunks waiting for the reader beyond which the upstream transfer is paused... */
const HIGH_WATER_CHUNKS = 1024;
/** ...until the reader has brought them down to this many. */
const LOW_WATER_CHUNKS = 256;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

type Waiter = { resolve(result: IteratorResult<CanonicalChunk>): void; reject(error: unknown): void };

export class DecodedStream implements AsyncIterableIterator<CanonicalChunk>, BodySink {
  private readonly sse = new SseDecoder();
  private readonly events: SseEvent[] = [];
  /** Decoded chunks not yet read, from `head` on. */
  private readonly queue: CanonicalChunk[] = [];
  private head = 0;
  /** Nothing more will be decoded (the body ended, failed, or the decoder said the stream is complete). */
  private finished = false;
  /** Thrown once the chunks decoded before it have been read, as one by one they would have been. */
  private failure: { error: unknown } | undefined;
  private closed = false;
  private sawDelta = false;
  private paused = false;
  private waiter: Waiter | undefined;

  constructor(
    private readonly decoder: StreamDecoder,
    private readonly hooks: DecodedStreamHooks,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Every event the reader needs was decoded without failure (the transfer may still be ending). */
  get completed(): boolean {
    return this.finished && !this.failure;
  }

  // The upstream side (BodySink).

  push(piece: Buffer): boolean {
    if (this.finished || this.closed) return true;
    this.decode(piece);
    this.deliver();
    if (this.queue.length - this.head < HIGH_WATER_CHUNKS) return true;
    this.paused = true;
    return false;
  }

  end(): void {
    if (this.finished || this.closed) return;
    this.decode(undefined);
    this.deliver();
  }

  fail(error: unknown): void {
    if (this.finished || this.closed) return;
    this.finished = true;
    this.failure = { error };
    this.deliver();
  }

  // The reader's side.

  next(): Promise<IteratorResult<CanonicalChunk>> {
    if (this.head < this.queue.length) return Promise.resolve({ done: false, value: this.take() });
    const settled = this.settledEnd();
    if (settled) return settled;
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader stopped early: stop the upstream. */
  return(): Promise<IteratorResult<CanonicalChunk>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /** Decodes a body piece (or the body's end) into the queue; a decoding failure ends the stream. */
  private decode(piece: Buffer | undefined): void {
    const events = piece === undefined ? this.sse.end(this.events) : this.sse.push(piece, this.events);
    const before = this.queue.length;
    try {
      let complete = piece === undefined;
      for (let i = 0; i < events.length && !complete; i++) complete = this.decoder.event(events[i], this.queue);
      if (complete) {
        this.finished = true;
        // The closing chunks (usage) once no more events will come; throws when the stream was cut short.
        this.decoder.end(this.queue);
      }
    } catch (error) {
      this.finished = true;
      this.failure = { error };
    }
    events.length = 0;
    if (!this.sawDelta) {
      for (let i = before; i < this.queue.length; i++) {
        if (this.queue[i].type !== 'delta') continue;
        this.sawDelta = true;
        this.hooks.firstDelta();
        break;
      }
    }
  }

  /** Hands a waiting reader the next chunk, or the stream's end. */
  private deliver(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.head < this.queue.length) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: this.take() });
      return;
    }
    const settled = this.settledEnd();
    if (settled) {
      this.waiter = undefined;
      settled.then(waiter.resolve, waiter.reject);
    }
  }

  private take(): CanonicalChunk {
    const chunk = this.queue[this.head++];
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.paused && this.queue.length - this.head <= LOW_WATER_CHUNKS) {
      this.paused = false;
      this.hooks.resume();
    }
    return chunk;
  }

  /** With nothing queued: how the stream ends, or undefined while more may come. */
  private settledEnd(): Promise<IteratorResult<CanonicalChunk>> | undefined {
    if (this.closed) return Promise.resolve(DONE);
    if (this.failure) {
      const { error } = this.failure;
      this.close();
      return Promise.reject(this.hooks.mapError(error));
    }
    if (this.finished) {
      this.close();
      return Promise.resolve(DONE);
    }
    return undefined;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.close();
  }
}
