// Upstream non-2xx responses -> the error the client sees. A 4xx caused by the request keeps the
// upstream's message (it tells the user what to fix); failures of the upstream itself become 502/503/504.

import { GatewayError } from '../../api/errors.ts';

type Headers = Record<string, string | string[] | undefined>;

export function upstreamErrorMessage(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown>;
    const err = body.error;
    if (typeof err === 'string') return err;
    if (err && typeof err === 'object' && typeof (err as Record<string, unknown>).message === 'string') return (err as Record<string, string>).message;
    if (typeof body.message === 'string') return body.message;
    if (typeof body.detail === 'string') return body.detail;
  } catch {
    // not JSON: fall through to the caller's generic message
  }
  return undefined;
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function mapUpstreamError(status: number, bodyText: string, headers: Headers): GatewayError {
  const detail = upstreamErrorMessage(bodyText);
  const suffix = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403) {
    return new GatewayError('upstream_error', `The upstream rejected the gateway's credentials for this deployment (HTTP ${status}); check the deployment's api_key.`, { code: 'upstream_auth_failed' });
  }
  if (status === 404) {
    return new GatewayError('upstream_error', `The upstream does not serve the configured model (HTTP 404)${suffix}; check the deployment's model name.`, { code: 'upstream_model_not_found' });
  }
  if (status === 413) return new GatewayError('request_too_large', `The upstream rejected the request as too large${suffix}`);
  if (status === 429) {
    const retryAfter = header(headers, 'retry-after');
    return new GatewayError('rate_limit', `The upstream is rate limiting requests${suffix}`, {
      code: 'upstream_rate_limited',
      headers: retryAfter ? { 'retry-after': retryAfter } : {},
    });
  }
  if (status >= 400 && status < 500) {
    return new GatewayError('invalid_request', detail ?? `The upstream rejected the request (HTTP ${status}).`, { status: status === 422 ? 400 : status, code: 'upstream_rejected_request' });
  }
  if (status === 503) return new GatewayError('overloaded', `The upstream is overloaded (HTTP 503)${suffix}`, { code: 'upstream_overloaded' });
  return new GatewayError('upstream_error', `The upstream failed with HTTP ${status}${suffix}`, { code: 'upstream_server_error' });
}
