// The dead-letter queue admin API, mounted under /admin/v1/ behind the master key.

import { z } from 'zod';
import { GatewayError } from '../api/errors.ts';
import { parseOrThrow } from '../api/validation.ts';
import type { AdminRoute } from '../api/routes.ts';
import type { DeadLetterQueue } from './dlq.ts';
import type { DeadLetterFilter } from './types.ts';
import { deadLetterObject } from './wire.ts';

const KINDS = ['batch_item', 'webhook'] as const;

const filterSchema = z.strictObject({
  batch_id: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  error_code: z.string().min(1).optional(),
  kind: z.enum(KINDS).optional(),
});

const replaySchema = z.strictObject({
  ids: z.array(z.string().min(1)).max(100_000).optional(),
  filter: filterSchema.optional(),
  into: z.enum(['original', 'new_batch']).default('original'),
});

function filterOf(query: Record<string, string>): DeadLetterFilter {
  const f = parseOrThrow(filterSchema, {
    batch_id: query.batch_id,
    model: query.model,
    error_code: query.error_code,
    kind: query.kind,
  });
  return { batchId: f.batch_id, model: f.model, errorCode: f.error_code, kind: f.kind };
}

export function deadLetterAdminRoutes(dlq: DeadLetterQueue): AdminRoute[] {
  return [
    {
      method: 'GET',
      pattern: /^\/dlq\/?$/,
      handler: async ({ query }) => {
        const limit = query.limit === undefined ? 50 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new GatewayError('invalid_request', 'limit must be an integer from 1 to 1000.', { code: 'invalid_limit', param: 'limit' });
        const entries = await dlq.list(filterOf(query), query.after, limit + 1);
        const shown = entries.slice(0, limit);
        return { status: 200, body: { object: 'list', data: shown.map(deadLetterObject), last_id: shown.at(-1)?.id ?? null, has_more: entries.length > limit } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/dlq\/?$/,
      handler: async ({ query }) => {
        const purged = await dlq.purge({ filter: filterOf(query), all: query.all === 'true' });
        return { status: 200, body: { object: 'dlq.purge', purged } };
      },
    },
    {
      method: 'POST',
      pattern: /^\/dlq\/replay\/?$/,
      handler: async ({ body }) => {
        const req = parseOrThrow(replaySchema, body ?? {});
        const filter = req.filter ? { batchId: req.filter.batch_id, model: req.filter.model, errorCode: req.filter.error_code, kind: req.filter.kind } : undefined;
        const result = await dlq.replay({ ids: req.ids, filter }, req.into);
        return { status: 200, body: { object: 'dlq.replay', ...result } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/dlq\/(?<id>dlq_[A-Za-z0-9]+)\/?$/,
      handler: async ({ params }) => ({ status: 200, body: deadLetterObject(await dlq.get(params.id)) }),
    },
    {
      method: 'DELETE',
      pattern: /^\/dlq\/(?<id>dlq_[A-Za-z0-9]+)\/?$/,
      handler: async ({ params }) => {
        await dlq.get(params.id);
        await dlq.purge({ ids: [params.id] });
        return { status: 200, body: { id: params.id, object: 'dlq.entry', deleted: true } };
      },
    },
  ];
}
