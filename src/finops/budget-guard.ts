// Hard budget enforcement: reserve a request's maximum cost before the upstream call, settle the
// real cost after.
//
// Every applicable budget (key, team, global) has a "committed" counter per period: settled spend
// plus reservations in flight, in micro-USD, in the shared CounterStore (Redis across replicas).
// reserve() adds the request's maximum cost to all of them in ONE atomic step, which fails
// (429 budget_exceeded) if any would pass its limit. settle() adds (actual - reserved). So at any
// moment committed >= real spend, and since the maximum is an upper bound of the real cost
// (usage-bound.ts), real spend never exceeds the limit, unless a reservation is released (by
// expiry or the admin API) while its request still runs.
//
// Counters are seeded from the ledger the first time a process uses a budget period, so a restart
// (or a fresh Redis) does not reset spend. A zero-cost request reserves nothing and is never
// refused, even by a budget that is already spent.
//
// Each reservation is held on the counters under its id with an expiry (reservationTimeoutMs), in
// the counter store itself: a reservation never settled (a crashed gateway, a lost end of request)
// frees itself on Redis as in memory, and the admin API can list and release them.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { GatewayError } from '../api/errors.ts';
import { COUNTER_STORE_RETRY_AFTER_S, type ConsumeResult, type CounterStore, type HeldReservation } from '../store/counters/types.ts';
import { isReportedOutage } from '../store/redis-connection.ts';
import type { Principal } from '../tenancy/principal.ts';
import { BudgetIndex, describeBudget, periodKeys, spendScope, type BudgetPeriodKeys } from './budgets.ts';
import { formatUsd, fromMicros, toMicros, toMicrosCeil } from './money.ts';
import type { Budget, BudgetRepository, UsageLedger } from './ports.ts';

export interface BudgetReservation {
  readonly id: string;
  readonly model: string;
  readonly periods: readonly BudgetPeriodKeys[];
  /** Micro-USD held on every counter of this reservation when it was made (0: nothing held). */
  readonly reservedMicros: number;
  settled: boolean;
}

/** What a reservation records about its request, for the admin API. */
export interface ReservationInfo {
  requestId?: string;
  model: string;
  keyId: string | null;
  teamId: string | null;
  /** The gateway process holding it (`host:pid`). */
  gateway: string;
  createdAt: number;
}

/** One reservation open on a budget's current period, as the counter store holds it. */
export interface OpenReservation extends Partial<ReservationInfo> {
  id: string;
  amountUsd: number;
  expiresAt: number;
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

const GATEWAY = `${hostname()}:${process.pid}`;

export class BudgetGuard {
  private readonly index = new BudgetIndex();
  private readonly seeded = new Set<string>();
  /** The counter store's generation the seeds were made in. */
  private seededGeneration = 0;
  private readonly seeding = new Map<string, Promise<void>>();
  /** Each budget's current period and its counter keys, made once per period instead of per request. */
  private readonly currentPeriod = new WeakMap<Budget, BudgetPeriodKeys>();
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: BudgetGuardOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads budgets and starts the refresh timer. */
  async start(): Promise<void> {
    await this.reload();
    const refresh = setInterval(() => {
      this.reload().catch((err: unknown) => this.options.logger?.warn({ err }, 'budgets: reload failed; keeping the last known set'));
    }, this.options.refreshMs ?? 5_000);
    refresh.unref();
    this.timers.push(refresh);
  }

  /** Re-reads budget definitions (call after an admin change; runs on a timer for other replicas' changes). */
  async reload(): Promise<void> {
    this.index.replace(await this.options.budgets.list());
  }

  applicable(principal: Pick<Principal, 'keyId' | 'teamId'>): Budget[] {
    return this.index.applicable(principal);
  }

  /** Whether this replica enforces `budget` as defined (a change elsewhere reaches it by broadcast or refresh). */
  enforces(budget: Budget): boolean {
    return this.index.list().some((b) => b.id === budget.id && b.limitUsd === budget.limitUsd && b.period === budget.period && b.scopeId === budget.scopeId);
  }

  /** Whether any budget applies to the caller (no list is built). */
  appliesTo(principal: Pick<Principal, 'keyId' | 'teamId'>): boolean {
    return this.index.appliesTo(principal);
  }

