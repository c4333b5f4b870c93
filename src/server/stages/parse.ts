import { GatewayError } from '../../api/errors.ts';
import type { Stage } from '../context.ts';

/** The body is parsed exactly once, here; every later stage reads ctx.request. */
export const parseBody: Stage = async (ctx, next) => {
  let json: unknown;
  try {
    json = JSON.parse(ctx.rawBody.toString('utf8'));
  } catch (err) {
    const detail = ctx.rawBody.length === 0 ? 'the body is empty' : (err as Error).message;
    throw new GatewayError('invalid_request', `The request body is not valid JSON (${detail}).`, { code: 'invalid_json' });
  }
  ctx.request = ctx.edge.parseRequest(ctx.kind, json, ctx.requestId);
  await next();
};
