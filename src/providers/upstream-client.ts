// Sends one provider call to one deployment over its undici pool and hands back a canonical
// response or stream. Owns the transport concerns: timeouts, cancellation, transport-error mapping.

import type { CanonicalEmbeddingResponse, CanonicalRequest, CanonicalResponse, CanonicalStream } from '../api/canonical.ts';
import { GatewayError } from '../api/errors.ts';
import type { Deployment, WorkTicket } from '../routing/deployment.ts';
import type { CancelSignal } from '../util/cancel-signal.ts';
import { DecodedStream } from './decoded-stream.ts';
import { UpstreamExchange } from './upstream-exchange.ts';

export type UpstreamResult =
  | { type: 'json'; response: CanonicalResponse | CanonicalEmbeddingResponse }
  | { type: 'stream'; stream: CanonicalStream };

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The connection was open and the request sent, then it closed or was reset with no answer. */
const CONNECTION_DIED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** Why the gateway cut a call short: one of its timeouts, or outlier detection judging it stalled. */
type TimeoutReason = { timeout: 'first_token' | 'total' | 'stalled'; ms: number };

const TIMEOUT_WORDING: Record<TimeoutReason['timeout'], string> = {
  first_token: 'did not produce a first token within',
  total: 'did not finish within',
  stalled: 'was ejected as an outlier and this request had no answer from it after',
};

/** Why a transfer failed, in terms the client and the retry logic understand. */
export function mapTransportError(err: unknown, deployment: Deployment, afterFirstByte: boolean, reason?: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const timeout = reason as TimeoutReason | undefined;
  if (timeout && typeof timeout === 'object' && 'timeout' in timeout) {
    const code = timeout.timeout === 'stalled' ? 'upstream_stalled' : `upstream_${timeout.timeout}_timeout`;
    return new GatewayError('upstream_timeout', `The upstream deployment ${deployment.id} ${TIMEOUT_WORDING[timeout.timeout]} ${timeout.ms} ms.`, { code });
  }
  const code = (err as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code)) {
    const what = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'accept a connection' : code === 'UND_ERR_BODY_TIMEOUT' ? 'send data' : 'answer';
    return new GatewayError('upstream_timeout', `The upstream deployment ${deployment.id} did not ${what} in time.`, { code: 'upstream_timeout' });
  }
  if (afterFirstByte) {
    return new GatewayError('upstream_error', `The connection to upstream deployment ${deployment.id} was lost mid-response.`, { code: 'upstream_connection_lost' });
  }
  if (CONNECTION_DIED_CODES.has(code)) {
    return new GatewayError('upstream_unreachable', `The upstream deployment ${deployment.id} closed the connection before answering (${code}).`, { code: 'upstream_connection_closed' });
  }
  return new GatewayError('upstream_unreachable', `The upstream deployment ${deployment.id} is unreachable (${code || (err as Error).message}).`, { code: 'upstream_unreachable' });
}

/** `ticket`, when given, can cancel the call while it is under way (outlier detection's rescue). */
export async function callUpstream(deployment: Deployment, req: CanonicalRequest, clientSignal: CancelSignal, ticket?: WorkTicket): Promise<UpstreamResult> {
  const call = deployment.adapter.buildRequest(req, deployment.target);
  const { timeouts } = deployment;
  const exchange = new UpstreamExchange();
  if (ticket) ticket.attempt = exchange;
  const abortFromClient = () => exchange.cancel(clientSignal.reason);
  if (clientSignal.aborted) abortFromClient();
  else clientSignal.addEventListener('abort', abortFromClient, { once: true });
  const totalTimer = setTimeout(() => exchange.cancel({ timeout: 'total', ms: timeouts.total_ms } satisfies TimeoutReason), timeouts.total_ms);
  const firstTokenTimer = req.stream
    ? setTimeout(() => exchange.cancel({ timeout: 'first_token', ms: timeouts.first_token_ms } satisfies TimeoutReason), timeouts.first_token_ms)
    : undefined;
  const cleanup = () => {
    clearTimeout(totalTimer);
    clearTimeout(firstTokenTimer);
    clientSignal.removeEventListener('abort', abortFromClient);
  };

  let status: number;
  try {
    status = await exchange.start(deployment.pool, {
      path: deployment.basePath + call.path,
      method: 'POST',
      headers: call.headers,
      body: call.body,
      headersTimeout: req.stream ? timeouts.first_token_ms : timeouts.total_ms,
      bodyTimeout: timeouts.idle_ms,
    });
  } catch (err) {
    cleanup();
    throw mapTransportError(err, deployment, false, exchange.reason);
  }

  if (status >= 400) {
    let text = '';
    try {
      text = (await exchange.body()).toString('utf8');
    } catch {
      // the status alone still tells what happened
    }
    cleanup();
    throw deployment.adapter.parseError(status, text, exchange.headers());
  }

  if (!req.stream) {
    try {
      const json: unknown = JSON.parse((await exchange.body()).toString('utf8'));
      return { type: 'json', response: deployment.adapter.parseResponse(req, json) };
    } catch (err) {
      if (err instanceof SyntaxError) throw new GatewayError('upstream_error', `The upstream deployment ${deployment.id} returned invalid JSON.`, { code: 'upstream_malformed_response' });
      throw mapTransportError(err, deployment, true, exchange.reason);
    } finally {
      cleanup();
    }
  }

  const stream: DecodedStream = new DecodedStream(deployment.adapter.streamDecoder(req), {
    firstDelta: () => clearTimeout(firstTokenTimer),
    mapError: (err) => mapTransportError(err, deployment, true, exchange.reason),
    close: () => {
      cleanup();
      // Stops the upstream from generating for a client that is gone (or a stream we abandoned);
      // a stream that said it is complete keeps its connection while the response finishes.
      if (!stream.completed) exchange.close();
    },
    resume: () => exchange.resume(),
  });
  exchange.pipeTo(stream);
  return { type: 'stream', stream };
}
