// What every endpoint handler needs to know about the running simulator.

import type { Engine } from '../engine/engine.ts';
import type { FaultInjector } from '../faults.ts';
import type { Profile } from '../profiles.ts';
import { badRequest, HttpError } from './respond.ts';

export interface SimContext {
  engine: Engine;
  profile: Profile;
  servedModelName: string;
  /** Simulator-wide seed, mixed into every output. */
  seed: number;
  embeddingDim: number;
  faults: FaultInjector;
  /** Unix seconds the simulator started (the model's `created`). */
  startedAt: number;
}

/** Checks the request's `model` (optional, like vLLM) against the served name. */
export function checkModel(ctx: SimContext, model: unknown): void {
  if (model === undefined || model === null) return;
  if (typeof model !== 'string') throw badRequest('model must be a string.', 'model');
  if (model !== ctx.servedModelName) throw new HttpError(404, `The model \`${model}\` does not exist.`, 'invalid_request_error', 'model', 'model_not_found');
}

/** Rejects prompts that leave no room in the context; returns the output cap. */
export function outputBudget(ctx: SimContext, promptTokens: number, maxTokens: number | undefined, param: string): number {
  const limit = ctx.profile.maxModelLen;
  if (promptTokens >= limit) {
    throw badRequest(
      `This model's maximum context length is ${limit} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input.`,
      param,
      'context_length_exceeded',
    );
  }
  if (maxTokens !== undefined && promptTokens + maxTokens > limit) {
    throw badRequest(
      `'max_tokens' is too large: ${maxTokens}. This model's maximum context length is ${limit} tokens and your request has ${promptTokens} input tokens (${maxTokens} > ${limit} - ${promptTokens}).`,
      'max_tokens',
      'context_length_exceeded',
    );
  }
  return maxTokens ?? limit - promptTokens;
}