  /**
   * Holds maxCostUsd against every budget that applies to the caller, or throws a 429
   * GatewayError with code budget_exceeded naming the budget and when it resets.
   */
  async reserve(principal: Pick<Principal, 'keyId' | 'teamId'>, model: string, maxCostUsd: number, requestId?: string): Promise<BudgetReservation> {
    const budgets = this.index.applicable(principal);
    const now = this.now();
    const periods = budgets.map((b) => this.periodOf(b, now));
    const micros = toMicrosCeil(maxCostUsd);
    const id = randomUUID();
    const nothingHeld: BudgetReservation = { id, model, periods, reservedMicros: 0, settled: false };
    if (periods.length === 0) return nothingHeld;
    this.forgetSeedsIfCountersReset();
    let result: ConsumeResult;
    try {
      // Seeded once per period and process: on the hot path this is a Set lookup, not an await.
      if (!periods.every((p) => this.seeded.has(p.committedKey))) await Promise.all(periods.map((p) => this.ensureSeeded(p)));
      if (micros === 0) return nothingHeld; // free requests are never refused (nor counted)
      const info: ReservationInfo = { requestId, model, keyId: principal.keyId, teamId: principal.teamId, gateway: GATEWAY, createdAt: now };
      result = await this.options.counters.reserve(
        periods.map((p) => ({ key: p.committedKey, limit: toMicros(p.budget.limitUsd), amount: micros, ttlMs: p.ttlMs })),
        { id, holdMs: this.options.reservationTimeoutMs ?? 900_000, info: JSON.stringify(info) },
      );
    } catch (err) {
      // The counter store is unreachable. A hard budget that silently stops counting is a bypass,
      // so by default the request is refused; failOpen trades that for availability.
      if (!isReportedOutage(err)) this.options.logger?.error({ err: errorText(err), model }, 'budgets: counter store unavailable');
      if (this.options.failOpen) return nothingHeld;
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
    return { id, model, periods, reservedMicros: micros, settled: false };
  }

  /**
   * Replaces the reservation by the real cost. A reservation that expired or was released in the
   * meantime counts its real cost in full, once. Idempotent; never throws (errors are logged).
   */
  async settle(reservation: BudgetReservation, actualCostUsd: number): Promise<void> {
    if (reservation.settled) return;
    reservation.settled = true;
    const actual = toMicros(actualCostUsd);
    if (reservation.reservedMicros === 0 && actual === 0) return;
    const { counters, onSpend } = this.options;
    await Promise.all(
      reservation.periods.map(async (p) => {
        try {
          if (reservation.reservedMicros > 0) await counters.settleReservation(p.committedKey, reservation.id, actual, { ttlMs: p.ttlMs });
          else await counters.adjust(p.committedKey, actual, { ttlMs: p.ttlMs });
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
    let held: HeldReservation[];
    try {
      await this.ensureSeeded(p);
      // Listing first releases expired reservations, so committed below no longer counts them.
      held = await this.options.counters.reservations(p.committedKey);
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
      inFlightUsd: fromMicros(held.reduce((sum, r) => sum + r.amount, 0)),
      remainingUsd: Math.max(0, budget.limitUsd - fromMicros(committed)),
    };
  }

  /** The reservations open on a budget's current period, across every replica sharing the counters. */
  async reservations(budget: Budget): Promise<OpenReservation[]> {
    const p = periodKeys(budget, this.now());
    return (await this.options.counters.reservations(p.committedKey)).map(openReservation);
  }

  /**
   * Releases reservations on a budget's current period (all, or those named), freeing the budget
   * now rather than at their expiry. A released request that still ends counts its real cost.
   */
  async release(budget: Budget, ids?: readonly string[]): Promise<OpenReservation[]> {
    const p = periodKeys(budget, this.now());
    const released = (await this.options.counters.releaseReservations(p.committedKey, ids)).map(openReservation);
    if (released.length > 0) this.options.logger?.warn({ budget: budget.id, reservations: released.map((r) => r.id) }, 'budgets: reservations released over the admin API');
    return released;
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
}

function openReservation(r: HeldReservation): OpenReservation {
  let info: Partial<ReservationInfo> = {};
  try {
    info = JSON.parse(r.info) as Partial<ReservationInfo>;
  } catch {
    // Written by another version or by hand: the id, amount and expiry still say what matters.
  }
  return { ...info, id: r.id, amountUsd: fromMicros(r.amount), expiresAt: r.expiresAt };
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
