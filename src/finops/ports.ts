// What FinOps needs from persistence. FinOps owns these interfaces; src/store/finops/ implements
// them once over the portable SqlClient, so SQLite and PostgreSQL are swapped by configuration.

import type { BudgetPeriod, BudgetScope } from './config.ts';

/** One request, however it ended (success, failure, cancellation), as written to the ledger. */
export interface UsageRecord {
  id: string;
  /** Epoch ms when the request arrived (so a request counts in the budget period it was admitted in). */
  time: number;
  requestId: string;
  keyId: string | null;
  teamId: string | null;
  model: string;
  deployment: string | null;
  endpoint: string;
  promptTokens: number;
  /** Subset of promptTokens read from the prompt cache. */
  cachedTokens: number;
  /** Subset of promptTokens written to the prompt cache. */
  cacheCreationTokens: number;
  completionTokens: number;
  /** HTTP status answered (499 when the client went away). */
  status: number;
  errorCode: string | null;
  latencyMs: number;
  ttftMs: number | null;
  costUsd: number;
  /** What budgets held for it before it ran (its maximum cost); null when no budget applied. */
  reservedUsd: number | null;
}

export const GROUP_BYS = ['team', 'key', 'model', 'day', 'deployment'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export interface TokenTotals {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  cacheCreationTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface SpendRow extends TokenTotals {
  /** Team id, key id, model, deployment or `YYYY-MM-DD`; null for requests without a key/team/deployment. */
  group: string | null;
}

export interface SpendScope {
  keyId?: string;
  teamId?: string;
}

export interface UsageLedger {
  /** Writes the records in one transaction (multi-row INSERTs). Ids are unique; a retried batch is not doubled. */
  insertBatch(records: readonly UsageRecord[]): Promise<void>;
  /** Totals over [fromMs, toMs) grouped as asked, largest cost first (days in order). */
  spendReport(fromMs: number, toMs: number, groupBy: GroupBy): Promise<SpendRow[]>;
  /** Totals over [fromMs, toMs) per deployment, optionally for one model only. */
  deploymentUsage(fromMs: number, toMs: number, model?: string): Promise<SpendRow[]>;
  /** Cost recorded since fromMs for a key, a team, or everything (empty scope). */
  spendSince(scope: SpendScope, fromMs: number): Promise<number>;
}

export interface Budget {
  id: string;
  name: string | null;
  scope: BudgetScope;
  /** Key id or team id; null for global budgets. */
  scopeId: string | null;
  period: BudgetPeriod;
  limitUsd: number;
  /** Percent of the limit, ascending; null means the configured default thresholds. */
  thresholds: number[] | null;
  /** `config` budgets are managed by switchyard.yaml, `api` ones by the admin API. */
  source: 'config' | 'api';
  createdAt: number;
}

export interface BudgetRepository {
  list(): Promise<Budget[]>;
  get(id: string): Promise<Budget | undefined>;
  /** Inserts; false when the id exists already. */
  create(budget: Budget): Promise<boolean>;
  /** True when it existed. Its alert history goes with it. */
  delete(id: string): Promise<boolean>;
  /** Makes the `config` budgets exactly these (insert, update, remove the ones no longer configured). */
  syncConfigBudgets(budgets: readonly Budget[]): Promise<void>;
}

export interface AlertFiring {
  budgetId: string;
  periodStart: number;
  threshold: number;
  spentUsd: number;
  limitUsd: number;
  firedAt: number;
}

export interface DeliveryAttempt {
  id: string;
  deliveryId: string;
  /** budget_alert | spend_digest */
  kind: string;
  /** The webhook's configured name, never its URL (webhook URLs carry secrets). */
  webhook: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  outcome: 'delivered' | 'retrying' | 'gave_up';
  at: number;
  durationMs: number;
}

export interface AlertLog {
  /**
   * Records that a threshold fired for a budget period; true only for the one caller that
   * inserted the row, so exactly one replica sends the alert.
   */
  claimFiring(firing: AlertFiring): Promise<boolean>;
  listFirings(budgetId: string, periodStart?: number): Promise<AlertFiring[]>;
  /** Same once-only claim for the daily digest of one UTC day (`YYYY-MM-DD`). */
  claimDigest(day: string, at: number): Promise<boolean>;
  recordDelivery(attempt: DeliveryAttempt): Promise<void>;
  listDeliveries(deliveryId?: string): Promise<DeliveryAttempt[]>;
}
