// The queue between a producer that pushes (the stream decoder, fed body pieces by undici's socket
// parser) and a reader that pulls (for await): items wait here until read, a reader already waiting
// is handed the next one directly, the producer is asked to pause above a high-water mark and
// resumed once the reader has brought the queue down to a low-water mark; the end or a failure
// reaches the reader after the items pushed before it. A plain async iterator: a queued item costs
// the reader one resolved promise, with no async step of its own per push.

import type { BodySink } from './upstream-exchange.ts';

export interface PushQueueHooks {
  /** The reader caught up after push() asked the producer to pause. */
  resume(): void;
  /** What the reader sees instead of a failure (default: the failure itself). */
  mapError?(error: unknown): unknown;
  /** Runs once when the reader is done: it reached the end or the failure, or stopped early. */
  close?(): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

type Waiter<T> = { resolve(result: IteratorResult<T>): void; reject(error: unknown): void };

export class PushQueue<T> implements AsyncIterableIterator<T>, BodySink<T> {
  /** Items not yet read, from `head` on. */
  private readonly items: T[] = [];
  private head = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private closed = false;
  private paused = false;
  private waiter: Waiter<T> | undefined;

  constructor(
    private readonly highWater: number,
    private readonly lowWater: number,
    private readonly hooks: PushQueueHooks,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  // The producer's side (BodySink).

  /** Queues an item; false asks the producer to pause until hooks.resume(). */
  push(item: T): boolean {
    if (this.ended || this.failure || this.closed) return true;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ done: false, value: item });
      return true;
    }
    this.items.push(item);
    if (this.items.length - this.head < this.highWater) return true;
    this.paused = true;
    return false;
  }

  end(): void {
    if (this.ended || this.failure) return;
    this.ended = true;
    this.wake();
  }

  fail(error: unknown): void {
    if (this.ended || this.failure) return;
    this.failure = { error };
    this.wake();
  }

  // The reader's side.

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) return Promise.resolve({ done: false, value: this.take() });
    return this.settledEnd() ?? new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader stopped early. */
  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /** A waiting reader (so nothing is queued) learns of the end or the failure. */
  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    this.settledEnd()!.then(waiter.resolve, waiter.reject);
  }

  private take(): T {
    const item = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    if (this.paused && this.items.length - this.head <= this.lowWater) {
      this.paused = false;
      this.hooks.resume();
    }
    return item;
  }

  /** With nothing queued: how the reading ends, or undefined while more may come. */
  private settledEnd(): Promise<IteratorResult<T>> | undefined {
    if (this.closed) return Promise.resolve(DONE);
    if (this.failure) {
      const { error } = this.failure;
      this.close();
      return Promise.reject(this.hooks.mapError ? this.hooks.mapError(error) : error);
    }
    if (this.ended) {
      this.close();
      return Promise.resolve(DONE);
    }
    return undefined;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hooks.close?.();
  }
}
