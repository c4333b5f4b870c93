// The limit stage: model allowlists, then per-key and per-team requests/min, tokens/min and
// concurrency in one atomic counter call (one Redis round trip). It settles when the request ends,
// however it ends (ctx.onEnd): tokens to the real usage (or the cut-short estimate), concurrency
// slots released. `drain()` waits for settlements still in flight (shutdown, tests).

import type { Usage } from '../api/canonical.ts';
import { GatewayError } from '../api/errors.ts';
import type { RequestContext, Stage } from '../pipeline/index.ts';
import { COUNTER_STORE_RETRY_AFTER_S, type CounterStore } from '../store/counters/types.ts';
import { assertModelAllowed, type KeysService } from './keys.ts';
import { planChecks, type PlannedCheck } from './limit-plan.ts';
import { rateLimitHeaders, retryAfterSeconds, type DimensionState } from './rate-limit-headers.ts';

export interface LimitDeps {
  counters: CounterStore;
  keys: KeysService;
  /** Output tokens reserved when a request sets no max_tokens (default 1024; settled later). */
  defaultCompletionReserve?: number;
  /** Idle expiry of concurrency counters, bounding slots leaked by a crashed gateway (default 15 min). */
  concurrencyTtlMs?: number;
  /**
   * When the counter store fails (Redis down): true lets requests through unlimited (the default,
   * like Envoy's rate limiter), false refuses them with 503. The `limits.fail_open` setting.
   */
  failOpen?: boolean;
  onError?: (err: unknown, during: 'consume' | 'settle') => void;
  now?: () => number;
}

export class RateLimiter {
  readonly stage: Stage;
  private readonly pending = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly deps: LimitDeps) {
    this.now = deps.now ?? Date.now;
    this.stage = (ctx, next) => this.run(ctx, next);
  }

  /** Resolves when every settlement started so far has been written. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async run(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
    const identity = ctx.principal ? await this.deps.keys.identityOf(ctx.principal) : undefined;
    if (!identity) return next(); // master key or anonymous loopback: no limits
    const req = ctx.request!;
    assertModelAllowed(identity, req.model);
    const checks = planChecks(identity, req, {
      defaultCompletionReserve: this.deps.defaultCompletionReserve ?? 1024,
      concurrencyTtlMs: this.deps.concurrencyTtlMs ?? 15 * 60_000,
    });
    if (checks.length === 0) return next();

    let result;
    try {
      result = await this.deps.counters.consume(checks);
    } catch (err) {
      this.deps.onError?.(err, 'consume');
      if (this.deps.failOpen ?? true) return next();
      throw new GatewayError(
        'overloaded',
        'Rate limits cannot be checked right now: their counter store (Redis, REDIS_URL) is unreachable and limits.fail_open is false, so requests under a limit are refused. Retry shortly.',
        { code: 'rate_limit_store_unavailable', headers: { 'retry-after': COUNTER_STORE_RETRY_AFTER_S } },
      );
    }
    if (!result.ok) throw refusal(checks[result.failed], result.current, result.resetsInMs);

    const lease = new Lease(this.deps.counters, checks, result.resetsInMs, this.now(), this.now, (p) => this.track(p));
    ctx.addResponseHeaders(rateLimitHeaders(tightest(checks, result.values, result.resetsInMs)));
    // Refused or failed before any output: nothing was generated, so no tokens are charged.
    ctx.onEnd((end) => lease.settle(end.usage ? totalTokens(end.usage) : 0));
    await next();
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: unknown) => this.deps.onError?.(err, 'settle'));
    this.pending.add(guarded);
    void guarded.finally(() => this.pending.delete(guarded));
  }
}

/** One request's hold on its counters; settles exactly once. */
class Lease {
  private settled = false;

  constructor(
    private readonly counters: CounterStore,
    private readonly checks: readonly PlannedCheck[],
    private readonly resetsInMs: readonly number[],
    private readonly consumedAt: number,
    private readonly now: () => number,
    private readonly track: (p: Promise<void>) => void,
  ) {}

  settle(actualTokens: number): void {
    if (this.settled) return;
    this.settled = true;
    const now = this.now();
    const writes: Promise<unknown>[] = [];
    this.checks.forEach((c, i) => {
      if (c.dimension === 'concurrency') writes.push(this.counters.adjust(c.key, -1));
      if (c.dimension !== 'tokens') return;
      const delta = actualTokens - c.amount;
      // Once the reservation's window has rolled over, returning unused tokens would credit the
      // new window; only extra usage is still charged (to the current window).
      const rolledOver = now >= this.consumedAt + this.resetsInMs[i];
      if (delta > 0 || (delta < 0 && !rolledOver)) writes.push(this.counters.adjust(c.key, delta, { windowMs: c.windowMs }));
    });
    // Issued together: the Redis store pipelines them into one round trip.
    if (writes.length > 0) this.track(Promise.all(writes).then(() => {}));
  }
}

function totalTokens(usage: Usage): number {
  return usage.prompt_tokens + usage.completion_tokens;
}

/** For each header dimension, the scope closest to its limit. */
function tightest(checks: readonly PlannedCheck[], values: readonly number[], resets: readonly number[]) {
  const states: { requests?: DimensionState; tokens?: DimensionState } = {};
  checks.forEach((c, i) => {
    if (c.dimension === 'concurrency') return;
    const state = { limit: c.limit, remaining: c.limit - values[i], resetMs: resets[i] };
    const seen = states[c.dimension];
    if (!seen || state.remaining < seen.remaining) states[c.dimension] = state;
  });
  return states;
}

function refusal(check: PlannedCheck, current: number, resetMs: number): GatewayError {
  const { scope, limit } = check;
  if (check.dimension === 'concurrency') {
    return new GatewayError('rate_limit', `Concurrency limit reached for ${scope.label}: ${limit} requests in flight. Retry when one finishes.`, {
      code: 'concurrency_limit_exceeded',
      headers: { 'retry-after': '1' },
    });
  }
  const retry = retryAfterSeconds(resetMs);
  const what =
    check.dimension === 'requests'
      ? `${limit} requests per minute`
      : `${limit} tokens per minute (used ${Math.round(current)}, this request needs up to ${check.amount})`;
  return new GatewayError('rate_limit', `Rate limit reached for ${scope.label}: ${what}. Retry in ${retry}s.`, {
    code: 'rate_limit_exceeded',
    headers: {
      ...rateLimitHeaders({ [check.dimension]: { limit, remaining: limit - current, resetMs } }),
      'retry-after': retry,
    },
  });
}

/** Convenience for `new RateLimiter(deps).stage` when drain() is not needed. */
export function limitStage(deps: LimitDeps): Stage {
  return new RateLimiter(deps).stage;
}
