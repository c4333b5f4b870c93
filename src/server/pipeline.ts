// The pipeline every inference request takes, top to bottom. Adding a concern means adding a stage.

import type { Usage } from '../api/canonical.ts';
import type { ModelRegistry } from '../routing/registry.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';
import { compose, type RequestContext, type Stage } from './context.ts';
import { parseBody } from './stages/parse.ts';
import { resolveModel } from './stages/resolve-model.ts';
import { meter } from './stages/meter.ts';
import { routeAndCall } from './stages/call-upstream.ts';

export interface PipelineDeps {
  registry: ModelRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Sets ctx.principal from the presented key (tenancy). */
  authenticate: Stage;
  /** Model allowlists, RPM/TPM/concurrency limits; settles itself when the request ends (tenancy). */
  limit: Stage;
  /** Reserves the request's maximum cost against every applicable budget (finops). */
  budget: Stage;
  /** Called once per request however it ends, with what it produced: the usage ledger (finops). */
  onRequestEnd: (ctx: RequestContext, status: number, usage: Usage | undefined, errorCode?: string) => void;
}

export function createPipeline(deps: PipelineDeps): (ctx: RequestContext) => Promise<void> {
  return compose([
    deps.authenticate, // who is calling (before the body is even parsed)
    parseBody, // JSON once, then the edge format's validation into the canonical request
    resolveModel(deps.registry), // which model pool serves it (404 otherwise)
    meter(deps.metrics, deps.logger, deps.onRequestEnd), // metrics, request log and ledger, however the request ends
    deps.limit, // allowlists and rate limits of the key and its team (429 with x-ratelimit-* headers)
    deps.budget, // budgets: reserve the maximum cost now, settle the real cost at the end (429 budget_exceeded)
    routeAndCall(deps.registry, deps.metrics), // admit, route, call; retry elsewhere before the first byte; fall back
  ]);
}
