// Records what each request cost and how it went: status, latency, time to first token, tokens,
// in-flight. For streams the record is written when the stream ends, however it ends (an observer
// of the one stream wrapper, stream-end.ts).

import { performance } from 'node:perf_hooks';
import type { Usage } from '../../api/canonical.ts';
import { toGatewayError } from '../../api/errors.ts';
import { estimatePromptTokens } from '../../providers/estimate.ts';
import type { GatewayMetrics } from '../../telemetry/metrics.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { RequestContext, Stage } from '../context.ts';
import { onStreamEnd, type StreamOutcome } from '../stream-end.ts';

export type RequestEndHook = (ctx: RequestContext, status: number, usage: Usage | undefined, errorCode?: string) => void;

export function meter(metrics: GatewayMetrics, logger: Logger, onEnd?: RequestEndHook): Stage {
  // The request line carries only the fields below, none of them a secret, so it skips the
  // logger's credential redaction, which otherwise walks every logged object (a few % of the
  // gateway's CPU at a few thousand requests/s).
  const requestLog = logger.child({}, { redact: [] });
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
      requestLog.info({
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
    onStreamEnd(ctx, (outcome) => recordStream(ctx, outcome, record, logger));
  };
}

/** The end of a stream, however it came: status, usage (or what was relayed) and the failure. */
function recordStream(ctx: RequestContext, outcome: StreamOutcome, record: (status: number, usage: Usage | undefined, error?: string) => void, logger: Logger): void {
  const { usage, failed } = outcome;
  let status = 200;
  let failure: string | undefined;
  if (failed) {
    const e = toGatewayError(outcome.error);
    status = ctx.signal.aborted ? 499 : e.status;
    failure = ctx.signal.aborted ? 'client_disconnected' : (e.code ?? e.kind);
    // A stream that broke on a gateway bug ends with an in-band api_error: its cause goes to the log.
    if (e.kind === 'internal' && !ctx.signal.aborted) logger.error({ err: outcome.error, reqId: ctx.requestId }, 'internal error');
  } else if (usage === undefined && ctx.signal.aborted) {
    status = 499;
    failure = 'client_disconnected';
  }
  // Tokens relayed so far, so a stream cut short is still metered for what it produced.
  record(status, usage ?? { prompt_tokens: estimatePromptTokens(ctx.request!), completion_tokens: outcome.relayed }, failure);
}
