// The edges the gateway speaks, by name: the one line that registers an edge folder of api/.
// EdgeName is derived from this object, so a name is spelled here and in the edge's `name` only.

import { anthropicEdge } from './anthropic/index.ts';
import type { EdgeFormat } from './edge.ts';
import { edgeNameForPath } from './endpoints.ts';
import { openAIEdge } from './openai/index.ts';

export const EDGES = {
  openai: openAIEdge,
  anthropic: anthropicEdge,
};

/** The edge of paths no endpoint claims (the admin, files and batches APIs are OpenAI-shaped). */
export const DEFAULT_EDGE = openAIEdge;

/** The edge whose error shape a request for `url` gets (see edgeNameForPath). */
export function edgeForPath(url: string): EdgeFormat {
  return EDGES[edgeNameForPath(url, DEFAULT_EDGE.name)];
}
