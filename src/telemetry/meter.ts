// The meter stage: request metrics and the request log line, written once when the request ends,
// however it ends (the kernel's onEnd computes status and usage once for every observer).

import { performance } from 'node:perf_hooks';
import type { RequestEnd, Stage } from '../pipeline/index.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';

export function meter(metrics: GatewayMetrics, logger: Logger): Stage {
  // The request line carries only the fields below, none of them a secret, so it skips the
  // logger's credential redaction, which otherwise walks every logged object (a few % of the
  // gateway's CPU at a few thousand requests/s).
  const requestLog = logger.child({}, { redact: [] });
  return async (ctx, next) => {
    const model = ctx.request!.model;
    metrics.inFlight.inc({ model });
    ctx.onEnd((end: RequestEnd) => {
      const now = performance.now();
      const { status, usage } = end;
      metrics.inFlight.dec({ model });
      metrics.requests.inc({ model, endpoint: ctx.endpoint, status: String(status) });
      metrics.latency.observe({ model, endpoint: ctx.endpoint }, (now - ctx.startedAt) / 1000);
      if (ctx.firstTokenAt !== undefined) metrics.ttft.observe({ model }, (ctx.firstTokenAt - ctx.startedAt) / 1000);
      if (usage) {
        metrics.tokens.inc({ model, direction: 'in' }, usage.prompt_tokens);
        metrics.tokens.inc({ model, direction: 'out' }, usage.completion_tokens);
      }
      // A stream that broke on a gateway bug ends with an in-band api_error: its cause goes to the log.
      if (end.ending === 'stream_failed' && end.error?.kind === 'internal' && !end.clientGone) logger.error({ err: end.cause, reqId: ctx.requestId }, 'internal error');
      requestLog.info(
        {
          reqId: ctx.requestId,
          model,
          deployment: ctx.served?.deploymentId,
          endpoint: ctx.endpoint,
          stream: ctx.request!.stream,
          status,
          ms: Math.round(now - ctx.startedAt),
          ttftMs: ctx.firstTokenAt === undefined ? undefined : Math.round(ctx.firstTokenAt - ctx.startedAt),
          promptTokens: usage?.prompt_tokens,
          completionTokens: usage?.completion_tokens,
          attempts: ctx.attempts,
          error: end.errorCode,
        },
        'request',
      );
    });
    await next();
  };
}
