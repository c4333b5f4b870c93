// The inference endpoints, one row each. The server routes by this table, batch checks the url of
// an input line against it and takes an item's kind and edge from it, and the CLI lists the batch
// targets and guesses a bare body's endpoint from it. Adding an endpoint is one row here.

import type { EndpointKind } from './canonical.ts';
import type { EdgeName } from './edge.ts';

export interface Endpoint {
  /** The exact path, without a trailing slash; always POST. */
  readonly path: string;
  readonly kind: EndpointKind;
  /** The client API family its bodies, answers, streams and errors speak (a key of api/edges.ts). */
  readonly edge: EdgeName;
  /** Whether a batch input line may name it as its url (batch items run through the same pipeline). */
  readonly batchable: boolean;
  /** A field every request body of the endpoint has; it tells apart the bare bodies of batchable endpoints. */
  readonly requiredField: string;
}

export const ENDPOINTS = [
  { path: '/v1/chat/completions', kind: 'chat', edge: 'openai', batchable: true, requiredField: 'messages' },
  { path: '/v1/completions', kind: 'completion', edge: 'openai', batchable: true, requiredField: 'prompt' },
  { path: '/v1/embeddings', kind: 'embedding', edge: 'openai', batchable: true, requiredField: 'input' },
  { path: '/v1/messages', kind: 'chat', edge: 'anthropic', batchable: false, requiredField: 'messages' },
] as const satisfies readonly Endpoint[];

type Row = (typeof ENDPOINTS)[number];
/** A path a batch may target. */
export type BatchablePath = Extract<Row, { batchable: true }>['path'];

const isBatchable = (e: Row): e is Extract<Row, { batchable: true }> => e.batchable;
/** The batchable endpoints, in table order (the first is the default target). */
export const BATCHABLE_ENDPOINTS: readonly Extract<Row, { batchable: true }>[] = ENDPOINTS.filter(isBatchable);
export const BATCHABLE_PATHS: readonly BatchablePath[] = BATCHABLE_ENDPOINTS.map((e) => e.path);

const BY_PATH: ReadonlyMap<string, Endpoint> = new Map(ENDPOINTS.map((e) => [e.path, e]));

/** The endpoint at exactly this path (no trailing slash, no query). */
export function endpointAt(path: string): Endpoint | undefined {
  return BY_PATH.get(path);
}

/** The batchable endpoint a bare request body is for: the first whose required field it has. */
export function batchableEndpointOf(body: Readonly<Record<string, unknown>>): BatchablePath | undefined {
  for (const e of BATCHABLE_ENDPOINTS) if (e.requiredField in body) return e.path;
  return undefined;
}

/**
 * The edge whose error shape answers a request for `url` (a path, maybe with a query): that of the
 * endpoint at the path or one it lies under (an unknown /v1/messages/... path is still an Anthropic
 * client's), else `fallback`.
 */
export function edgeNameForPath(url: string, fallback: EdgeName): EdgeName {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  for (const e of ENDPOINTS) {
    if (path.startsWith(e.path) && (path.length === e.path.length || path.charCodeAt(e.path.length) === 47 /* / */)) return e.edge;
  }
  return fallback;
}
