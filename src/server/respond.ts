// Writes pipeline results and errors to the client. Streams are relayed chunk by chunk, honouring
// backpressure; a failure after the first byte ends the stream with an in-band error event.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { GatewayError, toGatewayError } from '../api/errors.ts';
import type { EdgeFormat } from '../api/edge.ts';
import { openAIEdge } from '../api/openai/index.ts';
import type { RequestContext } from '../pipeline/index.ts';
import { discardBody } from './body.ts';

/** The headers of every answer to a pipeline request: its id, what served it, and what its stages added. */
export function responseHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': ctx.requestId };
  const served = ctx.served;
  if (served) {
    headers['x-switchyard-model'] = served.model;
    headers['x-switchyard-deployment'] = served.deploymentId;
    if (served.variant !== undefined) headers['x-switchyard-variant'] = served.variant;
  }
  const added = ctx.responseHeaders;
  return added ? Object.assign(headers, added) : headers;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  writeJson(res, status, body, { ...headers });
}

/** sendJson that adds the content headers to `headers` itself (the caller's own fresh object). */
function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number>): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(text);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is a sensible one, else a new UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const clientId = headers['x-request-id'];
  return typeof clientId === 'string' && REQUEST_ID.test(clientId) ? clientId : randomUUID();
}

/** Records a failure that is answered with a 500: its cause and the request id the client was given. */
export type InternalErrorLog = (cause: unknown, requestId: string) => void;

/**
 * Answers an error in the edge's shape. Anything that is not a GatewayError becomes an opaque 500
 * whose cause goes to `logInternal` with the request id, which the answer carries in x-request-id.
 */
export function sendError(res: ServerResponse, edge: EdgeFormat, err: unknown, headers: Record<string, string> = {}, logInternal?: InternalErrorLog): void {
  const error = toGatewayError(err);
  if (error.kind === 'internal' && logInternal) {
    const requestId = headers['x-request-id'] ?? randomUUID();
    logInternal(err, requestId);
    headers = { ...headers, 'x-request-id': requestId };
  }
  sendJson(res, error.status, edge.renderError(error), { ...headers, ...error.headers });
}

export async function sendResult(ctx: RequestContext, res: ServerResponse): Promise<void> {
  const result = ctx.result!;
  const req = ctx.request!;
  // Responses name the model the client asked for, whatever served it.
  const clientModel = ctx.requestedModel ?? req.model;
  // One headers object per response, not a copy per layer.
  const headers: Record<string, string | number> = responseHeaders(ctx);
  if (result.type === 'json') {
    writeJson(res, 200, ctx.edge.renderResponse(req, result.response, clientModel), headers);
    return;
  }
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  res.flushHeaders();
  await relayEvents(ctx, res, ctx.edge.renderStream(req, result.stream, clientModel));
}

/** Above this many characters a batch is written at once rather than at the end of the tick. */
const MAX_BATCH_CHARS = 16 * 1024;

/**
 * Writes the rendered events, honouring backpressure. Events rendered in the same tick (an
 * upstream burst arrives as one body piece holding many) are joined and leave in one res.write,
 * so one chunked-encoding frame and one syscall instead of one per event; the batch is flushed
 * once the microtasks relaying the rest of the piece have run (process.nextTick), so a lone event
 * waits for nothing else.
 */
async function relayEvents(ctx: RequestContext, res: ServerResponse, events: AsyncIterable<string>): Promise<void> {
  let pending = '';
  let scheduled = false;
  let full = false;
  const flush = () => {
    scheduled = false;
    if (pending === '' || res.destroyed) return;
    if (!res.write(pending)) full = true;
    pending = '';
  };
  try {
    for await (const text of events) {
      if (res.destroyed) break;
      pending += text;
      if (pending.length >= MAX_BATCH_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
      if (full) {
        full = false;
        await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
    }
  } catch (err) {
    flush();
    if (!res.destroyed && !ctx.signal.aborted) res.write(ctx.edge.renderStreamError(err instanceof GatewayError ? err : toGatewayError(err)));
  } finally {
    flush();
    if (!res.destroyed) res.end();
  }
}

/** 405 with Allow for a path that exists under other methods; drains the request body. */
function sendMethodNotAllowed(req: IncomingMessage, res: ServerResponse, path: string, methods: readonly string[]): void {
  const allow = [...new Set(methods)].join(', ');
  discardBody(req);
  sendError(res, openAIEdge, new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}; use ${allow}.`, { code: 'method_not_allowed', headers: { allow } }));
}

/**
 * The route of a table for a path and the request's method. When the path exists under other
 * methods only, answers 405 itself ('answered'); 'none' when no route has the path.
 */
export function selectRoute<R extends { method: string; pattern: RegExp }>(routes: readonly R[], req: IncomingMessage, res: ServerResponse, routePath: string, shownPath: string): R | 'none' | 'answered' {
  const forPath = routes.filter((r) => r.pattern.test(routePath));
  if (forPath.length === 0) return 'none';
  const route = forPath.find((r) => r.method === req.method);
  if (route) return route;
  sendMethodNotAllowed(req, res, shownPath, forPath.map((r) => r.method));
  return 'answered';
}
