// An edge format is how one client API family (OpenAI, Anthropic) enters and leaves the gateway.

import type { CanonicalEmbeddingResponse, CanonicalRequest, CanonicalResponse, CanonicalStream, EndpointKind } from './canonical.ts';
import type { EDGES } from './edges.ts';
import type { GatewayError } from './errors.ts';

/** The client API families the gateway speaks: the keys of the edge registry (api/edges.ts). */
export type EdgeName = keyof typeof EDGES;

export interface EdgeFormat {
  readonly name: EdgeName;
  /** Headers that carry the API key besides `Authorization: Bearer` (Anthropic: x-api-key), lower case. */
  readonly keyHeaders: readonly string[];
  /** Validates and converts a parsed JSON body. Throws GatewayError('invalid_request', ..., {param}). */
  parseRequest(kind: EndpointKind, body: unknown, requestId: string): CanonicalRequest;
  /** `clientModel` is the model name the client asked for; responses report it, not the upstream's. */
  renderResponse(req: CanonicalRequest, res: CanonicalResponse | CanonicalEmbeddingResponse, clientModel: string): unknown;
  /** Yields ready-to-write SSE text, one event per item. */
  renderStream(req: CanonicalRequest, stream: CanonicalStream, clientModel: string): AsyncIterable<string>;
  renderError(err: GatewayError): unknown;
  /** The in-band SSE error event sent when a stream fails after its first byte. */
  renderStreamError(err: GatewayError): string;
}
