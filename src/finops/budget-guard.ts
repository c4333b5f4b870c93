// Hard budget enforcement: reserve a request's maximum cost before the upstream call, settle the
// real cost after.
//
// Every applicable budget (key, team, global) has a "committed" counter per period: settled spend
// plus reservations in flight, in micro-USD, in the shared CounterStore (Redis across replicas).
// reserve() adds the request's maximum cost to all of them in ONE atomic consume, which fails
// (429 budget_exceeded) if any would pass its limit. settle() adds (actual - reserved). So at any
// moment committed >= real spend, and real spend exceeds the limit only by the amount a request's
// actual cost exceeded its own reservation (never more than one request's maximum cost when the
// maximum is estimated as the docs describe).
//
// Counters are seeded from the ledger the first time a process uses a budget period, so a restart
// (or a fresh Redis) does not reset spend. A zero-cost request reserves nothing and is never
// refused, even by a budget that is already spent.

import { randomUUID } from 'node:crypto';
import { GatewayError } from '../api/errors.ts';
import { COUNTER_STORE_RETRY_AFTER_S, type ConsumeResult, type CounterStore } from '../store/counters/types.ts';
import { isReportedOutage } from '../store/redis-connection.ts';
import type { Principal } from '../tenancy/principal.ts';
import { BudgetIndex, describeBudget, periodKeys, spendScope, type BudgetPeriodKeys } from './budgets.ts';
import { formatUsd, fromMicros, toMicros, toMicrosCeil } from './money.ts';
import type { Budget, BudgetRepository, UsageLedger } from './ports.ts';

export interface BudgetReservation {
  readonly id: string;
  readonly model: string;
  readonly periods: readonly BudgetPeriodKeys[];
  /** Micro-USD still held on every counter of this reservation. */
  outstandingMicros: number;
  settled: boolean;
  readonly expiresAt: number;
}

export interface BudgetStatus {
  budget: Budget;
  periodStart: number;
  periodEnd: number;
  spentUsd: number;
  /** Reservations of requests still in flight (all replicas). */
  inFlightUsd: number;
  remainingUsd: number;
}

/** Called after spend lands (and when a request is refused), so alerts can check thresholds. */
export type SpendListener = (period: BudgetPeriodKeys, spentUsd: number, refused: boolean) => void;

export interface BudgetGuardOptions {
  counters: CounterStore;
  budgets: BudgetRepository;
  ledger: UsageLedger;
  onSpend?: SpendListener;
  /** Runs before seeding from the ledger (e.g. flush the recorder so the ledger is current). */
  beforeSeed?: () => Promise<void>;
  refreshMs?: number;
  reservationTimeoutMs?: number;
  /** Admit requests when the counter store is unreachable (default false: refuse with 503). */
  failOpen?: boolean;
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** A refusal counts as "budget reached" for alerts only when this share of the limit is committed. */
const REFUSAL_ALERT_SHARE = 0.9;

export class BudgetGuard {
  private readonly index = new BudgetIndex();
  private readonly seeded = new Set<string>();
  /** The counter store's generation the seeds were made in. */
  private seededGeneration = 0;
  private readonly seeding = new Map<string, Promise<void>>();
  private readonly open = new Set<BudgetReservation>();
  /** Each budget's current period and its counter keys, made once per period instead of per request. */
  private readonly currentPeriod = new WeakMap<Budget, BudgetPeriodKeys>();
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: BudgetGuardOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads budgets and starts the refresh and stale-reservation timers. */
  async start(): Promise<void> {
    await this.reload();
    const refresh = setInterval(() => {
      this.reload().catch((err: unknown) => this.options.logger?.warn({ err }, 'budgets: reload failed; keeping the last known set'));
    }, this.options.refreshMs ?? 5_000);
    const timeout = this.options.reservationTimeoutMs ?? 900_000;
    const sweep = setInterval(() => void this.releaseStale(), Math.min(60_000, Math.max(1_000, timeout / 4)));
    refresh.unref();
    sweep.unref();
    this.timers.push(refresh, sweep);
  }

  /** Re-reads budget definitions (call after an admin change; runs on a timer for other replicas' changes). */
  async reload(): Promise<void> {
    this.index.replace(await this.options.budgets.list());
  }

  applicable(principal: Pick<Principal, 'keyId' | 'teamId'>): Budget[] {
    return this.index.applicable(principal);
  }

