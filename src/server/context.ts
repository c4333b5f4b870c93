// What travels through the pipeline for one request.

import type { IncomingHttpHeaders } from 'node:http';
import type { CanonicalRequest, EndpointKind } from '../api/canonical.ts';
import type { EdgeFormat } from '../api/edge.ts';
import type { ModelPool } from '../routing/model-pool.ts';
import type { Deployment } from '../routing/deployment.ts';
import type { UpstreamResult } from '../providers/upstream-client.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { UsageRecord } from '../finops/ports.ts';
import type { StreamEnd } from './stream-end.ts';
import type { CancelSignal } from '../util/cancel-signal.ts';

export interface RequestContext {
  readonly edge: EdgeFormat;
  readonly kind: EndpointKind;
  /** Endpoint path for metrics and logs, e.g. /v1/chat/completions. */
  readonly endpoint: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  readonly requestId: string;
  /** Aborted when the client goes away; cancels the upstream call. */
  readonly signal: CancelSignal;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Set by the authenticate stage. */
  principal?: Principal;
  request?: CanonicalRequest;
  pool?: ModelPool;
  deployment?: Deployment;
  attempts: number;
  result?: UpstreamResult;
  /** performance.now() of the first token relayed (streams). */
  firstTokenAt?: number;
  /** What runs when the response stream ends (see stream-end.ts); made on first use. */
  streamEnd?: StreamEnd;
  /**
   * Where this request's ledger record goes instead of the shared batched ledger: a batch item
   * writes it in the same transaction as its result, so usage is recorded once per completed item.
   */
  recordUsage?: (record: UsageRecord) => void;
}

export type Next = () => Promise<void>;
/** A stage does one job, then calls next() to hand over, or throws a GatewayError to answer now. */
export type Stage = (ctx: RequestContext, next: Next) => Promise<void>;

/** Runs stages in order, each wrapping the ones after it (so a stage can act after the rest ran). */
export function compose(stages: Stage[]): (ctx: RequestContext) => Promise<void> {
  return (ctx) => {
    const run = (i: number): Promise<void> => (i < stages.length ? stages[i](ctx, () => run(i + 1)) : Promise.resolve());
    return run(0);
  };
}
