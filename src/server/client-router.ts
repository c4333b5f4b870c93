// Client-facing API resources outside the inference pipeline (/v1/files, /v1/batches): the
// capability owns the route table; this authenticates the caller like the pipeline does, reads
// JSON bodies, and writes JSON or streamed answers in the OpenAI error shape.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { openAIEdge } from '../api/openai/index.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { ClientCall, ClientRoute } from '../api/routes.ts';
import { acceptBody, discardBody, readJsonBody } from './body.ts';
import { requestIdOf, selectRoute, sendError, sendJson, type InternalErrorLog } from './respond.ts';

export class ClientRouter {
  private readonly routes: ClientRoute[] = [];
  private readonly prefixes: string[] = [];

  constructor(
    private readonly authenticate: (headers: IncomingHttpHeaders) => Promise<Principal>,
    private readonly maxJsonBytes: number,
    private readonly logInternal?: InternalErrorLog,
  ) {}

  /** Mounts routes whose paths all start with `prefix` (checked first, so other paths pay one startsWith). */
  mount(prefix: string, routes: readonly ClientRoute[]): void {
    this.prefixes.push(prefix);
    this.routes.push(...routes);
  }

  /** Whether a path is under a mounted prefix (a cheap check before the async handle()). */
  owns(path: string): boolean {
    for (const p of this.prefixes) if (path === p || path.startsWith(`${p}/`)) return true;
    return false;
  }

  /** Returns false when no mounted route has this path. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<boolean> {
    const route = selectRoute(this.routes, req, res, path, path);
    if (route === 'none') return false;
    if (route === 'answered') return true;
    try {
      const principal = await this.authenticate(req.headers);
      const call: ClientCall = {
        principal,
        params: { ...(route.pattern.exec(path)?.groups ?? {}) },
        query: Object.fromEntries(new URLSearchParams(search)),
        request: req,
        acceptBody: (limit, setting) => acceptBody(req, limit, setting),
        json: () => readJsonBody(req, this.maxJsonBytes),
      };
      const reply = await route.handler(call);
      if ('body' in reply) {
        sendJson(res, reply.status, reply.body);
        return true;
      }
      res.writeHead(reply.status, reply.headers);
      await pipeline(reply.stream, res).catch(() => {
        // The client went away or the source failed mid-way: the connection is already cut.
        res.destroy();
      });
    } catch (err) {
      discardBody(req);
      if (!res.headersSent) sendError(res, openAIEdge, err, { 'x-request-id': requestIdOf(req.headers) }, this.logInternal);
      else res.destroy();
    }
    return true;
  }
}
