// Anthropic non-2xx responses -> the error the client sees. Anthropic's error body is
// {"type":"error","error":{"type":"invalid_request_error","message":"..."}}.

import { GatewayError } from '../../api/errors.ts';

type Headers = Record<string, string | string[] | undefined>;

function detailOf(bodyText: string): string | undefined {
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown>;
    const err = body.error as Record<string, unknown> | string | undefined;
    if (typeof err === 'string') return err;
    if (err && typeof err.message === 'string') return err.message;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // An HTML page from a proxy or an empty body: the status alone must do.
  }
  return undefined;
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function parseAnthropicError(status: number, bodyText: string, headers: Headers): GatewayError {
  const detail = detailOf(bodyText);
  const suffix = detail ? `: ${detail}` : '';
  const retryAfter = header(headers, 'retry-after');
  const retryHeaders: Record<string, string> = retryAfter ? { 'retry-after': retryAfter } : {};

  if (status === 401 || status === 403) {
    // Never the upstream's words here: they describe the gateway's secret, not anything the client sent.
    return new GatewayError(
      'upstream_error',
      `The Anthropic upstream rejected the gateway's credential for this deployment (HTTP ${status}); check the deployment's api_key.`,
      { code: 'upstream_auth_failed', status: 502 },
    );
  }
  if (status === 404) {
    return new GatewayError('not_found', `The Anthropic upstream returned not found${suffix}; check the deployment's model name.`, { code: 'upstream_not_found' });
  }
  if (status === 413) return new GatewayError('request_too_large', `The Anthropic upstream rejected the request as too large${suffix}`);
  if (status === 429) {
    return new GatewayError('rate_limit', `The Anthropic upstream is rate limiting requests${suffix}`, { code: 'upstream_rate_limited', headers: retryHeaders });
  }
  if (status === 529 || status === 503) {
    return new GatewayError('overloaded', `The Anthropic upstream is overloaded (HTTP ${status})${suffix}`, { code: 'upstream_overloaded', headers: retryHeaders });
  }
  if (status >= 400 && status < 500) {
    // The request itself was refused (bad field, too many tokens for the model, ...): the upstream's
    // message tells the user what to fix, and the status stays a 4xx so clients do not retry.
    return new GatewayError('invalid_request', detail ?? `The Anthropic upstream rejected the request (HTTP ${status}).`, {
      status,
      code: 'upstream_rejected_request',
    });
  }
  return new GatewayError('upstream_error', `The Anthropic upstream failed with HTTP ${status}${suffix}`, { code: 'upstream_server_error', status: 502 });
}
