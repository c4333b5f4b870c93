// The parse stage: the body is parsed exactly once, here, into the canonical request every later
// stage reads; an x-switchyard-priority header sets the request's priority.

import type { Stage } from '../pipeline/index.ts';
import { parseJson } from './json.ts';
import { parsePriority } from './priority.ts';

export const parseBody: Stage = async (ctx, next) => {
  // A context the gateway made itself (a batch item) comes with its priority and no header.
  const priority = ctx.headers['x-switchyard-priority'];
  if (priority !== undefined) ctx.priority = parsePriority(priority);
  const request = ctx.edge.parseRequest(ctx.kind, parseJson(ctx.rawBody), ctx.requestId);
  ctx.request = request;
  ctx.requestedModel = request.model;
  await next();
};
