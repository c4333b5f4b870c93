// The OpenAI error shape: {"error":{message,type,param,code}}, its type named after the error kind.

import type { ErrorKind, GatewayError } from '../errors.ts';

const OPENAI_TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  upstream_unreachable: 'api_error',
  upstream_error: 'api_error',
  upstream_timeout: 'api_error',
  overloaded: 'api_error',
  internal: 'api_error',
};

export function openAIErrorBody(err: GatewayError): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: err.message, type: OPENAI_TYPE[err.kind], param: err.param, code: err.code } };
}