  /**
   * Holds maxCostUsd against every budget that applies to the caller, or throws a 429
   * GatewayError with code budget_exceeded naming the budget and when it resets.
   */
  async reserve(principal: Pick<Principal, 'keyId' | 'teamId'>, model: string, maxCostUsd: number): Promise<BudgetReservation> {
    const budgets = this.index.applicable(principal);
    const now = this.now();
    const periods = budgets.map((b) => this.periodOf(b, now));
    const micros = toMicrosCeil(maxCostUsd);
    const reservation: BudgetReservation = {
      id: randomUUID(),
      model,
      periods,
      outstandingMicros: 0,
      settled: false,
      expiresAt: now + (this.options.reservationTimeoutMs ?? 900_000),
    };
    if (periods.length === 0) return reservation;
    this.forgetSeedsIfCountersReset();
    let result: ConsumeResult;
    try {
      // Seeded once per period and process: on the hot path this is a Set lookup, not an await.
      if (!periods.every((p) => this.seeded.has(p.committedKey))) await Promise.all(periods.map((p) => this.ensureSeeded(p)));
      if (micros === 0) return reservation; // free requests are never refused (nor counted)
      result = await this.options.counters.consume(
        periods.map((p) => ({ key: p.committedKey, limit: toMicros(p.budget.limitUsd), amount: micros, ttlMs: p.ttlMs })),
      );
    } catch (err) {
      // The counter store is unreachable. A hard budget that silently stops counting is a bypass,
      // so by default the request is refused; failOpen trades that for availability.
      if (!isReportedOutage(err)) this.options.logger?.error({ err: errorText(err), model }, 'budgets: counter store unavailable');
      if (this.options.failOpen) return reservation;
      throw new GatewayError(
        'overloaded',
        'Budgets cannot be checked right now: their counter store (Redis, REDIS_URL) is unreachable and finops.budget_enforcement.fail_open is false, so requests a budget applies to are refused. Retry shortly.',
        { code: 'budget_store_unavailable', headers: { 'retry-after': COUNTER_STORE_RETRY_AFTER_S } },
      );
    }
    if (!result.ok) {
      const p = periods[result.failed];
      if (result.current >= REFUSAL_ALERT_SHARE * result.limit) this.notifyRefusal(p);
      throw budgetExceeded(p, fromMicros(result.current), maxCostUsd, now);
    }
    reservation.outstandingMicros = micros;
    this.open.add(reservation);
    return reservation;
  }

  /** Replaces the reservation by the real cost. Idempotent; never throws (errors are logged). */
  async settle(reservation: BudgetReservation, actualCostUsd: number): Promise<void> {
    if (reservation.settled) return;
    reservation.settled = true;
    this.open.delete(reservation);
    const actual = toMicros(actualCostUsd);
    const delta = actual - reservation.outstandingMicros;
    reservation.outstandingMicros = 0;
    const { counters, onSpend } = this.options;
    await Promise.all(
      reservation.periods.map(async (p) => {
        try {
          if (delta !== 0) await counters.adjust(p.committedKey, delta, { ttlMs: p.ttlMs });
          if (actual > 0) {
            const spent = await counters.adjust(p.spentKey, actual, { ttlMs: p.ttlMs });
            onSpend?.(p, fromMicros(spent), false);
          }
        } catch (err) {
          if (!isReportedOutage(err)) this.options.logger?.error({ err: errorText(err), budget: p.budget.id }, 'budgets: settling a reservation failed');
        }
      }),
    );
  }

  /** Current period spend of one budget, as the counters see it (seeding first if needed). */
  async status(budget: Budget): Promise<BudgetStatus> {
    this.forgetSeedsIfCountersReset();
    const p = periodKeys(budget, this.now());
    let committed: number;
    let spent: number;
    try {
      await this.ensureSeeded(p);
      [committed, spent] = await Promise.all([this.options.counters.get(p.committedKey), this.options.counters.get(p.spentKey)]);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError('overloaded', `Budget spend cannot be read right now: the counter store (Redis, REDIS_URL) is unreachable (${errorText(err)}). Budget definitions are unaffected; retry shortly.`, {
        code: 'budget_store_unavailable',
        headers: { 'retry-after': COUNTER_STORE_RETRY_AFTER_S },
      });
    }
    return {
      budget,
      periodStart: p.periodStart,
      periodEnd: p.periodEnd,
      spentUsd: fromMicros(spent),
      inFlightUsd: fromMicros(Math.max(0, committed - spent)),
      remainingUsd: Math.max(0, budget.limitUsd - fromMicros(committed)),
    };
  }

