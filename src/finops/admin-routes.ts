// FinOps admin API, framework-free: a route table the server mounts under /admin/v1/ behind the
// master key. Patterns match the path after /admin/v1. Errors are GatewayErrors naming the field.
//
//   POST   /budgets                     create a budget
//   GET    /budgets                     list budgets with their current period spend
//   GET    /budgets/{id}                one budget, its spend and this period's alert firings
//   DELETE /budgets/{id}                delete an API-created budget
//   GET    /budgets/{id}/reservations   reservations open on its current period (every replica)
//   DELETE /budgets/{id}/reservations[/{reservation_id}]   release them (all, or one)
//   GET    /spend?from&to&group_by      spend report (team | key | model | day | deployment)
//   GET    /reports/self-host-vs-api?model&reference&window

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../api/errors.ts';
import { parseOrThrow } from '../api/validation.ts';
import type { BudgetGuard, BudgetStatus, OpenReservation } from './budget-guard.ts';
import { BUDGET_PERIODS, BUDGET_SCOPES, thresholdsSchema } from './config.ts';
import type { CostModel } from './cost-model.ts';
import type { DeploymentCostSpec } from './deployments.ts';
import { GROUP_BYS, type AlertLog, type Budget, type BudgetRepository, type GroupBy, type SpendRow, type UsageLedger } from './ports.ts';
import { selfHostVsApi } from './self-host-report.ts';
import { INSTANT_HELP, parseDuration, parseInstant } from './time-args.ts';

export interface FinopsAdminRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}

export interface FinopsAdminResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FinopsRoute {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  handler(req: FinopsAdminRequest): Promise<FinopsAdminResponse>;
}

export interface AdminDeps {
  ledger: UsageLedger;
  budgets: BudgetRepository;
  alerts: Pick<AlertLog, 'listFirings'>;
  guard: BudgetGuard;
  costs: CostModel;
  deployments: readonly DeploymentCostSpec[];
  defaultThresholds: readonly number[];
  /** Runs before reports so they include records still queued in memory (recorder.flush). */
  beforeReport?: () => Promise<void>;
  /** Tells other gateway replicas to reload budget definitions now (they poll otherwise). */
  announceBudgetsChanged?: () => Promise<void>;
  now?: () => number;
}

const createBudgetSchema = z
  .strictObject({
    id: z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits, ".", "_", ":" or "-"').optional(),
    name: z.string().min(1).max(200).optional(),
    scope: z.enum(BUDGET_SCOPES),
    scope_id: z.string().min(1).max(200).optional(),
    period: z.enum(BUDGET_PERIODS),
    limit_usd: z.number().positive().max(1e9),
    thresholds: thresholdsSchema.optional(),
  })
  .refine((b) => (b.scope === 'global') === (b.scope_id === undefined), {
    message: 'scope_id is required for key and team budgets and not allowed for global ones',
    path: ['scope_id'],
  });

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function budgetJson(b: Budget, defaults: readonly number[], status?: BudgetStatus): Record<string, unknown> {
  return {
    id: b.id,
    object: 'budget',
    name: b.name,
    scope: b.scope,
    scope_id: b.scopeId,
    period: b.period,
    limit_usd: b.limitUsd,
    thresholds: b.thresholds ?? [...defaults],
    source: b.source,
    created_at: iso(b.createdAt),
    ...(status && {
      current_period: {
        start: iso(status.periodStart),
        end: iso(status.periodEnd),
        spent_usd: round6(status.spentUsd),
        in_flight_usd: round6(status.inFlightUsd),
        remaining_usd: round6(status.remainingUsd),
        percent_used: Math.round((status.spentUsd / b.limitUsd) * 1000) / 10,
      },
    }),
  };
}

export function spendRowJson(r: SpendRow): Record<string, unknown> {
  return {
    group: r.group,
    requests: r.requests,
    prompt_tokens: r.promptTokens,
    cached_tokens: r.cachedTokens,
    cache_creation_tokens: r.cacheCreationTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
    cost_usd: round6(r.costUsd),
  };
}

function reservationJson(r: OpenReservation): Record<string, unknown> {
  return {
    id: r.id,
    object: 'budget.reservation',
    amount_usd: round6(r.amountUsd),
    request_id: r.requestId ?? null,
    model: r.model ?? null,
    key_id: r.keyId ?? null,
    team_id: r.teamId ?? null,
    gateway: r.gateway ?? null,
    created_at: r.createdAt === undefined ? null : iso(r.createdAt),
    expires_at: iso(r.expiresAt),
  };
}

