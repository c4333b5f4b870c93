// The one backoff: exponential with equal jitter (half fixed, half random, so retries from many
// requests don't synchronise), and the one reading of Retry-After (seconds or an HTTP date).

import type { CancelSignal } from './cancel-signal.ts';

export interface BackoffPolicy {
  /** The first retry waits between baseMs/2 and baseMs; each later one doubles, up to maxMs. */
  baseMs: number;
  maxMs: number;
}

/** The wait before retry number `attempt` (1 for the first retry). */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits ms, or less when the signal aborts first. */
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
