// The HTTP surface: which path and method goes to which handler.

import type { EndpointKind } from '../api/canonical.ts';
import type { EdgeFormat } from '../api/edge.ts';
import { openAIEdge } from '../api/openai/index.ts';
import { anthropicEdge } from '../api/anthropic/index.ts';

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

const ROUTES = new Map<string, RouteEntry>([
  ['/v1/chat/completions', { method: 'POST', route: { type: 'inference', edge: openAIEdge, kind: 'chat' } }],
  ['/v1/completions', { method: 'POST', route: { type: 'inference', edge: openAIEdge, kind: 'completion' } }],
  ['/v1/embeddings', { method: 'POST', route: { type: 'inference', edge: openAIEdge, kind: 'embedding' } }],
  ['/v1/messages', { method: 'POST', route: { type: 'inference', edge: anthropicEdge, kind: 'chat' } }],
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

/** The edge whose error shape a path's errors use. */
export function edgeForPath(path: string): EdgeFormat {
  return path.startsWith('/v1/messages') ? anthropicEdge : openAIEdge;
}
