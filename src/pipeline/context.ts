// What travels through the pipeline for one request. The kernel knows no capability: a stage keeps
// its own state in a slot, observes the end through onEnd and the streamed chunks through onChunk,
// and adds response headers here.

import type { IncomingHttpHeaders } from 'node:http';
import type { CanonicalChunk, CanonicalRequest, EndpointKind } from '../api/canonical.ts';
import type { EdgeFormat } from '../api/edge.ts';
import type { Principal } from '../api/principal.ts';
import type { CancelSignal } from '../util/cancel-signal.ts';
import type { EndHandler, RequestEnd } from './lifecycle.ts';
import type { PipelineResult } from './result.ts';
import type { Slot } from './slot.ts';

/** What served a request: the model and deployment of its last attempt, and the variant chosen. */
export interface Served {
  readonly model: string;
  readonly deploymentId: string;
  readonly variant?: string;
}

export type ChunkHandler = (chunk: CanonicalChunk) => void;

export interface ContextInit {
  edge: EdgeFormat;
  kind: EndpointKind;
  /** Endpoint path for metrics and logs, e.g. /v1/chat/completions. */
  endpoint: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  requestId: string;
  /** Aborted when the client goes away; cancels the upstream call. */
  signal: CancelSignal;
  /** 0 (most urgent) to 9; interactive requests take theirs from a header, batch items the lowest. */
  priority: number;
  /** performance.now() when the request arrived (defaults to now). */
  startedAt: number;
  /** Known up front for requests the gateway makes itself (batch items run as their owner). */
  principal?: Principal;
  /** Where a throwing end handler is reported (the kernel's factory sets it); it never reaches the client. */
  reportError?: (err: unknown, ctx: RequestContext) => void;
}

export class RequestContext {
  readonly edge: EdgeFormat;
  readonly kind: EndpointKind;
  readonly endpoint: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  readonly requestId: string;
  readonly signal: CancelSignal;
  readonly startedAt: number;
  priority: number;
  principal: Principal | undefined;
  request: CanonicalRequest | undefined = undefined;
  /** The model name the client asked for, exactly as sent; `served` says what answered. */
  requestedModel: string | undefined = undefined;
  served: Served | undefined = undefined;
  /** Upstream calls made for this request (retries and fallbacks included). */
  attempts = 0;
  result: PipelineResult | undefined = undefined;
  /** performance.now() of the first content chunk relayed (streams). */
  firstTokenAt: number | undefined = undefined;
  /** Handlers of streamed chunks; read by the kernel's stream wrapper. */
  chunkHandlers: ChunkHandler[] | undefined = undefined;

  // Made on first use: most requests have few handlers and no slots.
  private slots: unknown[] | undefined = undefined;
  private endHandlers: EndHandler[] | undefined = undefined;
  private headersOut: Record<string, string> | undefined = undefined;
  private endedWith: RequestEnd | undefined = undefined;
  private readonly reportError: ((err: unknown, ctx: RequestContext) => void) | undefined;

  constructor(init: ContextInit) {
    this.edge = init.edge;
    this.kind = init.kind;
    this.endpoint = init.endpoint;
    this.headers = init.headers;
    this.rawBody = init.rawBody;
    this.requestId = init.requestId;
    this.signal = init.signal;
    this.priority = init.priority;
    this.startedAt = init.startedAt;
    this.principal = init.principal;
    this.reportError = init.reportError;
  }

  get<T>(slot: Slot<T>): T | undefined {
    return this.slots?.[slot.index] as T | undefined;
  }

  set<T>(slot: Slot<T>, value: T): void {
    (this.slots ??= [])[slot.index] = value;
  }

  /**
   * Runs `handler` once, when the request ends, however it ends. Handlers run in the order they were
   * registered; none may rely on another having run. Registered after the end, it runs at once.
   */
  onEnd(handler: EndHandler): void {
    if (!this.endedWith) (this.endHandlers ??= []).push(handler);
    else {
      try {
        handler(this.endedWith);
      } catch (err) {
        this.reportError?.(err, this);
      }
    }
  }

  /** Runs `handler` for every chunk of the response stream as it is relayed (never for JSON). */
  onChunk(handler: ChunkHandler): void {
    (this.chunkHandlers ??= []).push(handler);
  }

  /** A header for the response (success or error) this request will get. */
  setResponseHeader(name: string, value: string): void {
    (this.headersOut ??= {})[name] = value;
  }

  /** Several headers at once; a first set is adopted as is (the caller hands over a fresh object). */
  addResponseHeaders(headers: Record<string, string>): void {
    if (this.headersOut === undefined) this.headersOut = headers;
    else Object.assign(this.headersOut, headers);
  }

  get responseHeaders(): Readonly<Record<string, string>> | undefined {
    return this.headersOut;
  }

  /** How the request ended, once it has. */
  get end(): RequestEnd | undefined {
    return this.endedWith;
  }

  /**
   * The kernel's: records the end and runs the handlers, exactly once. Every handler runs even if
   * one throws (a failing ledger write must not keep a limit lease from settling); failures go to
   * reportError, never to the client, whose response is already decided.
   */
  finish(end: RequestEnd): void {
    if (this.endedWith) return;
    this.endedWith = end;
    const handlers = this.endHandlers;
    this.endHandlers = undefined;
    if (!handlers) return;
    for (const handler of handlers) {
      try {
        handler(end);
      } catch (err) {
        this.reportError?.(err, this);
      }
    }
  }
}
