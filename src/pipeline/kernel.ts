// The request kernel: runs a stage list over a context and ends the request exactly once, however
// it ends (a JSON result, a stream's end, an error before or after the upstream call, the client
// gone before or while the stream is read).

import { GatewayError } from '../api/errors.ts';
import { compose, type Stage } from './compose.ts';
import { RequestContext, type ContextInit } from './context.ts';
import { errorEnd, jsonEnd } from './lifecycle.ts';
import { isObserved, respondWithStream, watchDeparture } from './stream.ts';

export interface KernelOptions {
  /** Where a throwing onEnd handler is reported (a log line); the client's answer never changes for it. */
  reportError?: (err: unknown, ctx: RequestContext) => void;
}

export interface Kernel {
  /** A context for one request, interactive or made by the gateway itself (batch items). */
  context(init: Omit<ContextInit, 'reportError'>): RequestContext;
  /** Runs the stages. Resolves with ctx.result set, or rejects with the error the client gets. */
  run(ctx: RequestContext): Promise<void>;
}

export function createKernel(stages: readonly Stage[], options: KernelOptions = {}): Kernel {
  const composed = compose(stages);
  const reportError = options.reportError;
  return {
    context: (init) => new RequestContext({ ...init, reportError }),
    async run(ctx) {
      try {
        await composed(ctx);
      } catch (err) {
        ctx.finish(errorEnd(err, ctx.signal.aborted));
        throw err;
      }
      const result = ctx.result;
      if (result === undefined) {
        const err = new GatewayError('internal', 'The request pipeline produced no response.', { code: 'no_result' });
        ctx.finish(errorEnd(err, false));
        throw err;
      }
      if (result.type === 'json') {
        ctx.finish(jsonEnd(result.response.usage));
        return;
      }
      if (!isObserved(result.stream)) respondWithStream(ctx, result.stream[Symbol.asyncIterator]());
      watchDeparture(ctx);
    },
  };
}