function instant(query: Record<string, string>, name: string, fallback: string, now: number): number {
  const value = query[name] ?? fallback;
  const ms = parseInstant(value, now);
  if (ms === undefined) throw new GatewayError('invalid_request', `${name}: "${value}" is not ${INSTANT_HELP}.`, { param: name, code: 'invalid_value' });
  return ms;
}

function notFound(id: string): GatewayError {
  return new GatewayError('not_found', `No budget with id "${id}".`, { param: 'id', code: 'budget_not_found' });
}

export function finopsAdminRoutes(deps: AdminDeps): FinopsRoute[] {
  const now = deps.now ?? Date.now;

  const createBudget: FinopsRoute['handler'] = async ({ body }) => {
    const input = parseOrThrow(createBudgetSchema, body);
    const budget: Budget = {
      id: input.id ?? `bud_${randomBytes(9).toString('base64url')}`,
      name: input.name ?? null,
      scope: input.scope,
      scopeId: input.scope_id ?? null,
      period: input.period,
      limitUsd: input.limit_usd,
      thresholds: input.thresholds ?? null,
      source: 'api',
      createdAt: now(),
    };
    if (!(await deps.budgets.create(budget))) {
      throw new GatewayError('invalid_request', `A budget with id "${budget.id}" exists already.`, { param: 'id', code: 'budget_exists', status: 409 });
    }
    await deps.guard.reload();
    await deps.announceBudgetsChanged?.();
    // Created either way: without its counters (Redis unreachable) the answer leaves out current_period.
    const status = await deps.guard.status(budget).catch((err: unknown) => {
      if (err instanceof GatewayError && err.code === 'budget_store_unavailable') return undefined;
      throw err;
    });
    return { status: 201, body: budgetJson(budget, deps.defaultThresholds, status) };
  };

  const listBudgets: FinopsRoute['handler'] = async ({ query }) => {
    let budgets = await deps.budgets.list();
    if (query.scope) budgets = budgets.filter((b) => b.scope === query.scope);
    if (query.scope_id) budgets = budgets.filter((b) => b.scopeId === query.scope_id);
    const data = await Promise.all(budgets.map(async (b) => budgetJson(b, deps.defaultThresholds, await deps.guard.status(b))));
    return { status: 200, body: { object: 'list', data } };
  };

  const getBudget: FinopsRoute['handler'] = async ({ params }) => {
    const budget = await deps.budgets.get(params.id);
    if (!budget) throw notFound(params.id);
    const status = await deps.guard.status(budget);
    const firings = await deps.alerts.listFirings(budget.id, status.periodStart);
    return {
      status: 200,
      body: {
        ...budgetJson(budget, deps.defaultThresholds, status),
        // A budget created or changed on another replica binds this one once its broadcast (or the
        // periodic refresh) arrives; this says whether it has.
        enforced_by_this_replica: deps.guard.enforces(budget),
        alerts_fired: firings.map((f) => ({ threshold_percent: f.threshold, spent_usd: round6(f.spentUsd), fired_at: iso(f.firedAt) })),
      },
    };
  };

  const deleteBudget: FinopsRoute['handler'] = async ({ params }) => {
    const budget = await deps.budgets.get(params.id);
    if (!budget) throw notFound(params.id);
    if (budget.source === 'config') {
      throw new GatewayError('invalid_request', `Budget "${budget.id}" is defined in the config file; remove it there and restart.`, { param: 'id', code: 'budget_in_config', status: 409 });
    }
    await deps.budgets.delete(budget.id);
    await deps.guard.reload();
    await deps.announceBudgetsChanged?.();
    return { status: 200, body: { id: budget.id, object: 'budget', deleted: true } };
  };

  const existing = async (id: string): Promise<Budget> => {
    const budget = await deps.budgets.get(id);
    if (!budget) throw notFound(id);
    return budget;
  };

  const listReservations: FinopsRoute['handler'] = async ({ params }) => {
    const budget = await existing(params.id);
    const open = await deps.guard.reservations(budget);
    return {
      status: 200,
      body: { object: 'list', budget_id: budget.id, data: open.map(reservationJson), total_usd: round6(open.reduce((sum, r) => sum + r.amountUsd, 0)) },
    };
  };

  const releaseReservations: FinopsRoute['handler'] = async ({ params }) => {
    const budget = await existing(params.id);
    const one = params.reservation;
    const released = await deps.guard.release(budget, one === undefined ? undefined : [one]);
    if (one !== undefined && released.length === 0) {
      throw new GatewayError('not_found', `Budget "${budget.id}" holds no open reservation "${one}" this period (settled, expired or released already).`, {
        param: 'reservation_id',
        code: 'reservation_not_found',
      });
    }
    return {
      status: 200,
      body: {
        object: 'budget.reservations_released',
        budget_id: budget.id,
        data: released.map(reservationJson),
        released_usd: round6(released.reduce((sum, r) => sum + r.amountUsd, 0)),
      },
    };
  };

  const spend: FinopsRoute['handler'] = async ({ query }) => {
    const t = now();
    const from = instant(query, 'from', '30d', t);
    const to = instant(query, 'to', 'now', t);
    if (from >= to) throw new GatewayError('invalid_request', 'from must be earlier than to.', { param: 'from', code: 'invalid_value' });
    const groupBy = (query.group_by ?? 'team') as GroupBy;
    if (!GROUP_BYS.includes(groupBy)) {
      throw new GatewayError('invalid_request', `group_by must be one of ${GROUP_BYS.join(', ')}.`, { param: 'group_by', code: 'invalid_value' });
    }
    await deps.beforeReport?.().catch(() => {});
    const rows = await deps.ledger.spendReport(from, to, groupBy);
    const total = rows.reduce<SpendRow>(
      (s, r) => ({
        group: null,
        requests: s.requests + r.requests,
        promptTokens: s.promptTokens + r.promptTokens,
        cachedTokens: s.cachedTokens + r.cachedTokens,
        cacheCreationTokens: s.cacheCreationTokens + r.cacheCreationTokens,
        completionTokens: s.completionTokens + r.completionTokens,
        costUsd: s.costUsd + r.costUsd,
      }),
      { group: null, requests: 0, promptTokens: 0, cachedTokens: 0, cacheCreationTokens: 0, completionTokens: 0, costUsd: 0 },
    );
    const { group: _group, ...totalJson } = spendRowJson(total);
    return { status: 200, body: { object: 'spend_report', from: iso(from), to: iso(to), group_by: groupBy, data: rows.map(spendRowJson), total: totalJson } };
  };

  const selfHostReport: FinopsRoute['handler'] = async ({ query }) => {
    const model = query.model;
    if (!model) throw new GatewayError('invalid_request', 'model is required: the self-hosted model to report on.', { param: 'model', code: 'invalid_value' });
    if (!deps.deployments.some((d) => d.model === model && d.gpuHourlyUsd !== undefined)) {
      throw new GatewayError('not_found', `Model "${model}" has no self-hosted deployment with gpu_hourly_usd configured.`, { param: 'model', code: 'model_not_found' });
    }
    const reference = query.reference ?? 'gpt-4o-mini';
    const referencePrice = deps.costs.priceFor(reference);
    if (!referencePrice) {
      throw new GatewayError('invalid_request', `No price is known for reference model "${reference}"; add it under finops.prices.`, { param: 'reference', code: 'invalid_value' });
    }
    const window = query.window ?? '24h';
    const windowMs = parseDuration(window);
    if (windowMs === undefined || windowMs < 60_000) {
      throw new GatewayError('invalid_request', `window: "${window}" is not a duration of at least a minute such as 1h, 24h or 7d.`, { param: 'window', code: 'invalid_value' });
    }
    await deps.beforeReport?.().catch(() => {});
    const report = await selfHostVsApi({ ledger: deps.ledger, deployments: deps.deployments, model, referenceModel: reference, referencePrice, windowMs, now: now() });
    return { status: 200, body: { object: 'self_host_vs_api_report', ...report } };
  };

  return [
    { method: 'POST', pattern: /^\/budgets\/?$/, handler: createBudget },
    { method: 'GET', pattern: /^\/budgets\/?$/, handler: listBudgets },
    { method: 'GET', pattern: /^\/budgets\/(?<id>[^/]+)$/, handler: getBudget },
    { method: 'DELETE', pattern: /^\/budgets\/(?<id>[^/]+)$/, handler: deleteBudget },
    { method: 'GET', pattern: /^\/budgets\/(?<id>[^/]+)\/reservations\/?$/, handler: listReservations },
    { method: 'DELETE', pattern: /^\/budgets\/(?<id>[^/]+)\/reservations\/?$/, handler: releaseReservations },
    { method: 'DELETE', pattern: /^\/budgets\/(?<id>[^/]+)\/reservations\/(?<reservation>[^/]+)$/, handler: releaseReservations },
    { method: 'GET', pattern: /^\/spend\/?$/, handler: spend },
    { method: 'GET', pattern: /^\/reports\/self-host-vs-api\/?$/, handler: selfHostReport },
  ];
}
