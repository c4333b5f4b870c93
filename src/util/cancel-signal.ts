// The cancellation signal a request carries through the pipeline (client gone). It keeps only the
// part of AbortController the pipeline uses, since every request makes one and almost none fires
// (an EventTarget per request shows in the hot path's CPU profile). A real AbortSignal (batch items
// pass one) fits the same interface.

export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class RequestCancel implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    // Listeners run once, when the request is cancelled, so `once` needs nothing more.
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const list = this.listeners;
    if (!list) return;
    const i = list.lastIndexOf(listener);
    if (i !== -1) list.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const list = this.listeners;
    this.listeners = undefined;
    if (list) for (const listener of list) listener();
  }
}
