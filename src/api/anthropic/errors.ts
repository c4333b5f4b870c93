// The Anthropic error shape: {"type":"error","error":{type,message}}, its type named after the error kind.

import type { ErrorKind, GatewayError } from '../errors.ts';

const ANTHROPIC_TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  upstream_unreachable: 'api_error',
  upstream_error: 'api_error',
  upstream_timeout: 'api_error',
  overloaded: 'overloaded_error',
  internal: 'api_error',
};

export function anthropicErrorBody(err: GatewayError): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: ANTHROPIC_TYPE[err.kind], message: err.message } };
}
