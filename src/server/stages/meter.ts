// Records what each request cost and how it went: status, latency, time to first token, tokens,
// in-flight. For streams the record is written when the stream ends, however it ends.

import { performance } from 'node:perf_hooks';
import type { CanonicalChunk, CanonicalStream, Usage } from '../../api/canonical.ts';
import { toGatewayError } from '../../api/errors.ts';
import { estimatePromptTokens } from '../../providers/estimate.ts';
import type { GatewayMetrics } from '../../telemetry/metrics.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { RequestContext, Stage } from '../context.ts';

export type RequestEndHook = (ctx: RequestContext, status: number, usage: Usage | undefined, errorCode?: string) => void;

export function meter(metrics: GatewayMetrics, logger: Logger, onEnd?: RequestEndHook): Stage {
  return async (ctx, next) => {
    const model = ctx.request!.model;
    metrics.inFlight.inc({ model });
    let recorded = false;
    const record = (status: number, usage: Usage | undefined, error?: string) => {
      if (recorded) return;
      recorded = true;
      try {
        onEnd?.(ctx, status, usage, error);
      } catch (err) {
        // The ledger must never take a request down with it.
        logger.error({ err, reqId: ctx.requestId }, 'recording the end of a request failed');
      }
      const now = performance.now();
      metrics.inFlight.dec({ model });
      metrics.requests.inc({ model, endpoint: ctx.endpoint, status: String(status) });
      metrics.latency.observe({ model, endpoint: ctx.endpoint }, (now - ctx.startedAt) / 1000);
      if (ctx.firstTokenAt !== undefined) metrics.ttft.observe({ model }, (ctx.firstTokenAt - ctx.startedAt) / 1000);
      if (usage) {
        metrics.tokens.inc({ model, direction: 'in' }, usage.prompt_tokens);
        metrics.tokens.inc({ model, direction: 'out' }, usage.completion_tokens);
      }
      logger.info({
        reqId: ctx.requestId,
        model,
        deployment: ctx.deployment?.id,
        endpoint: ctx.endpoint,
        stream: ctx.request!.stream,
        status,
        ms: Math.round(now - ctx.startedAt),
        ttftMs: ctx.firstTokenAt === undefined ? undefined : Math.round(ctx.firstTokenAt - ctx.startedAt),
        promptTokens: usage?.prompt_tokens,
        completionTokens: usage?.completion_tokens,
        attempts: ctx.attempts,
        error,
      }, 'request');
    };

    try {
      await next();
    } catch (err) {
      const e = toGatewayError(err);
      record(e.status, undefined, e.code ?? e.kind);
      throw err;
    }
    const result = ctx.result!;
    if (result.type === 'json') {
      record(200, result.response.usage);
      return;
    }
    ctx.result = { type: 'stream', stream: meteredStream(ctx, result.stream, record) };
  };
}

async function* meteredStream(
  ctx: RequestContext,
  stream: CanonicalStream,
  record: (status: number, usage: Usage | undefined, error?: string) => void,
): AsyncGenerator<CanonicalChunk> {
  let usage: Usage | undefined;
  let failure: string | undefined;
  let status = 200;
  // Tokens relayed so far, so a stream cut short is still metered for what it produced.
  let relayedTokens = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.type === 'delta') {
        if (chunk.text || chunk.tool_calls) {
          relayedTokens += 1;
          if (ctx.firstTokenAt === undefined) ctx.firstTokenAt = performance.now();
        }
      } else if (chunk.type === 'usage') usage = chunk.usage;
      yield chunk;
    }
  } catch (err) {
    const e = toGatewayError(err);
    status = ctx.signal.aborted ? 499 : e.status;
    failure = ctx.signal.aborted ? 'client_disconnected' : (e.code ?? e.kind);
    throw err;
  } finally {
    if (failure === undefined && usage === undefined && ctx.signal.aborted) {
      status = 499;
      failure = 'client_disconnected';
    }
    record(status, usage ?? { prompt_tokens: estimatePromptTokens(ctx.request!), completion_tokens: relayedTokens }, failure);
  }
}
