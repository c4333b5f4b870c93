// The pipeline every inference request takes, interactive or batch, top to bottom. This is the one
// place the stages are listed; each owns one job and lives with its capability. Every stage that
// must act when the request ends registers ctx.onEnd; the kernel fires it once, however it ends.

import { parseBody } from '../api/parse.ts';
import type { Finops } from '../finops/index.ts';
import { budgetStage, ledgerStage } from '../finops/stages.ts';
import { createKernel, type Kernel, type Stage } from '../pipeline/index.ts';
import type { ModelRegistry } from '../routing/registry.ts';
import { resolveModel } from '../routing/stages/resolve-model.ts';
import { routeAndCall } from '../routing/stages/route-and-call.ts';
import type { Logger } from '../telemetry/logger.ts';
import { meter } from '../telemetry/meter.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';

export interface PipelineParts {
  registry: ModelRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Sets ctx.principal: from the presented key (tenancy), or the batch owner for batch items. */
  authenticate: Stage;
  /** Model allowlists, RPM/TPM/concurrency limits (tenancy). */
  limit: Stage;
  finops: Pick<Finops, 'reserve' | 'finish'>;
}

export function createPipeline(parts: PipelineParts): Kernel {
  const { registry, metrics, logger } = parts;
  return createKernel(
    [
      parts.authenticate, // who is calling, before the body is even parsed (a 401 costs no parsing)
      parseBody, // JSON once, then the edge format's validation into the canonical request
      resolveModel(registry), // which model pool serves it (404 otherwise)
      meter(metrics, logger), // metrics and the request log line for every request that names a model
      ledgerStage(parts.finops), // cost and usage record of every request from here on, refusals included
      parts.limit, // allowlists and rate limits of the key and its team (429 with x-ratelimit-* headers)
      budgetStage(parts.finops), // reserves the maximum cost last, once nothing else can refuse before routing
      routeAndCall(registry, metrics), // admit, route, call; retry elsewhere before the first byte; fall back
    ],
    { reportError: (err, ctx) => logger.error({ err, reqId: ctx.requestId }, 'recording the end of a request failed') },
  );
}
