// GET /admin/v1/deployments: what the gateway knows of every deployment, for operators.
// Never includes credentials or headers (they may carry secrets).

import type { ModelRegistry } from './registry.ts';
import type { AdminRoute } from '../api/routes.ts';

export function deploymentStatus(registry: ModelRegistry): unknown[] {
  const now = Date.now();
  const out: unknown[] = [];
  for (const pool of registry.pools.values()) {
    for (const d of pool.deployments) {
      const openUntil = d.breaker.openUntil;
      out.push({
        id: d.id,
        model: d.modelName,
        provider: d.adapter.kind,
        url: d.target.baseUrl,
        upstream_model: d.target.upstreamModel,
        weight: d.weight,
        healthy: d.healthy,
        available: d.available,
        circuit: {
          state: d.breaker.stateAt(now),
          consecutive_failures: d.breaker.consecutiveFailures,
          ejections: d.breaker.ejections,
          open_until: openUntil > now ? new Date(openUntil).toISOString() : null,
        },
        in_flight: d.inFlight,
        in_flight_tokens: d.inFlightTokens,
        max_concurrency: d.maxConcurrency ?? null,
        ttft_ewma_ms: d.ttftEwmaMs === undefined ? null : Math.round(d.ttftEwmaMs * 10) / 10,
        engine: d.scraped ?? null,
        last_error: d.lastError,
        queue_depth: pool.queueDepth,
        routing_policy: pool.policy.name,
      });
    }
  }
  return out;
}

export function deploymentStatusRoutes(registry: ModelRegistry): AdminRoute[] {
  return [{ method: 'GET', pattern: /^\/deployments\/?$/, handler: async () => ({ status: 200, body: { object: 'list', data: deploymentStatus(registry) } }) }];
}
