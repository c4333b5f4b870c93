// A provider is a pure transform between the canonical shapes and one upstream wire format.
// It does no I/O: the gateway's upstream client sends what buildRequest returns and feeds the
// response back through parseResponse (parsed JSON) or a streamDecoder (SSE events, one at a time).

import type {
  CanonicalEmbeddingResponse,
  CanonicalRequest,
  CanonicalResponse,
  CanonicalChunk,
} from '../api/canonical.ts';
import type { GatewayError } from '../api/errors.ts';
import type { SseEvent } from './sse.ts';
import type { ProviderKind } from './registry.ts';

export type { ProviderKind };

export interface UpstreamTarget {
  /** Base URL of the deployment, e.g. http://10.0.0.5:8000/v1 or https://api.anthropic.com */
  baseUrl: string;
  /** Model name the upstream knows (may differ from the Switchyard model name). */
  upstreamModel: string;
  /** Resolved secret, never logged. */
  apiKey?: string;
  /** Extra static headers from config. */
  headers?: Record<string, string>;
}

export interface UpstreamCall {
  /** Path appended to the target's baseUrl, e.g. `/chat/completions` or `/v1/messages`. */
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** Upstream SSE events -> canonical chunks, one event at a time (see ProviderAdapter.streamDecoder). */
export interface StreamDecoder {
  /** Appends the event's chunks to `out`; returns true when the stream is complete and nothing more is to be read. */
  event(event: SseEvent, out: CanonicalChunk[]): boolean;
  /** No more events: appends the closing chunks (usage), or throws when the stream was cut short. */
  end(out: CanonicalChunk[]): void;
}

export interface ProviderAdapter {
  readonly kind: ProviderKind;
  /** Throws GatewayError('invalid_request') when the upstream cannot serve this endpoint kind. */
  buildRequest(req: CanonicalRequest, target: UpstreamTarget): UpstreamCall;
  parseResponse(req: CanonicalRequest, body: unknown): CanonicalResponse | CanonicalEmbeddingResponse;
  /**
   * A decoder for one streamed response. Fed the upstream's SSE events in order, it turns them into
   * canonical chunks: one `start`, then `delta`s, then exactly one `usage` last (estimated if the
   * upstream sent none). It throws GatewayError if the upstream sends an in-band error event or
   * ends without finishing. Synchronous, so the relay decodes every event of a body piece at once.
   */
  streamDecoder(req: CanonicalRequest): StreamDecoder;
  /** Maps an upstream non-2xx response to the error the client sees. */
  parseError(status: number, bodyText: string, headers: Record<string, string | string[] | undefined>): GatewayError;
}
