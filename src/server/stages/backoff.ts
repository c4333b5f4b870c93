import type { RetryConfig } from '../../config/schema.ts';
import type { CancelSignal } from '../../util/cancel-signal.ts';

/** Exponential backoff with equal jitter: half fixed, half random, so retries don't synchronise. */
export function backoffMs(attempt: number, retry: Pick<RetryConfig, 'backoff_base_ms' | 'backoff_max_ms'>): number {
  const ceiling = Math.min(retry.backoff_max_ms, retry.backoff_base_ms * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function sleep(ms: number, signal: CancelSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
