// Route and call: pick a deployment, call it, and on a retryable failure before any byte reached
// the client try another deployment of the same model (up to the model's max_retries).

import { GatewayError, toGatewayError } from '../../api/errors.ts';
import type { CanonicalChunk, CanonicalStream } from '../../api/canonical.ts';
import { callUpstream, type UpstreamResult } from '../../providers/upstream-client.ts';
import type { Deployment } from '../../routing/deployment.ts';
import type { GatewayMetrics } from '../../telemetry/metrics.ts';
import type { Stage } from '../context.ts';

async function* releaseWhenDone(stream: CanonicalStream, deployment: Deployment): AsyncGenerator<CanonicalChunk> {
  try {
    yield* stream;
  } finally {
    deployment.inFlight -= 1;
  }
}

function holdUntilDone(result: UpstreamResult, deployment: Deployment): UpstreamResult {
  if (result.type === 'json') {
    deployment.inFlight -= 1;
    return result;
  }
  return { type: 'stream', stream: releaseWhenDone(result.stream, deployment) };
}

export function callUpstreamWithRetries(metrics: GatewayMetrics): Stage {
  return async (ctx) => {
    const pool = ctx.pool!;
    const req = ctx.request!;
    const tried = new Set<Deployment>();
    let lastError: GatewayError | undefined;
    for (let attempt = 0; attempt <= pool.maxRetries; attempt++) {
      const deployment = pool.pick(tried);
      if (!deployment) break;
      tried.add(deployment);
      ctx.deployment = deployment;
      ctx.attempts += 1;
      deployment.inFlight += 1;
      try {
        const result = await callUpstream(deployment, req, ctx.signal);
        deployment.markSuccess();
        ctx.result = holdUntilDone(result, deployment);
        return;
      } catch (err) {
        deployment.inFlight -= 1;
        const error = toGatewayError(err);
        metrics.upstreamErrors.inc({ model: pool.name, deployment: deployment.id, code: error.code ?? error.kind });
        if (error.kind === 'upstream_unreachable') deployment.markConnectionFailure(error.message);
        if (!error.retryable || ctx.signal.aborted) throw error;
        lastError = error;
      }
    }
    throw lastError ?? new GatewayError('upstream_unreachable', `No deployment of model \`${pool.name}\` is available.`, { code: 'no_deployment_available' });
  };
}
