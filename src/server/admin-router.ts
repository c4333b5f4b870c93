// Mounts capability-owned admin route tables under /admin/v1/. Every admin request needs the
// master key when one is configured (without one the gateway is loopback-only). Bodies are JSON.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { openAIEdge } from '../api/openai/index.ts';
import type { AdminRoute } from '../api/routes.ts';
import { readJsonBody } from './body.ts';
import { requestIdOf, selectRoute, sendError, sendJson, type InternalErrorLog } from './respond.ts';

const ADMIN_BODY_LIMIT = 1024 * 1024;

export class AdminRouter {
  private readonly routes: AdminRoute[] = [];

  constructor(
    private readonly authorize: (headers: IncomingMessage['headers']) => Promise<void>,
    private readonly logInternal?: InternalErrorLog,
  ) {}

  mount(routes: readonly AdminRoute[]): void {
    this.routes.push(...routes);
  }

  /** Returns false when no admin route has this path (the caller answers 404). */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<boolean> {
    const sub = path.slice('/admin/v1'.length) || '/';
    const route = selectRoute(this.routes, req, res, sub, path);
    if (route === 'none') return false;
    if (route === 'answered') return true;
    try {
      await this.authorize(req.headers);
      const body = await readJsonBody(req, ADMIN_BODY_LIMIT, "the admin API's limit");
      const params = { ...(route.pattern.exec(sub)?.groups ?? {}) };
      const query = Object.fromEntries(new URLSearchParams(search));
      const result = await route.handler({ params, query, body });
      sendJson(res, result.status, result.body, result.headers);
    } catch (err) {
      sendError(res, openAIEdge, err, { 'x-request-id': requestIdOf(req.headers) }, this.logInternal);
    }
    return true;
  }
}
