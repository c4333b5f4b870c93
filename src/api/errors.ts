// One error type for everything the client may see. Each edge renders it in its own shape (its
// folder's errors.ts): OpenAI {"error":{message,type,param,code}}, Anthropic {"type":"error","error":{type,message}}.

export type ErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_too_large'
  | 'rate_limit'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'upstream_error'
  | 'overloaded'
  | 'internal';

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_too_large: 413,
  rate_limit: 429,
  upstream_unreachable: 502,
  upstream_error: 502,
  upstream_timeout: 504,
  overloaded: 503,
  internal: 500,
};

export interface GatewayErrorOptions {
  /** The request field at fault, e.g. `messages[0].content`. */
  param?: string | null;
  /** Machine-readable code, e.g. `model_not_found`. */
  code?: string | null;
  /** Override the HTTP status (e.g. pass through an upstream 4xx). */
  status?: number;
  /** Extra response headers (e.g. Retry-After). */
  headers?: Record<string, string>;
  /** Overrides what the kind and status imply: whether another replica or attempt may succeed. */
  retryable?: boolean;
}

export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Record<string, string>;
  private readonly retryableOverride: boolean | undefined;

  constructor(kind: ErrorKind, message: string, options: GatewayErrorOptions = {}) {
    super(message);
    this.name = 'GatewayError';
    this.kind = kind;
    this.status = options.status ?? STATUS[kind];
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
    this.retryableOverride = options.retryable;
  }

  /** True for failures where another replica or a later attempt may succeed. */
  get retryable(): boolean {
    if (this.retryableOverride !== undefined) return this.retryableOverride;
    return (
      this.kind === 'upstream_unreachable' ||
      this.kind === 'upstream_timeout' ||
      this.kind === 'overloaded' ||
      (this.kind === 'upstream_error' && this.status >= 500) ||
      (this.kind === 'rate_limit' && this.code === 'upstream_rate_limited')
    );
  }
}

/** Anything thrown that is not a GatewayError becomes an opaque 500: no stack trace leaks. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal', 'The gateway hit an internal error; it has been logged. Retry the request.');
}
