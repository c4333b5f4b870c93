// The authenticate stage of batch items: the principal is the batch's owner, set by the worker.
// The key is looked up again for every item, so revoking or expiring it stops its batches too.

import { GatewayError } from '../api/errors.ts';
import type { Stage } from '../pipeline/index.ts';
import type { KeysService } from '../tenancy/keys.ts';

export function batchOwnerStage(keys: Pick<KeysService, 'identityOf'>): Stage {
  return async (ctx, next) => {
    if (!ctx.principal) throw new GatewayError('internal', 'A batch item reached the pipeline without its owner.', { code: 'batch_owner_missing' });
    await keys.identityOf(ctx.principal);
    await next();
  };
}
