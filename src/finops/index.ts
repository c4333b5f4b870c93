// FinOps assembled: price book, cost model, usage recorder, budget guard, alerts, webhooks, digest
// and admin routes, over one SqlClient and one CounterStore. See docs/finops.md ("Wiring") for where
// the gateway calls reserve() and finish().

import type { ComponentLogger } from '../telemetry/logger.ts';
import { timeSortableId } from '../util/ids.ts';
import type { Dispatcher } from 'undici';
import type { CanonicalRequest, Usage } from '../api/canonical.ts';
import type { SqlClient } from '../store/sql.ts';
import type { CounterStore } from '../store/counters/types.ts';
import { finopsStores, type FinopsStores } from '../store/finops/index.ts';
import type { Principal } from '../tenancy/principal.ts';
import { finopsAdminRoutes, type FinopsRoute } from './admin-routes.ts';
import { AlertMonitor } from './alerts.ts';
import { BudgetGuard, type BudgetReservation } from './budget-guard.ts';
import { budgetFromConfig } from './budgets.ts';
import { finopsSchema, type FinopsConfig, type FinopsConfigInput } from './config.ts';
import { CostModel } from './cost-model.ts';
import { deploymentCostsFromModels, type DeploymentCostSpec, type ModelLike } from './deployments.ts';
import { DigestScheduler } from './digest.ts';
import type { Notification } from './notifications.ts';
import type { UsageRecord } from './ports.ts';
import { PriceBook } from './pricing.ts';
import { UsageRecorder } from './recorder.ts';
import { SelfHostedRates } from './self-hosted.ts';
import { WebhookDispatcher, webhookTargets, type UndeliveredWebhook } from './webhooks.ts';
import { COMPLETIONS_DEFAULT_MAX_TOKENS, usageBound, type TemplateAllowances } from './usage-bound.ts';
import { fromMicros } from './money.ts';

export interface CreateFinopsOptions {
  sql: SqlClient;
  counters: CounterStore;
  /** The validated config: its `finops` section and `models` (for deployment GPU costs and upstream names). */
  config: { finops?: FinopsConfigInput; models: readonly ModelLike[] };
  logger: ComponentLogger;
  /** Undeliverable webhook notifications (hook for the dead-letter queue). */
  onWebhookGiveUp?: (delivery: UndeliveredWebhook) => void;
  /** Ledger records dropped because the queue was full (for a metrics counter). */
  onLedgerDrop?: (count: number) => void;
  /** Broadcasts a budget created or deleted here, so other replicas enforce it at once. */
  announceBudgetsChanged?: () => Promise<void>;
  now?: () => number;
  /** undici dispatcher for webhook calls (tests, egress proxies). */
  webhookDispatcher?: Dispatcher;
}

/** Everything the meter knows when a request ends, however it ended. */
export interface FinishedRequest {
  /** From reserve(); absent when the request ended before reaching the budget stage. */
  reservation?: BudgetReservation;
  requestId: string;
  principal?: Pick<Principal, 'keyId' | 'teamId'>;
  model: string;
  deploymentId?: string | null;
  endpoint: string;
  /** Absent for requests that failed before the upstream produced anything (cost 0). */
  usage?: Usage;
  status: number;
  errorCode?: string | null;
  latencyMs: number;
  ttftMs?: number | null;
  /** Epoch ms the request arrived; default now - latencyMs. */
  startedAt?: number;
  /** Takes the ledger record instead of the batched recorder (batch items commit it with their result). */
  sink?: (record: UsageRecord) => void;
}

