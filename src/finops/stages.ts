// FinOps in the pipeline: two stages.
//   ledgerStage   records every request that reached it when it ends, however it ends: its cost,
//                 the settling of its budget reservation, its usage record;
//   budgetStage   reserves the request's maximum cost against every applicable budget before it is
//                 routed (429 budget_exceeded), held in the context for the ledger's end handler.
// The ledger stage registers its end handler before the budget stage runs, so a request refused by
// the limit or budget stage is recorded too.

import { performance } from 'node:perf_hooks';
import { Slot, type RequestContext, type RequestEnd, type Stage } from '../pipeline/index.ts';
import type { BudgetReservation } from './budget-guard.ts';
import type { Finops } from './index.ts';
import type { UsageRecord } from './ports.ts';

/** The request's budget reservation, made by the budget stage and settled by the ledger's end handler. */
export const RESERVATION = new Slot<BudgetReservation>('finops.reservation');

/**
 * Where a request's usage record goes instead of the shared batched ledger: a batch item writes it
 * in the same transaction as its result, so usage is recorded once per completed item.
 */
export const USAGE_SINK = new Slot<(record: UsageRecord) => void>('finops.usage_sink');

export function ledgerStage(finops: Pick<Finops, 'finish'>): Stage {
  return async (ctx, next) => {
    ctx.onEnd((end) => void finishRequest(finops, ctx, end));
    await next();
  };
}

export function budgetStage(finops: Pick<Finops, 'reserve'>): Stage {
  return async (ctx, next) => {
    const principal = ctx.principal;
    if (principal && ctx.request) ctx.set(RESERVATION, await finops.reserve(principal, ctx.request));
    await next();
  };
}

/** Costs the ended request, settles its reservation, records its usage. Returns the cost in USD. */
export function finishRequest(finops: Pick<Finops, 'finish'>, ctx: RequestContext, end: RequestEnd): number {
  const latencyMs = performance.now() - ctx.startedAt;
  return finops.finish({
    reservation: ctx.get(RESERVATION),
    requestId: ctx.requestId,
    principal: ctx.principal,
    // The model that served it (a fallback may differ from the one asked for).
    model: ctx.served?.model ?? ctx.request?.model ?? 'unknown',
    deploymentId: ctx.served?.deploymentId ?? null,
    endpoint: ctx.endpoint,
    usage: end.usage,
    status: end.status,
    errorCode: end.errorCode ?? null,
    latencyMs,
    ttftMs: ctx.firstTokenAt === undefined ? null : ctx.firstTokenAt - ctx.startedAt,
    startedAt: Date.now() - latencyMs,
    sink: ctx.get(USAGE_SINK),
  });
}
