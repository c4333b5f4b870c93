// Shared counters for rate limits, concurrency and budget reservations. In-process by default;
// Redis with REDIS_URL, so several gateway replicas enforce one limit together. Every operation
// is atomic across all the keys it names (all pass and apply, or none applies).

/**
 * Retry-After (seconds) for a request refused because the counter store is unreachable: Redis
 * reconnection attempts are at most ~5 s apart, so a retry after this meets the next one.
 */
export const COUNTER_STORE_RETRY_AFTER_S = '5';

export interface CounterCheck {
  /** Counter key, e.g. `rpm:key:<id>` or `budget:team:<id>:2026-11`. */
  key: string;
  /** The cap; the check fails when current + amount would exceed it. */
  limit: number;
  amount: number;
  /**
   * Fixed window length in ms (RPM/TPM: 60_000); the counter resets when its window rolls over.
   * Omit for counters that live until `ttlMs` (budget periods) or until released (concurrency).
   */
  windowMs?: number;
  /** Expiry of a window-less counter, ms from now (e.g. end of the budget period plus a margin). */
  ttlMs?: number;
}

export type ConsumeResult =
  | { ok: true; /** value of each counter after the increment, in check order */ values: number[]; /** ms until each window resets (0 for window-less) */ resetsInMs: number[] }
  | { ok: false; /** index of the first failing check */ failed: number; current: number; limit: number; resetsInMs: number };

/** An amount held on one counter under an id until it is settled, released, or expires. */
export interface HeldReservation {
  id: string;
  amount: number;
  /** Epoch ms (the counter store's clock: the Redis server's for Redis) after which it is released. */
  expiresAt: number;
  /** Opaque description stored with it (who holds it, for the admin API). */
  info: string;
}

export interface ReservationHold {
  id: string;
  /** How long the amounts are held if never settled: a crashed holder's reservations free themselves. */
  holdMs: number;
  info: string;
}

export interface CounterStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Changes whenever the counters may have been lost (Redis came back after a disconnection, and
   * may have restarted empty), so state derived from them, such as budget seeds, is rebuilt.
   * Absent or constant for stores that cannot lose them.
   */
  readonly generation?: number;
  /** Atomically checks every counter against its limit and, only if all pass, adds the amounts. */
  consume(checks: readonly CounterCheck[]): Promise<ConsumeResult>;
  /**
   * Adds delta (may be negative) to a counter without a limit check: settling a reservation to its
   * real value, or releasing a concurrency slot. Keeps the counter's current window/expiry.
   */
  adjust(key: string, delta: number, options?: { windowMs?: number; ttlMs?: number }): Promise<number>;
  /**
   * consume() for window-less counters whose amounts stay attributable: each check's amount is
   * held on its counter under `hold.id` and released by itself after `hold.holdMs` unless settled
   * first. Reservations already expired on these counters are released before the checks run.
   */
  reserve(checks: readonly CounterCheck[], hold: ReservationHold): Promise<ConsumeResult>;
  /**
   * Ends reservation `id` on `key`: the counter moves by actual - held, or by the whole actual
   * when the reservation had already expired or been released (real cost counts once, either way).
   * Returns the counter's new value.
   */
  settleReservation(key: string, id: string, actual: number, options?: { ttlMs?: number }): Promise<number>;
  /** The live reservations on `key` (expired ones are released first), soonest expiry first. */
  reservations(key: string): Promise<HeldReservation[]>;
  /** Releases the given reservations on `key` (all when `ids` is omitted); returns those released. */
  releaseReservations(key: string, ids?: readonly string[]): Promise<HeldReservation[]>;
  /** Current value (0 when absent or its window has rolled over). Does not release expired reservations. */
  get(key: string, options?: { windowMs?: number }): Promise<number>;
  close(): Promise<void>;
}
