// Route and call: admit the request to a deployment of its model (queueing by priority when all
// are busy), call it, and on a retryable failure before any byte reached the client back off and
// try another deployment; when the model cannot serve at all, walk its fallback chain.

import { performance } from 'node:perf_hooks';
import { GatewayError, toGatewayError } from '../../api/errors.ts';
import type { CanonicalChunk, CanonicalRequest, CanonicalStream } from '../../api/canonical.ts';
import { estimatePromptTokens } from '../../api/estimate.ts';
import { LOWEST_PRIORITY } from '../../api/priority.ts';
import { respondWithStream, type RequestContext, type Stage } from '../../pipeline/index.ts';
import { callUpstream, type UpstreamResult } from '../../providers/upstream-client.ts';
import type { GatewayMetrics } from '../../telemetry/metrics.ts';
import { backoffMs, retryAfterMs, sleep } from '../../util/backoff.ts';
import type { Deployment, WorkTicket } from '../deployment.ts';
import type { ModelPool } from '../model-pool.ts';
import { routingRequestFor } from '../prefix-hash.ts';
import type { ModelRegistry } from '../registry.ts';
import type { RoutingRequest } from '../types.ts';
import { POOL } from './resolve-model.ts';

const DEFAULT_OUTPUT_TOKENS = 256;

function routingRequest(pool: ModelPool, req: CanonicalRequest, sessionHeader: string | string[] | undefined): RoutingRequest {
  const sessionKey = typeof sessionHeader === 'string' && sessionHeader !== '' ? sessionHeader : req.meta.user;
  if (pool.needsPrefixHashes) return { ...routingRequestFor(req, { defaultOutputTokens: DEFAULT_OUTPUT_TOKENS }), sessionKey };
  // Policies that ignore prefixes get a cheap estimate instead of a rendering of the conversation.
  return {
    prefixHashes: [],
    estimatedPromptTokens: estimatePromptTokens(req),
    expectedOutputTokens: (req.params.max_tokens ?? DEFAULT_OUTPUT_TOKENS) * (req.params.n ?? 1),
    sessionKey,
  };
}

/** A stream read up to its first token, and the rest still to read. */
interface PrimedStream {
  buffered: CanonicalChunk[];
  rest: AsyncIterator<CanonicalChunk>;
  finished: boolean;
}

/** Reads a stream up to its first token, so failures before it can still be retried elsewhere. */
async function primeStream(stream: CanonicalStream): Promise<PrimedStream> {
  const rest = stream[Symbol.asyncIterator]();
  const buffered: CanonicalChunk[] = [];
  let finished = false;
  try {
    for (;;) {
      const next = await rest.next();
      if (next.done) {
        finished = true;
        break;
      }
      buffered.push(next.value);
      const c = next.value;
      if (c.type === 'usage' || (c.type === 'delta' && (c.text || c.tool_calls || c.finish_reason))) break;
    }
  } catch (err) {
    await rest.return?.();
    throw err;
  }
  return { buffered, rest, finished };
}

function settleJson(ctx: RequestContext, result: Extract<UpstreamResult, { type: 'json' }>, pool: ModelPool, d: Deployment, ticket: WorkTicket, startedAt: number): void {
  d.firstToken(ticket, performance.now() - startedAt);
  d.settle(ticket, 'success', Date.now());
  d.end(ticket);
  pool.recordServiceTime(performance.now() - startedAt);
  ctx.result = result;
}

/** The stream is handed on; the deployment's slot and breaker are settled when the request ends. */
function settleStream(ctx: RequestContext, primed: PrimedStream, pool: ModelPool, d: Deployment, ticket: WorkTicket, startedAt: number): void {
  d.firstToken(ticket, performance.now() - startedAt);
  ctx.onEnd((end) => {
    if (end.ending === 'stream_completed') d.settle(ticket, 'success', Date.now());
    else if (end.ending === 'stream_failed') d.settle(ticket, end.clientGone ? 'cancelled' : 'failure', Date.now());
    d.end(ticket);
    pool.recordServiceTime(performance.now() - startedAt);
  });
  respondWithStream(ctx, primed.rest, primed.buffered, primed.finished);
}

/**
 * Connection deaths before any answer that make a request a suspected query of death: two
 * replicas' connections closing on it is unlikely to be chance, and every further attempt could
 * take down another replica.
 */
const POISON_CONNECTION_DEATHS = 2;

