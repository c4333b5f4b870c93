// The pipeline every inference request takes, top to bottom. Adding a concern means adding a stage.

import type { ModelRegistry } from '../routing/registry.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import type { Logger } from '../telemetry/logger.ts';
import { compose, type RequestContext } from './context.ts';
import { authenticate } from './stages/authenticate.ts';
import { parseBody } from './stages/parse.ts';
import { resolveModel } from './stages/resolve-model.ts';
import { meter } from './stages/meter.ts';
import { routeAndCall } from './stages/call-upstream.ts';

export interface PipelineDeps {
  registry: ModelRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  masterKey: string | undefined;
}

export function createPipeline(deps: PipelineDeps): (ctx: RequestContext) => Promise<void> {
  return compose([
    authenticate(deps.masterKey), // who is calling (before the body is even parsed)
    parseBody, // JSON once, then the edge format's validation into the canonical request
    resolveModel(deps.registry), // which model pool serves it (404 otherwise)
    meter(deps.metrics, deps.logger), // metrics and the request log, however the request ends
    routeAndCall(deps.registry, deps.metrics), // admit, route, call; retry elsewhere before the first byte; fall back
  ]);
}
