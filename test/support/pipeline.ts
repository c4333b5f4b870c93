// Driving one stage as the kernel does: the stage, then a fake rest of the pipeline, so the
// request ends (its onEnd handlers fire) exactly as it would for real.

import { createKernel, type Next, type RequestContext, type Stage } from '../../src/pipeline/index.ts';

/** Runs `stage` with `next` standing in for every stage after it. Rejects with what the stage (or next) threw. */
export async function runStage(ctx: RequestContext, stage: Stage, next: Next = async () => {}): Promise<void> {
  await createKernel([stage, () => next()]).run(ctx);
}
