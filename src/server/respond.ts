// Writes pipeline results and errors to the client. Streams are relayed chunk by chunk, honouring
// backpressure; a failure after the first byte ends the stream with an in-band error event.

import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { GatewayError, toGatewayError } from '../api/errors.ts';
import type { EdgeFormat } from '../api/edge.ts';
import type { RequestContext } from './context.ts';

export function baseHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': ctx.requestId };
  if (ctx.pool) headers['x-switchyard-model'] = ctx.pool.name;
  if (ctx.deployment) headers['x-switchyard-deployment'] = ctx.deployment.id;
  return headers;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, edge: EdgeFormat, err: unknown, headers: Record<string, string> = {}): void {
  const error = toGatewayError(err);
  sendJson(res, error.status, edge.renderError(error), { ...headers, ...error.headers });
}

export async function sendResult(ctx: RequestContext, res: ServerResponse, extraHeaders: Record<string, string> = {}): Promise<void> {
  const result = ctx.result!;
  const req = ctx.request!;
  const clientModel = req.model;
  if (result.type === 'json') {
    sendJson(res, 200, ctx.edge.renderResponse(req, result.response, clientModel), { ...baseHeaders(ctx), ...extraHeaders });
    return;
  }
  res.writeHead(200, {
    ...baseHeaders(ctx),
    ...extraHeaders,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  const events = ctx.edge.renderStream(req, result.stream, clientModel);
  try {
    for await (const text of events) {
      if (res.destroyed) break;
      if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } catch (err) {
    if (!res.destroyed && !ctx.signal.aborted) res.write(ctx.edge.renderStreamError(err instanceof GatewayError ? err : toGatewayError(err)));
  } finally {
    if (!res.destroyed) res.end();
  }
}
