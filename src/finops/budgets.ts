// Budget helpers shared by the guard, the admin API and alerts: which budgets apply to a caller,
// the counter keys of one budget period, and how budgets are described to people.

import type { Principal } from '../tenancy/principal.ts';
import type { ConfigBudget } from './config.ts';
import { periodBounds } from './periods.ts';
import type { Budget, SpendScope } from './ports.ts';

/** Counters outlive their period by a day, so a request settling just after the reset still lands. */
const COUNTER_MARGIN_MS = 86_400_000;

export interface BudgetPeriodKeys {
  budget: Budget;
  periodStart: number;
  periodEnd: number;
  /** Spent plus reserved (in flight), micro-USD: what admission checks against the limit. */
  committedKey: string;
  /** Settled spend only, micro-USD: what alerts and status report. */
  spentKey: string;
  /** Once-per-period marker: whoever sets it seeds the counters from the ledger. */
  seedKey: string;
  ttlMs: number;
}

export function periodKeys(budget: Budget, now: number): BudgetPeriodKeys {
  const { start, end } = periodBounds(budget.period, now);
  const suffix = `${budget.id}:${start}`;
  return {
    budget,
    periodStart: start,
    periodEnd: end,
    committedKey: `budget:${suffix}`,
    spentKey: `budget-spent:${suffix}`,
    seedKey: `budget-seed:${suffix}`,
    ttlMs: end - now + COUNTER_MARGIN_MS,
  };
}

/** The ledger filter whose spend a budget counts. */
export function spendScope(budget: Budget): SpendScope {
  if (budget.scope === 'key') return { keyId: budget.scopeId ?? '' };
  if (budget.scope === 'team') return { teamId: budget.scopeId ?? '' };
  return {};
}

export function describeBudget(budget: Budget): string {
  const who = budget.scope === 'global' ? 'global' : `${budget.scope} ${budget.scopeId}`;
  const name = budget.name ? ` "${budget.name}"` : '';
  return `${who} ${budget.period} budget${name} (${budget.id})`;
}

/** Budgets indexed for O(1) lookup on every request. */
export class BudgetIndex {
  private global: Budget[] = [];
  private readonly byKey = new Map<string, Budget[]>();
  private readonly byTeam = new Map<string, Budget[]>();
  private all: Budget[] = [];

  constructor(budgets: readonly Budget[] = []) {
    this.replace(budgets);
  }

  replace(budgets: readonly Budget[]): void {
    this.all = [...budgets];
    this.global = budgets.filter((b) => b.scope === 'global');
    this.byKey.clear();
    this.byTeam.clear();
    for (const b of budgets) {
      const map = b.scope === 'key' ? this.byKey : b.scope === 'team' ? this.byTeam : undefined;
      if (!map || b.scopeId === null) continue;
      map.set(b.scopeId, [...(map.get(b.scopeId) ?? []), b]);
    }
  }

  /** Key budgets, then team budgets, then global ones: the order refusals are reported in. */
  applicable(principal: Pick<Principal, 'keyId' | 'teamId'>): Budget[] {
    const out: Budget[] = [];
    if (principal.keyId) out.push(...(this.byKey.get(principal.keyId) ?? []));
    if (principal.teamId) out.push(...(this.byTeam.get(principal.teamId) ?? []));
    out.push(...this.global);
    return out;
  }

  appliesTo(principal: Pick<Principal, 'keyId' | 'teamId'>): boolean {
    return this.global.length > 0 || (principal.keyId !== null && this.byKey.has(principal.keyId)) || (principal.teamId !== null && this.byTeam.has(principal.teamId));
  }

  list(): Budget[] {
    return this.all;
  }
}

export function budgetFromConfig(b: ConfigBudget, createdAt: number): Budget {
  return {
    id: b.id,
    name: b.name ?? null,
    scope: b.scope,
    scopeId: b.scope === 'global' ? null : (b.scope_id ?? null),
    period: b.period,
    limitUsd: b.limit_usd,
    thresholds: b.thresholds ?? null,
    source: 'config',
    createdAt,
  };
}
