// A streamed upstream body as an async iterable of its pieces, for adapters that parse SSE
// events through async generators (no synchronous StreamDecoder). The exchange pushes pieces in;
// the reader pulls them out; the transfer pauses while the reader is far behind.

import type { BodySink } from './upstream-exchange.ts';

/** Pieces waiting for the reader beyond which the upstream transfer is paused. */
const HIGH_WATER_PIECES = 64;

type Waiter = { resolve(result: IteratorResult<Buffer>): void; reject(error: unknown): void };

export class BodyQueue implements AsyncIterableIterator<Buffer>, BodySink {
  private readonly pieces: Buffer[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private paused = false;
  private waiter: Waiter | undefined;

  constructor(private readonly resumeTransfer: () => void) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  push(piece: Buffer): boolean {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ done: false, value: piece });
      return true;
    }
    this.pieces.push(piece);
    if (this.pieces.length < HIGH_WATER_PIECES) return true;
    this.paused = true;
    return false;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.wake();
  }

  next(): Promise<IteratorResult<Buffer>> {
    const piece = this.pieces.shift();
    if (this.paused && this.pieces.length <= HIGH_WATER_PIECES / 4) {
      this.paused = false;
      this.resumeTransfer();
    }
    if (piece) return Promise.resolve({ done: false, value: piece });
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    if (this.failure) waiter.reject(this.failure.error);
    else waiter.resolve({ done: true, value: undefined });
  }
}
