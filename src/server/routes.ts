// The HTTP surface: which path and method goes to which handler.

import type { EndpointKind } from '../api/canonical.ts';
import type { EdgeFormat } from '../api/edge.ts';
import { EDGES } from '../api/edges.ts';
import { ENDPOINTS } from '../api/endpoints.ts';

export interface InferenceRoute {
  type: 'inference';
  edge: EdgeFormat;
  kind: EndpointKind;
}
export type Route =
  | InferenceRoute
  | { type: 'models' }
  | { type: 'healthz' }
  | { type: 'readyz' }
  | { type: 'metrics' };

interface RouteEntry {
  method: 'GET' | 'POST';
  route: Route;
}

/** The inference endpoints of api/endpoints.ts, then the gateway's own. */
const ROUTES = new Map<string, RouteEntry>([
  ...ENDPOINTS.map((e): [string, RouteEntry] => [e.path, { method: 'POST', route: { type: 'inference', edge: EDGES[e.edge], kind: e.kind } }]),
  ['/v1/models', { method: 'GET', route: { type: 'models' } }],
  ['/healthz', { method: 'GET', route: { type: 'healthz' } }],
  ['/readyz', { method: 'GET', route: { type: 'readyz' } }],
  ['/metrics', { method: 'GET', route: { type: 'metrics' } }],
]);

export type RouteMatch = { found: true; route: Route } | { found: false; allow?: string };

export function matchRoute(method: string, path: string): RouteMatch {
  const entry = ROUTES.get(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
  if (!entry) return { found: false };
  if (entry.method === method || (method === 'HEAD' && entry.method === 'GET')) return { found: true, route: entry.route };
  return { found: false, allow: entry.method };
}
