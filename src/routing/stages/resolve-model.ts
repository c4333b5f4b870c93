// The resolve-model stage: which model pool serves the request (404 otherwise).

import { GatewayError } from '../../api/errors.ts';
import { Slot, type Stage } from '../../pipeline/index.ts';
import type { ModelPool } from '../model-pool.ts';
import type { ModelRegistry } from '../registry.ts';

/** The pool chosen for the request; route-and-call reads it. */
export const POOL = new Slot<ModelPool>('routing.pool');

export function resolveModel(registry: ModelRegistry): Stage {
  return async (ctx, next) => {
    const name = ctx.request!.model;
    const pool = registry.get(name);
    if (!pool) {
      // Name only what the client sent; never list configured models or upstreams here.
      throw new GatewayError('not_found', `The model \`${name}\` does not exist or you do not have access to it. List available models with GET /v1/models.`, {
        param: 'model',
        code: 'model_not_found',
      });
    }
    ctx.set(POOL, pool);
    await next();
  };
}