export interface Finops {
  readonly config: FinopsConfig;
  readonly stores: FinopsStores;
  readonly prices: PriceBook;
  readonly costs: CostModel;
  readonly rates: SelfHostedRates;
  readonly deployments: readonly DeploymentCostSpec[];
  readonly recorder: UsageRecorder;
  readonly budgets: BudgetGuard;
  readonly alerts: AlertMonitor;
  readonly webhooks: WebhookDispatcher;
  readonly digest: DigestScheduler | null;
  /** Mount under /admin/v1 (master key only). */
  readonly routes: FinopsRoute[];
  /**
   * Maximum cost of a request (see usage-bound.ts): its prompt bound at the dearest input price plus
   * max_tokens (or the default the gateway would send) for every choice at the output price, on
   * the dearest deployment of its model and fallbacks.
   */
  maxCostOf(request: CanonicalRequest): number;
  /**
   * Budget check before the upstream call; throws 429 budget_exceeded. When a budget applies and
   * the request has a cost but no max_tokens, sets the max_tokens it reserved for on the request,
   * so the upstream is told to stop there.
   */
  reserve(principal: Pick<Principal, 'keyId' | 'teamId'>, request: CanonicalRequest): Promise<BudgetReservation>;
  /** Costs the request, settles its reservation (in the background) and queues its ledger record. Sync; returns the cost. */
  finish(end: FinishedRequest): number;
  close(): Promise<void>;
}