function poisonError(pool: ModelPool, crashed: readonly string[]): GatewayError {
  return new GatewayError(
    'upstream_error',
    `The connections of ${crashed.length} deployments of model \`${pool.name}\` (${crashed.join(', ')}) closed before answering while this request was the last thing they received: ` +
      'the request itself appears to crash the upstream engine, so it was not retried further. Check it for input the engine cannot handle (for example very large tool schemas or parameters).',
    { code: 'request_crashed_upstream', retryable: false },
  );
}

/** Calls deployments of one pool until one answers; sets ctx.result, or throws the last failure. */
async function callPool(ctx: RequestContext, pool: ModelPool, metrics: GatewayMetrics): Promise<void> {
  const req = ctx.request!;
  const routing = routingRequest(pool, req, ctx.headers[pool.sessionHeader]);
  const exclude = new Set<Deployment>();
  let lastError: GatewayError | undefined;
  let waitMs = 0;
  let crashed: string[] | undefined;
  for (let attempt = 0; attempt <= pool.maxRetries; attempt++) {
    if (attempt > 0) {
      metrics.retries.inc({ model: pool.name });
      await sleep(Math.max(waitMs, backoffMs(attempt, pool.backoff)), ctx.signal);
    }
    let d = await pool.acquire(routing, ctx.priority, exclude, ctx.signal);
    if (!d && exclude.size > 0) {
      // Every deployment has failed once: try again from the top rather than give up early.
      exclude.clear();
      d = await pool.acquire(routing, ctx.priority, exclude, ctx.signal);
    }
    if (!d) break;
    ctx.served = { model: pool.name, deploymentId: d.id };
    ctx.attempts += 1;
    const startedAt = performance.now();
    const ticket = d.begin(routing.estimatedPromptTokens, routing.expectedOutputTokens, ctx.priority === LOWEST_PRIORITY, startedAt);
    try {
      const result = await callUpstream(d, req, ctx.signal, ticket);
      if (result.type === 'json') return settleJson(ctx, result, pool, d, ticket, startedAt);
      return settleStream(ctx, await primeStream(result.stream), pool, d, ticket, startedAt);
    } catch (err) {
      const error = toGatewayError(err);
      if (ctx.signal.aborted) {
        d.settle(ticket, 'cancelled', Date.now());
        d.end(ticket);
        throw error;
      }
      // A request the upstream rejected (a 4xx: context too long, invalid fields) says nothing bad
      // about the upstream: it answered. It is not an upstream error of the deployment.
      d.settle(ticket, error.retryable ? 'failure' : 'success', Date.now());
      d.end(ticket);
      if (!error.retryable) throw error;
      metrics.upstreamErrors.inc({ model: pool.name, deployment: d.id, code: error.code ?? error.kind });
      d.lastError = error.message;
      if (error.code === 'upstream_connection_closed') {
        (crashed ??= []).push(d.id);
        if (crashed.length >= POISON_CONNECTION_DEATHS) throw poisonError(pool, crashed);
      }
      lastError = error;
      exclude.add(d);
      const retryAfter = retryAfterMs(error.headers['retry-after']);
      waitMs = retryAfter !== undefined && retryAfter <= pool.retry.max_retry_after_ms ? retryAfter : 0;
    }
  }
  throw lastError ?? new GatewayError('upstream_unreachable', `No deployment of model \`${pool.name}\` is available.`, { code: 'no_deployment_available' });
}

export function routeAndCall(registry: ModelRegistry, metrics: GatewayMetrics): Stage {
  return async (ctx) => {
    const primary = ctx.get(POOL)!;
    const chain: ModelPool[] = [primary];
    for (const name of primary.fallbacks) {
      const pool = registry.get(name);
      if (pool) chain.push(pool);
    }
    let lastError: GatewayError | undefined;
    for (const pool of chain) {
      if (pool !== primary) metrics.fallbacks.inc({ from: primary.name, to: pool.name });
      try {
        await callPool(ctx, pool, metrics);
        return;
      } catch (err) {
        const error = toGatewayError(err);
        if (error.kind === 'overloaded' && error.code === 'model_overloaded') metrics.shed.inc({ model: pool.name });
        // Only the upstream's failures move on to a fallback model; the request's own faults don't.
        if (!error.retryable || ctx.signal.aborted) throw error;
        lastError = error;
      }
    }
    throw lastError!;
  };
}
