// What a web page may ask of the gateway. Two rules, checked before routing:
// - Without a master key the gateway answers only requests addressed to a loopback Host: a page
//   that rebinds its own host name to 127.0.0.1 (DNS rebinding) is then refused, not served as if
//   it were a local client.
// - A browser request from another origin (an Origin header that is not the gateway's own) is
//   refused unless that origin is allowed: `server.cors.origins` for the client API, and
//   `server.cors.admin_origins` for /admin/v1. Allowed origins get CORS answers (preflight and
//   Access-Control-Allow-Origin); with no list configured no page elsewhere can use the gateway,
//   even through requests browsers send without asking (a text/plain POST).
// Clients that are not browsers send no Origin header and are unaffected.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../api/errors.ts';
import { isLoopbackHostHeader } from './loopback.ts';

export interface BrowserAccessOptions {
  /** True without a master key: only loopback Host values are answered. */
  loopbackOnly: boolean;
  /** Origins allowed to call the client API (/v1, health, metrics); "*" allows any. */
  origins: readonly string[];
  /** Origins allowed to call the admin API (/admin/v1). */
  adminOrigins: readonly string[];
}

/** Response headers a page may read: the request id, routing and rate-limit headers. */
const EXPOSED_HEADERS = [
  'x-request-id',
  'x-switchyard-model',
  'x-switchyard-deployment',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
].join(', ');
const ALLOWED_METHODS = 'GET, POST, PATCH, PUT, DELETE';
/** How long a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_S = '600';

export class BrowserAccess {
  private readonly origins: ReadonlySet<string>;
  private readonly adminOrigins: ReadonlySet<string>;
  private readonly anyOrigin: boolean;
  /** The last Host value found to be loopback: clients repeat theirs, so most checks are one comparison. */
  private lastLoopbackHost: string | undefined;

  constructor(private readonly options: BrowserAccessOptions) {
    this.origins = new Set(options.origins);
    this.adminOrigins = new Set(options.adminOrigins);
    this.anyOrigin = this.origins.has('*');
  }

  /**
   * Undefined when the request may go on (CORS headers added for an allowed origin); a refusal to
   * answer otherwise; 'answered' when this was a preflight and its answer was written.
   */
  check(req: IncomingMessage, res: ServerResponse, path: string): GatewayError | 'answered' | undefined {
    const host = req.headers.host;
    if (this.options.loopbackOnly && host !== this.lastLoopbackHost) {
      if (!isLoopbackHostHeader(host)) {
        return new GatewayError(
          'permission',
          `Host ${JSON.stringify(host)} is not allowed: without a master key Switchyard answers only requests addressed to this machine (localhost, 127.0.0.1, [::1]). Set SWITCHYARD_MASTER_KEY to serve other host names.`,
          { code: 'host_not_allowed' },
        );
      }
      this.lastLoopbackHost = host;
    }
    const origin = req.headers.origin;
    if (origin === undefined || origin === `http://${host}` || origin === `https://${host}`) return undefined;
    const admin = path.startsWith('/admin/');
    const allowed = admin ? this.adminOrigins.has(origin) : this.anyOrigin || this.origins.has(origin);
    if (!allowed) {
      const setting = admin ? 'server.cors.admin_origins' : 'server.cors.origins';
      return new GatewayError('permission', `Requests from web pages at ${origin} are not allowed; list the origin in ${setting} to allow them.`, {
        code: 'origin_not_allowed',
      });
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'origin');
    const preflightMethod = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && preflightMethod !== undefined) {
      const headers: Record<string, string> = { 'access-control-allow-methods': ALLOWED_METHODS, 'access-control-max-age': PREFLIGHT_MAX_AGE_S };
      // The origin is trusted: whatever headers its client library sends (SDKs add their own) may come.
      const requested = req.headers['access-control-request-headers'];
      if (requested) headers['access-control-allow-headers'] = requested;
      res.writeHead(204, headers);
      res.end();
      return 'answered';
    }
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return undefined;
  }
}
