// An upstream SSE body as a canonical stream, through an adapter's synchronous StreamDecoder.
// The upstream exchange pushes each body piece in as it arrives; the piece is split and parsed
// at once and its chunks wait in a PushQueue until the reader takes them, so the relay adds no
// async step of its own per piece.

import type { CanonicalChunk } from '../api/canonical.ts';
import { PushQueue } from './push-queue.ts';
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

export class DecodedStream implements AsyncIterableIterator<CanonicalChunk>, BodySink {
  private readonly sse = new SseDecoder();
  private readonly events: SseEvent[] = [];
  /** The chunks of the piece being decoded, before they are queued. */
  private readonly decoded: CanonicalChunk[] = [];
  private readonly chunks: PushQueue<CanonicalChunk>;
  /** Nothing more will be decoded (the body ended, failed, or the decoder said the stream is complete). */
  private finished = false;
  /** Handed to the reader once the chunks decoded before it have been read, as one by one they would have been. */
  private failure: { error: unknown } | undefined;
  private sawDelta = false;

  constructor(
    private readonly decoder: StreamDecoder,
    private readonly hooks: DecodedStreamHooks,
  ) {
    this.chunks = new PushQueue(HIGH_WATER_CHUNKS, LOW_WATER_CHUNKS, hooks);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Every event the reader needs was decoded without failure (the transfer may still be ending). */
  get completed(): boolean {
    return this.finished && !this.failure;
  }

  // The upstream side (BodySink).

  push(piece: Buffer): boolean {
    if (this.finished) return true;
    this.decode(piece);
    return this.hand();
  }

  end(): void {
    if (this.finished) return;
    this.decode(undefined);
    this.hand();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = { error };
    this.chunks.fail(error);
  }

  // The reader's side.

  next(): Promise<IteratorResult<CanonicalChunk>> {
    return this.chunks.next();
  }

  /** The reader stopped early: stop the upstream. */
  return(): Promise<IteratorResult<CanonicalChunk>> {
    return this.chunks.return();
  }

  /** Decodes a body piece (or the body's end) into `decoded`; a decoding failure ends the stream. */
  private decode(piece: Buffer | undefined): void {
    const events = piece === undefined ? this.sse.end(this.events) : this.sse.push(piece, this.events);
    try {
      // At the body's end, the last event (one not followed by a blank line) is still decoded.
      let complete = false;
      for (let i = 0; i < events.length && !complete; i++) complete = this.decoder.event(events[i], this.decoded);
      if (complete || piece === undefined) {
        this.finished = true;
        // The closing chunks (usage) once no more events will come; throws when the stream was cut short.
        this.decoder.end(this.decoded);
      }
    } catch (error) {
      this.finished = true;
      this.failure = { error };
    }
    events.length = 0;
    if (!this.sawDelta) {
      for (const chunk of this.decoded) {
        if (chunk.type !== 'delta') continue;
        this.sawDelta = true;
        this.hooks.firstDelta();
        break;
      }
    }
  }

  /** Queues what was decoded, then the stream's end or failure; false asks the transfer to pause. */
  private hand(): boolean {
    let accepting = true;
    for (const chunk of this.decoded) accepting = this.chunks.push(chunk);
    this.decoded.length = 0;
    if (this.failure) this.chunks.fail(this.failure.error);
    else if (this.finished) this.chunks.end();
    return accepting;
  }
}
