// The two touch points between FinOps and the request pipeline, so wiring is two lines:
//   budgetStage(finops)            a stage after authenticate + parse + resolve-model, before routing:
//                                  reserves the request's maximum cost (429 budget_exceeded);
//   requestEnded(finops, ctx, ...) from the meter's end-of-request hook, exactly once per request:
//                                  costs it, settles its reservation, queues its ledger record.
// The reservation travels in a WeakMap keyed by the request context, so RequestContext needs no
// FinOps field and nothing leaks when a context is dropped.

import { performance } from 'node:perf_hooks';
import type { Usage } from '../api/canonical.ts';
import type { RequestContext, Stage } from '../server/context.ts';
import type { BudgetReservation } from './budget-guard.ts';
import type { Finops } from './index.ts';

const reservations = new WeakMap<RequestContext, BudgetReservation>();

export function budgetStage(finops: Pick<Finops, 'reserve'>): Stage {
  return async (ctx, next) => {
    const principal = ctx.principal;
    if (principal && ctx.request) reservations.set(ctx, await finops.reserve(principal, ctx.request));
    await next();
  };
}

/** The reservation made for this request, if the budget stage ran. */
export function reservationOf(ctx: RequestContext): BudgetReservation | undefined {
  return reservations.get(ctx);
}

/**
 * Records the end of a request. `usage` is what the meter measured (undefined when nothing was
 * produced); `errorCode` the GatewayError code or kind for failures. Returns the cost in USD.
 */
export function requestEnded(finops: Pick<Finops, 'finish'>, ctx: RequestContext, status: number, usage: Usage | undefined, errorCode?: string): number {
  const reservation = reservations.get(ctx);
  reservations.delete(ctx);
  const latencyMs = performance.now() - ctx.startedAt;
  return finops.finish({
    reservation,
    requestId: ctx.requestId,
    principal: ctx.principal,
    // The model that served it (a fallback may differ from the one asked for).
    model: ctx.deployment?.modelName ?? ctx.request?.model ?? 'unknown',
    deploymentId: ctx.deployment?.id ?? null,
    endpoint: ctx.endpoint,
    usage,
    status,
    errorCode: errorCode ?? null,
    latencyMs,
    ttftMs: ctx.firstTokenAt === undefined ? null : ctx.firstTokenAt - ctx.startedAt,
    startedAt: Date.now() - latencyMs,
    sink: ctx.recordUsage,
  });
}
