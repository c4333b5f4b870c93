import { GatewayError } from '../../api/errors.ts';
import type { ModelRegistry } from '../../routing/registry.ts';
import type { Stage } from '../context.ts';

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
    ctx.pool = pool;
    await next();
  };
}