  private periodOf(budget: Budget, now: number): BudgetPeriodKeys {
    const known = this.currentPeriod.get(budget);
    // Its ttl was computed when the period was first seen: the counters then outlive the period's
    // end by a little more than the margin, never less.
    if (known && now >= known.periodStart && now < known.periodEnd) return known;
    const keys = periodKeys(budget, now);
    this.currentPeriod.set(budget, keys);
    return keys;
  }

  /** Reservations not yet settled in this process. */
  openReservations(): number {
    return this.open.size;
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /**
   * A counter store that may have lost its counters (Redis back after a disconnection, possibly
   * restarted empty) invalidates every seed: each period seeds again, and the seed marker in the
   * store keeps that to one replica when the counters did survive.
   */
  private forgetSeedsIfCountersReset(): void {
    const generation = this.options.counters.generation ?? 0;
    if (generation === this.seededGeneration) return;
    this.seededGeneration = generation;
    this.seeded.clear();
  }

  /**
   * Seeds a period's counters from the ledger once. The seed marker in the CounterStore makes it
   * once across replicas sharing Redis (where counters survive gateway restarts anyway); with
   * in-process counters it runs once per process start, which is exactly when spend would be lost.
   */
  private ensureSeeded(p: BudgetPeriodKeys): Promise<void> {
    if (this.seeded.has(p.committedKey)) return Promise.resolve();
    let pending = this.seeding.get(p.committedKey);
    if (!pending) {
      pending = this.seed(p).finally(() => this.seeding.delete(p.committedKey));
      this.seeding.set(p.committedKey, pending);
    }
    return pending;
  }

  private async seed(p: BudgetPeriodKeys): Promise<void> {
    const { counters, ledger } = this.options;
    const claim = await counters.consume([{ key: p.seedKey, limit: 1, amount: 1, ttlMs: p.ttlMs }]);
    if (claim.ok) {
      try {
        await this.options.beforeSeed?.();
        const micros = toMicros(await ledger.spendSince(spendScope(p.budget), p.periodStart));
        if (micros > 0) {
          await counters.adjust(p.committedKey, micros, { ttlMs: p.ttlMs });
          await counters.adjust(p.spentKey, micros, { ttlMs: p.ttlMs });
        }
      } catch (err) {
        // Give the marker back so the next request retries; admit meanwhile rather than refuse
        // every request because the database is briefly unreachable.
        await counters.adjust(p.seedKey, -1).catch(() => {});
        this.options.logger?.error({ err, budget: p.budget.id }, 'budgets: seeding spend from the ledger failed; will retry');
        return;
      }
    }
    this.seeded.add(p.committedKey);
  }

  private notifyRefusal(p: BudgetPeriodKeys): void {
    const listener = this.options.onSpend;
    if (!listener) return;
    this.options.counters
      .get(p.spentKey)
      .then((spent) => listener(p, fromMicros(spent), true))
      .catch(() => {});
  }

  private async releaseStale(): Promise<void> {
    const now = this.now();
    for (const r of this.open) {
      if (r.expiresAt > now) continue;
      this.open.delete(r);
      const held = r.outstandingMicros;
      r.outstandingMicros = 0;
      this.options.logger?.warn({ reservation: r.id, model: r.model }, 'budgets: releasing a reservation never settled (request end not reported)');
      await Promise.all(r.periods.map((p) => this.options.counters.adjust(p.committedKey, -held, { ttlMs: p.ttlMs }).catch(() => 0)));
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function budgetExceeded(p: BudgetPeriodKeys, committedUsd: number, maxCostUsd: number, now: number): GatewayError {
  const resets = new Date(p.periodEnd).toISOString();
  // Global spend is not shown to ordinary key holders; their own key/team figures are.
  const figures =
    p.budget.scope === 'global'
      ? 'is used up'
      : `has ${formatUsd(committedUsd)} of ${formatUsd(p.budget.limitUsd)} spent or reserved, and this request may cost up to ${formatUsd(maxCostUsd)}`;
  return new GatewayError('rate_limit', `Budget exceeded: the ${describeBudget(p.budget)} ${figures}. It resets at ${resets}.`, {
    code: 'budget_exceeded',
    headers: {
      'retry-after': String(Math.max(1, Math.ceil((p.periodEnd - now) / 1000))),
      'x-switchyard-budget-id': p.budget.id,
      'x-switchyard-budget-reset': resets,
    },
  });
}
