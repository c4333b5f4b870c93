// Runs one batch item through the same pipeline as interactive requests (the owner's limits,
// budgets, routing, retries across replicas), at batch priority, and turns what happened into an
// ItemOutcome: done, try again later, or dead. Usage records are captured, not queued, so they
// commit with the outcome.

import { performance } from 'node:perf_hooks';
import type { EndpointKind } from '../api/canonical.ts';
import type { EdgeFormat } from '../api/edge.ts';
import { EDGES } from '../api/edges.ts';
import { BATCHABLE_ENDPOINTS, type BatchablePath } from '../api/endpoints.ts';
import { toGatewayError, type GatewayError } from '../api/errors.ts';
import { LOWEST_PRIORITY } from '../api/priority.ts';
import { USAGE_SINK } from '../finops/stages.ts';
import type { UsageRecord } from '../finops/ports.ts';
import type { Kernel } from '../pipeline/index.ts';
import { backoffMs, retryAfterMs, type BackoffPolicy } from '../util/backoff.ts';
import { newDeadLetterId } from './ids.ts';
import { ownerPrincipal } from './ingest.ts';
import type { Attempt, BatchRecord, ClaimedItem, ItemOutcome } from './types.ts';

/** What an item of a batch for each endpoint runs as: its kind, and the edge its answers are written in. */
const TARGETS = new Map<BatchablePath, { kind: EndpointKind; edge: EdgeFormat }>(BATCHABLE_ENDPOINTS.map((e) => [e.path, { kind: e.kind, edge: EDGES[e.edge] }]));

const JSON_HEADERS = { 'content-type': 'application/json' };

export interface ExecutorOptions {
  /** The inference pipeline, authenticating the batch owner instead of a presented key. */
  pipeline: Kernel;
  maxAttempts: number;
  backoff: BackoffPolicy;
  random?: () => number;
}

/** Worth trying again later: overload, rate limits (not budgets), upstream and gateway failures. */
export function isRetryable(e: GatewayError): boolean {
  if (e.code === 'budget_exceeded' || e.code === 'client_disconnected') return false;
  return e.status === 408 || e.status === 429 || e.status >= 500;
}

export class BatchExecutor {
  private readonly random: () => number;

  constructor(private readonly options: ExecutorOptions) {
    this.random = options.random ?? Math.random;
  }

  async execute(item: ClaimedItem, batch: BatchRecord, signal: AbortSignal): Promise<ItemOutcome> {
    const ledger: UsageRecord[] = [];
    const { kind, edge } = TARGETS.get(batch.endpoint)!;
    // The lowest priority: batch work waits behind every interactive request in the admission queue.
    const ctx = this.options.pipeline.context({
      edge,
      kind,
      endpoint: batch.endpoint,
      headers: JSON_HEADERS,
      rawBody: Buffer.from(item.body),
      requestId: item.id,
      signal,
      priority: LOWEST_PRIORITY,
      startedAt: performance.now(),
      principal: ownerPrincipal(batch),
    });
    ctx.set(USAGE_SINK, (r) => ledger.push(r));
    const base = { itemId: item.id, batchId: item.batchId, leaseToken: item.leaseToken, requestId: item.id, ledger };
    try {
      await this.options.pipeline.run(ctx);
      const result = ctx.result!;
      if (result.type !== 'json') throw new Error('batch requests never stream');
      const response = result.response;
      const body = JSON.stringify(edge.renderResponse(ctx.request!, response, ctx.request!.model));
      const usage = response.usage;
      const attempt: Attempt = { at: Date.now(), statusCode: 200, code: null, message: null, deployment: ctx.served?.deploymentId ?? null };
      return {
        ...base,
        state: 'succeeded',
        statusCode: 200,
        response: body,
        errorCode: null,
        errorMessage: null,
        usage: usage ? { prompt: usage.prompt_tokens, cached: usage.cached_tokens ?? 0, completion: usage.completion_tokens } : null,
        history: [...item.history, attempt],
      };
    } catch (err) {
      const e = toGatewayError(err);
      const attempt: Attempt = { at: Date.now(), statusCode: e.status, code: e.code ?? e.kind, message: e.message, deployment: ctx.served?.deploymentId ?? null };
      const history = [...item.history, attempt];
      const failure = { ...base, statusCode: e.status, errorCode: e.code ?? e.kind, errorMessage: e.message, usage: null, history };
      if (signal.aborted) {
        // Shutting down: not the request's fault. Requeue it without waiting.
        return { ...failure, state: 'queued', nextAttemptMs: Date.now(), response: null, history: item.history };
      }
      if (isRetryable(e) && item.attempts < this.options.maxAttempts) {
        const wait = Math.max(Math.round(backoffMs(item.attempts, this.options.backoff, this.random)), retryAfterMs(e.headers['retry-after']) ?? 0);
        return { ...failure, state: 'queued', nextAttemptMs: Date.now() + wait, response: null };
      }
      return {
        ...failure,
        state: 'failed',
        response: JSON.stringify(edge.renderError(e)),
        deadLetter: {
          id: newDeadLetterId(),
          kind: 'batch_item',
          batchId: item.batchId,
          itemId: item.id,
          customId: item.customId,
          model: item.model,
          webhook: null,
          ownerKeyId: batch.owner.keyId,
          errorCode: e.code ?? e.kind,
          errorMessage: isRetryable(e) ? `Gave up after ${item.attempts} attempts: ${e.message}` : e.message,
          statusCode: e.status,
          attempts: item.attempts,
          history,
          payload: item.body,
          createdMs: Date.now(),
        },
      };
    }
  }
}
