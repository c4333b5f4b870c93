// Budget threshold alerts: each threshold fires once per budget period, across all replicas.
//
// When spend lands, the guard calls onSpend. Thresholds now crossed (spent >= t% of the limit, or
// all of them when requests are being refused) are claimed in the store with
// INSERT ... ON CONFLICT DO NOTHING: the one replica whose insert succeeds sends the alert. A
// local set of already-claimed thresholds keeps the common case (nothing new) free of database
// calls. When a jump crosses several thresholds at once, one alert names the highest.

import type { SpendListener } from './budget-guard.ts';
import type { BudgetPeriodKeys } from './budgets.ts';
import { budgetAlert, type Notification } from './notifications.ts';
import type { AlertFiring, AlertLog } from './ports.ts';

export interface AlertMonitorOptions {
  log: Pick<AlertLog, 'claimFiring'>;
  notify: (n: Notification) => void;
  defaultThresholds: readonly number[];
  now?: () => number;
  logger?: { error(obj: object, msg?: string): void };
}

/** Budget periods whose known claims are kept per process; old periods age out past this many. */
const MAX_KNOWN_PERIODS = 10_000;

export class AlertMonitor {
  /** Thresholds already claimed (by anyone) per budget period, keyed by the period's counter key. */
  private readonly known = new Map<string, Set<number>>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly now: () => number;

  constructor(private readonly options: AlertMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The guard's spend listener: called on every settled request, so the common case (no new
   *  threshold crossed) allocates nothing and returns at once. */
  readonly onSpend: SpendListener = (period, spentUsd, refused) => {
    if (!this.anyFresh(period, spentUsd, refused)) return;
    const p = this.check(period, spentUsd, refused);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  };

  /** Claims and sends newly crossed thresholds; resolves with the firings this process won. */
  async check(period: BudgetPeriodKeys, spentUsd: number, refused: boolean): Promise<AlertFiring[]> {
    const b = period.budget;
    const thresholds = b.thresholds ?? this.options.defaultThresholds;
    const percent = b.limitUsd > 0 ? (spentUsd / b.limitUsd) * 100 : 0;
    const crossed = thresholds.filter((t) => percent >= t || refused);
    const fresh = crossed.filter((t) => !this.isKnown(period, t));
    if (fresh.length === 0) return [];
    if (this.known.size > MAX_KNOWN_PERIODS) this.known.clear();
    // Marked before the await so concurrent checks in this process never claim twice.
    let claimed = this.known.get(period.committedKey);
    if (!claimed) this.known.set(period.committedKey, (claimed = new Set()));
    for (const t of fresh) claimed.add(t);
    const firedAt = this.now();
    const won: AlertFiring[] = [];
    await Promise.all(
      fresh.map(async (threshold) => {
        const firing: AlertFiring = { budgetId: b.id, periodStart: period.periodStart, threshold, spentUsd, limitUsd: b.limitUsd, firedAt };
        try {
          if (await this.options.log.claimFiring(firing)) won.push(firing);
        } catch (err) {
          this.known.get(period.committedKey)?.delete(threshold); // retry on the next spend
          this.options.logger?.error({ err, budget: b.id, threshold }, 'alerts: could not record a threshold firing');
        }
      }),
    );
    if (won.length > 0) {
      const top = Math.max(...won.map((f) => f.threshold));
      this.options.notify(budgetAlert({ period, threshold: top, spentUsd, refused, firedAt }));
    }
    return won.sort((a, b) => a.threshold - b.threshold);
  }

  /** Resolves when every check started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private isKnown(period: BudgetPeriodKeys, threshold: number): boolean {
    return this.known.get(period.committedKey)?.has(threshold) === true;
  }

  private anyFresh(period: BudgetPeriodKeys, spentUsd: number, refused: boolean): boolean {
    const b = period.budget;
    const thresholds = b.thresholds ?? this.options.defaultThresholds;
    const percent = b.limitUsd > 0 ? (spentUsd / b.limitUsd) * 100 : 0;
    for (const t of thresholds) if ((percent >= t || refused) && !this.isKnown(period, t)) return true;
    return false;
  }
}
