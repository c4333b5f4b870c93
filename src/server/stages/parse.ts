import { GatewayError } from '../../api/errors.ts';
import { LOWEST_PRIORITY } from '../../routing/wait-queue.ts';
import type { Stage } from '../context.ts';
import { parseJson } from '../body.ts';

export const DEFAULT_PRIORITY = 5;
const NAMED_PRIORITIES: Record<string, number> = { critical: 0, high: 2, normal: 5, low: 8, batch: LOWEST_PRIORITY };

/** `x-switchyard-priority`: 0 (most urgent) to 9, or critical / high / normal / low / batch. */
export function parsePriority(header: string | string[] | undefined): number {
  if (header === undefined) return DEFAULT_PRIORITY;
  const value = (Array.isArray(header) ? header[0] : header).trim().toLowerCase();
  if (value in NAMED_PRIORITIES) return NAMED_PRIORITIES[value];
  const n = Number(value);
  if (value !== '' && Number.isInteger(n) && n >= 0 && n <= LOWEST_PRIORITY) return n;
  throw new GatewayError('invalid_request', `x-switchyard-priority must be an integer 0-9 or one of ${Object.keys(NAMED_PRIORITIES).join(', ')}; got "${value}".`, {
    param: 'x-switchyard-priority',
    code: 'invalid_priority',
  });
}

/** The body is parsed exactly once, here; every later stage reads ctx.request. */
export const parseBody: Stage = async (ctx, next) => {
  const priority = parsePriority(ctx.headers['x-switchyard-priority']);
  ctx.request = ctx.edge.parseRequest(ctx.kind, parseJson(ctx.rawBody), ctx.requestId);
  ctx.request.meta.priority = priority;
  await next();
};
