// One HTTP exchange with an upstream through undici's dispatch API rather than pool.request().
// request() wraps every response body in a Node Readable (stream state, events, an async
// iterator, an async resource): per relayed chunk the largest cost and allocator in profiles, and
// a good part of a JSON request's. Here the body's pieces go straight to their consumer: collected
// for a JSON answer or an error, or pushed as they arrive into a sink (the stream decoder).
// The handler speaks undici's controller-based handler protocol (onRequestStart, onResponseStart,
// onResponseData, onResponseEnd, onResponseError; the controller pauses, resumes and aborts the
// transfer): the only one undici 8 takes without a wrapper, and the one undici 7 also accepts.

import type { Dispatcher } from 'undici';

/** Where a streamed body's pieces go, as they arrive. */
export interface BodySink<Piece = Buffer> {
  /** A piece of the body; false asks the exchange to pause until `resume()`. */
  push(piece: Piece): boolean;
  /** The body is complete. */
  end(): void;
  /** The transfer failed (transport error, timeout, cancellation). */
  fail(error: unknown): void;
}

type Waiter<T> = { resolve(value: T): void; reject(error: unknown): void };

/** What undici's abort function receives; our own reason (a timeout, the client leaving) is kept apart. */
class ExchangeCancelled extends Error {
  constructor() {
    super('upstream call cancelled');
    this.name = 'ExchangeCancelled';
  }
}

type Controller = Dispatcher.DispatchController;

const NO_HEADERS: Record<string, string | string[] | undefined> = Object.freeze({});

export class UpstreamExchange implements Dispatcher.DispatchHandler {
  statusCode = 0;
  private responseHeaders: Record<string, string | string[] | undefined> = NO_HEADERS;
  /** Why the call was cancelled (a timeout, the client's reason); undefined while it was not. */
  reason: unknown;
  private cancelled = false;
  /** The transfer's controller, from the moment undici starts the request on a connection. */
  private controller: Controller | undefined;
  private headWaiter: Waiter<number> | undefined;
  /** Body pieces received before a sink was attached, or all of them when collecting. */
  private pieces: Buffer[] = [];
  private sink: BodySink | undefined;
  /** The sink refused a piece: later pieces wait in `pieces` (and undici is paused) until resume(). */
  private held = false;
  private bodyWaiter: Waiter<Buffer> | undefined;
  private complete = false;
  private failure: { error: unknown } | undefined;

  /** Sends the request on `dispatcher`; the returned promise settles with the response's status. */
  start(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<number> {
    const head = new Promise<number>((resolve, reject) => (this.headWaiter = { resolve, reject }));
    dispatcher.dispatch(options, this);
    return head;
  }

  /** Cancels the call: whoever waits on it sees `error`; undici closes the connection. */
  cancel(reason: unknown): void {
    if (this.cancelled || this.complete || this.failure) return;
    this.cancelled = true;
    this.reason = reason;
    const error = new ExchangeCancelled();
    this.settleFailure(error);
    this.controller?.abort(error);
  }

  /** Stops a transfer still under way (the reader is gone or done with it); nothing when it ended. */
  close(): void {
    if (this.complete || this.failure) return;
    const error = new ExchangeCancelled();
    this.settleFailure(error);
    this.controller?.abort(error);
  }

  /** The sink caught up: hand it what was held back, then let undici read on. */
  resume(): void {
    if (this.held) {
      this.held = false;
      this.deliver();
      if (this.held) return;
    }
    this.controller?.resume();
  }

  /** The whole body, once it is complete. */
  body(): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.complete) return Promise.resolve(this.joined());
    return new Promise<Buffer>((resolve, reject) => (this.bodyWaiter = { resolve, reject }));
  }

  /** From now on body pieces go to `sink`, starting with those already received. */
  pipeTo(sink: BodySink): void {
    this.sink = sink;
    this.deliver();
  }

  /** The response's headers, names in lower case, a repeated header's values as a list. */
  headers(): Record<string, string | string[] | undefined> {
    return this.responseHeaders;
  }

  // undici's handler protocol.

  onRequestStart(controller: Controller): void {
    if (this.cancelled || this.failure) controller.abort(new ExchangeCancelled());
    else this.controller = controller;
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx: the real response follows
    this.statusCode = statusCode;
    this.responseHeaders = headers;
    const waiter = this.headWaiter;
    this.headWaiter = undefined;
    waiter?.resolve(statusCode);
  }

  /** Past a refused piece, undici may still hand over what it had already read: it waits in `pieces`. */
  onResponseData(controller: Controller, piece: Buffer): void {
    if (this.failure) return;
    if (this.sink && !this.held) {
      if (this.sink.push(piece)) return;
      this.held = true;
      controller.pause();
      return;
    }
    this.pieces.push(piece);
    if (this.held) controller.pause();
  }

  onResponseEnd(): void {
    if (this.failure) return;
    this.complete = true;
    if (this.sink) {
      if (!this.held) this.sink.end();
    } else if (this.bodyWaiter) {
      const waiter = this.bodyWaiter;
      this.bodyWaiter = undefined;
      waiter.resolve(this.joined());
    }
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.settleFailure(error);
  }

  private settleFailure(error: unknown): void {
    if (this.failure || this.complete) return;
    this.failure = { error };
    this.pieces = [];
    const head = this.headWaiter;
    const body = this.bodyWaiter;
    this.headWaiter = this.bodyWaiter = undefined;
    head?.reject(error);
    body?.reject(error);
    this.sink?.fail(error);
  }

  /** Replays held pieces to the sink until it refuses one; then the body's end, once all are in. */
  private deliver(): void {
    const sink = this.sink!;
    let i = 0;
    while (i < this.pieces.length && !this.held) if (!sink.push(this.pieces[i++])) this.held = true;
    this.pieces = i === this.pieces.length ? [] : this.pieces.slice(i);
    if (this.held) return;
    if (this.failure) sink.fail(this.failure.error);
    else if (this.complete) sink.end();
  }

  private joined(): Buffer {
    const pieces = this.pieces;
    this.pieces = [];
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }
}
