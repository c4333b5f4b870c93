// Stages and how they are put together. A stage does one job, then calls next() to hand over, or
// throws a GatewayError to answer now. compose() runs them in order, each wrapping the ones after it.

import type { RequestContext } from './context.ts';

export type Next = () => Promise<void>;
export type Stage = (ctx: RequestContext, next: Next) => Promise<void>;

export class NextCalledTwiceError extends Error {
  constructor(stage: number) {
    super(`pipeline stage ${stage} called next() more than once`);
  }
}

export function compose(stages: readonly Stage[]): (ctx: RequestContext) => Promise<void> {
  return (ctx) => {
    // The highest stage index entered so far: a next() that would enter a stage again is refused,
    // as running the rest of the pipeline twice would call the upstream twice.
    let entered = -1;
    const dispatch = (i: number): Promise<void> => {
      if (i <= entered) return Promise.reject(new NextCalledTwiceError(i - 1));
      entered = i;
      if (i === stages.length) return Promise.resolve();
      try {
        return stages[i](ctx, () => dispatch(i + 1));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
    return dispatch(0);
  };
}