export async function createFinops(options: CreateFinopsOptions): Promise<Finops> {
  const config = finopsSchema.parse(options.config.finops ?? {});
  const { logger } = options;
  const now = options.now ?? Date.now;
  const stores = finopsStores(options.sql);

  await stores.budgets.syncConfigBudgets(config.budgets.map((b) => budgetFromConfig(b, now())));

  const deployments = deploymentCostsFromModels(options.config.models);
  const prices = new PriceBook(config.prices);
  const rates = new SelfHostedRates(stores.ledger, deployments, {
    windowMs: config.self_hosted.window_ms,
    floorTokensPerGpuHour: config.self_hosted.floor_tokens_per_gpu_hour,
    refreshMs: config.self_hosted.refresh_ms,
    now,
    logger,
  });
  const fallbacks = new Map(options.config.models.map((m) => [m.name, m.fallbacks ?? []]));
  const costs = new CostModel(prices, rates, deployments, fallbacks);
  const unpriced = costs.unpricedHostedModels();
  if (unpriced.length > 0) {
    logger.warn({ models: unpriced }, 'finops: no price known for these hosted models; their requests cost 0 and escape budgets. Add them under finops.prices');
  }

  const recorder = new UsageRecorder(stores.ledger, {
    flushIntervalMs: config.ledger.flush_interval_ms,
    maxQueue: config.ledger.max_queue,
    batchSize: config.ledger.batch_size,
    logger,
    onDrop: options.onLedgerDrop,
  });
  const webhooks = new WebhookDispatcher({
    targets: webhookTargets(config.alerts.webhooks),
    log: stores.alerts,
    maxAttempts: config.alerts.max_attempts,
    backoffBaseMs: config.alerts.backoff_base_ms,
    backoffMaxMs: config.alerts.backoff_max_ms,
    timeoutMs: config.alerts.timeout_ms,
    onGiveUp: options.onWebhookGiveUp,
    dispatcher: options.webhookDispatcher,
    logger,
  });
  const notify = (n: Notification) => {
    logger.info({ kind: n.kind }, n.title);
    webhooks.send(n);
  };
  const alerts = new AlertMonitor({ log: stores.alerts, notify, defaultThresholds: config.alerts.thresholds, now, logger });
  const budgets = new BudgetGuard({
    counters: options.counters,
    budgets: stores.budgets,
    ledger: stores.ledger,
    onSpend: alerts.onSpend,
    beforeSeed: () => recorder.flush(),
    refreshMs: config.budget_enforcement.refresh_ms,
    reservationTimeoutMs: config.budget_enforcement.reservation_timeout_ms,
    failOpen: config.budget_enforcement.fail_open,
    now,
    logger,
  });

  await rates.start();
  await budgets.start();
  let digest: DigestScheduler | null = null;
  if (config.alerts.digest.enabled && webhooks.targetCount > 0) {
    digest = new DigestScheduler({ ledger: stores.ledger, log: stores.alerts, notify, timeUtc: config.alerts.digest.time_utc, now, logger });
    digest.start();
  }

  const routes = finopsAdminRoutes({
    ledger: stores.ledger,
    budgets: stores.budgets,
    alerts: stores.alerts,
    guard: budgets,
    costs,
    deployments,
    defaultThresholds: config.alerts.thresholds,
    beforeReport: () => recorder.flush(),
    announceBudgetsChanged: options.announceBudgetsChanged,
    now,
  });

  const enforcement = config.budget_enforcement;
  const allowances: TemplateAllowances = {
    perRequest: enforcement.template_tokens_per_request,
    withTools: enforcement.template_tokens_with_tools,
    perMessage: enforcement.template_tokens_per_message,
    perImage: enforcement.tokens_per_image,
  };
  const maxTokensOf = (request: CanonicalRequest): number =>
    request.params.max_tokens ?? (request.kind === 'completion' ? COMPLETIONS_DEFAULT_MAX_TOKENS : enforcement.default_max_output_tokens);
  const maxCostOf = (request: CanonicalRequest, maxTokens = maxTokensOf(request)): number => {
    const bound = usageBound(request, allowances, maxTokens);
    return costs.maxCostOf(request.model, bound.promptTokens, bound.outputTokens);
  };
  const reserve = (principal: Pick<Principal, 'keyId' | 'teamId'>, request: CanonicalRequest): Promise<BudgetReservation> => {
    const { requestId } = request.meta;
    if (!budgets.appliesTo(principal)) return budgets.reserve(principal, request.model, 0, requestId);
    const maxTokens = maxTokensOf(request);
    const cost = maxCostOf(request, maxTokens);
    // The reservation holds only if the upstream stops at the max_tokens it assumed.
    if (cost > 0 && request.kind !== 'embedding' && request.params.max_tokens === undefined) request.params.max_tokens = maxTokens;
    return budgets.reserve(principal, request.model, cost, requestId);
  };

  // Settles still talking to the counter store, awaited on close so none is cut off.
  const settles = new Set<Promise<void>>();
  let closed = false;
  return {
    config,
    stores,
    prices,
    costs,
    rates,
    deployments,
    recorder,
    budgets,
    alerts,
    webhooks,
    digest,
    routes,
    maxCostOf: (request) => maxCostOf(request),
    reserve,
    finish(end: FinishedRequest): number {
      const cost = end.usage ? costs.costOf(end.model, end.deploymentId, end.usage) : 0;
      if (end.reservation) {
        const settling = budgets.settle(end.reservation, cost);
        settles.add(settling);
        void settling.finally(() => settles.delete(settling));
      }
      const usage = end.usage;
      const record: UsageRecord = {
        // Time-ordered, so ledger inserts append to the primary-key index rather than scatter over it.
        id: timeSortableId('usage_'),
        time: end.startedAt ?? now() - end.latencyMs,
        requestId: end.requestId,
        keyId: end.principal?.keyId ?? null,
        teamId: end.principal?.teamId ?? null,
        model: end.model,
        deployment: end.deploymentId ?? null,
        endpoint: end.endpoint,
        promptTokens: usage?.prompt_tokens ?? 0,
        cachedTokens: usage?.cached_tokens ?? 0,
        cacheCreationTokens: usage?.cache_creation_tokens ?? 0,
        completionTokens: usage?.completion_tokens ?? 0,
        status: end.status,
        errorCode: end.errorCode ?? null,
        latencyMs: end.latencyMs,
        ttftMs: end.ttftMs ?? null,
        costUsd: cost,
        reservedUsd: end.reservation && end.reservation.periods.length > 0 ? fromMicros(end.reservation.reservedMicros) : null,
      };
      if (end.sink) end.sink(record);
      else recorder.record(record);
      return cost;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      digest?.stop();
      budgets.close();
      rates.close();
      await Promise.allSettled([...settles]);
      await recorder.close();
      await alerts.idle();
      await webhooks.close();
    },
  };
}

export type { BudgetReservation } from './budget-guard.ts';
export type { FinopsRoute } from './admin-routes.ts';
export type { UndeliveredWebhook } from './webhooks.ts';
export type { FinopsConfig } from './config.ts';
export { finopsSchema } from './config.ts';
export { costOf, PriceBook, type ModelPrice } from './pricing.ts';
export { budgetStage, finishRequest, ledgerStage, RESERVATION, USAGE_SINK } from './stages.ts';
export { deploymentCostsFromModels, type DeploymentCostSpec, type ModelLike } from './deployments.ts';
