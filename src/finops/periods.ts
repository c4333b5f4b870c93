// Budget periods on UTC boundaries: daily from 00:00 UTC, weekly from Monday 00:00 UTC (ISO week),
// monthly from the 1st 00:00 UTC. Every replica computes the same period for the same instant,
// whatever its local time zone, so counters and alert rows line up across replicas.

import type { BudgetPeriod } from './config.ts';

export const DAY_MS = 86_400_000;

export interface PeriodBounds {
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive: the moment the budget resets. */
  end: number;
}

export function periodBounds(period: BudgetPeriod, at: number): PeriodBounds {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dayStart = Date.UTC(y, m, d.getUTCDate());
  switch (period) {
    case 'daily':
      return { start: dayStart, end: dayStart + DAY_MS };
    case 'weekly': {
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      const start = dayStart - sinceMonday * DAY_MS;
      return { start, end: start + 7 * DAY_MS };
    }
    case 'monthly':
      return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  }
}

/** Start of the UTC day containing `at`. */
export function utcDayStart(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** `2026-11-23` for an epoch ms. */
export function isoDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}
