// How a request ended, computed once by the kernel and handed to every ctx.onEnd handler.

import type { Usage } from '../api/canonical.ts';
import { toGatewayError, type GatewayError } from '../api/errors.ts';

/**
 * json: a JSON result was produced. error: the pipeline threw (before or instead of a result).
 * stream_completed: the stream was read to its end. stream_failed: it threw mid-way (an upstream
 * error, a timeout, or the cancellation of a departed client). stream_abandoned: its reader stopped
 * early, or the client left before it was read.
 */
export type Ending = 'json' | 'error' | 'stream_completed' | 'stream_failed' | 'stream_abandoned';

export interface RequestEnd {
  readonly ending: Ending;
  /** The status the request ended with; 499 when the client went away first. */
  readonly status: number;
  /** The error's code (or kind) when it failed; `client_disconnected` with 499. */
  readonly errorCode: string | undefined;
  readonly error: GatewayError | undefined;
  /** What was thrown, as thrown (an internal error's cause, for the log). */
  readonly cause: unknown;
  /** The client was gone before the request ended. */
  readonly clientGone: boolean;
  /**
   * What the request produced: the upstream's usage, or for a stream cut short the prompt estimate
   * plus the content chunks relayed (so it is charged for what it produced). Undefined when nothing
   * was produced (an error before or instead of a result).
   */
  readonly usage: Usage | undefined;
  /** `usage` is the cut-short estimate, not the upstream's own count. */
  readonly usageEstimated: boolean;
  /** Stream chunks relayed that carried text or tool calls (0 for JSON). */
  readonly relayed: number;
}

export type EndHandler = (end: RequestEnd) => void;

export const CLIENT_DISCONNECTED = 'client_disconnected';

export function errorEnd(err: unknown, clientGone: boolean): RequestEnd {
  const error = toGatewayError(err);
  return {
    ending: 'error',
    status: clientGone ? 499 : error.status,
    errorCode: clientGone ? CLIENT_DISCONNECTED : (error.code ?? error.kind),
    error,
    cause: err,
    clientGone,
    usage: undefined,
    usageEstimated: false,
    relayed: 0,
  };
}

export function jsonEnd(usage: Usage): RequestEnd {
  return { ending: 'json', status: 200, errorCode: undefined, error: undefined, cause: undefined, clientGone: false, usage, usageEstimated: false, relayed: 0 };
}

/** The end of a stream; `estimate` gives the cut-short usage when the upstream reported none. */
export function streamEnd(
  ending: 'stream_completed' | 'stream_failed' | 'stream_abandoned',
  failure: unknown,
  clientGone: boolean,
  usage: Usage | undefined,
  relayed: number,
  estimatePrompt: () => number,
): RequestEnd {
  let status = 200;
  let errorCode: string | undefined;
  let error: GatewayError | undefined;
  if (ending === 'stream_failed') {
    error = toGatewayError(failure);
    status = clientGone ? 499 : error.status;
    errorCode = clientGone ? CLIENT_DISCONNECTED : (error.code ?? error.kind);
  } else if (ending === 'stream_abandoned' && usage === undefined && clientGone) {
    status = 499;
    errorCode = CLIENT_DISCONNECTED;
  }
  const estimated = usage === undefined;
  return {
    ending,
    status,
    errorCode,
    error,
    cause: failure,
    clientGone,
    usage: usage ?? { prompt_tokens: estimatePrompt(), completion_tokens: relayed },
    usageEstimated: estimated,
    relayed,
  };
}
