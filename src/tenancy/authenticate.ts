// The authenticate stage: who is calling. The master key is an admin principal without limits;
// a virtual key becomes a principal with its key and team. Without a master key the gateway is
// loopback-only and anonymous callers are let through as before, but a presented virtual key is
// still checked, so its limits apply and a revoked or expired key is refused.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EdgeName } from '../api/edge.ts';
import { EDGES } from '../api/edges.ts';
import { GatewayError } from '../api/errors.ts';
import type { Stage } from '../pipeline/index.ts';
import { ANONYMOUS, MASTER, type Principal } from './principal.ts';
import { SECRET_PREFIX } from './secrets.ts';
import type { KeysService } from './keys.ts';

export interface AuthenticateDeps {
  keys: KeysService;
  masterKey: string | undefined;
}

/** The presented key: `Authorization: Bearer`, else the first of the edge's own key headers (Anthropic: x-api-key). */
export function presentedKey(headers: IncomingHttpHeaders, edge: EdgeName): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  for (const name of EDGES[edge].keyHeaders) {
    const value = headers[name];
    if (typeof value === 'string') return value.trim();
  }
  return undefined;
}

function sameSecret(candidate: string, expected: Buffer): boolean {
  const c = Buffer.from(candidate);
  return c.length === expected.length && timingSafeEqual(c, expected);
}

function missingKey(edge: EdgeName): GatewayError {
  const own = EDGES[edge].keyHeaders;
  const how = own.length > 0 ? `an ${own.join(' or ')} header or Authorization: Bearer <key>` : 'an Authorization: Bearer <key> header';
  return new GatewayError('authentication', `Missing API key: send ${how}.`, { code: 'missing_api_key' });
}

const invalidKey = () => new GatewayError('authentication', 'Invalid API key.', { code: 'invalid_api_key' });

/** The one master-key comparison, in constant time. */
export function masterKeyMatcher(masterKey: string): (presented: string) => boolean {
  const expected = Buffer.from(masterKey);
  return (presented) => sameSecret(presented, expected);
}

/** For the admin API: the master key, or the 401 to answer. Without a master key the gateway is loopback-only and admits every caller. */
export function createAdminAuthorizer(masterKey: string | undefined): (headers: IncomingHttpHeaders) => void {
  if (!masterKey) return () => {};
  const isMaster = masterKeyMatcher(masterKey);
  return (headers) => {
    const key = presentedKey(headers, 'openai');
    if (key === undefined || key === '') throw missingKey('openai');
    if (!isMaster(key)) throw invalidKey();
  };
}

/** Resolves headers to a principal, or throws the 401 to answer. Usable outside the pipeline (e.g. GET /v1/models). */
export function createAuthenticator(deps: AuthenticateDeps): (headers: IncomingHttpHeaders, edge: EdgeName) => Promise<Principal> {
  const isMaster = deps.masterKey ? masterKeyMatcher(deps.masterKey) : undefined;
  return async (headers, edge) => {
    const key = presentedKey(headers, edge);
    if (!isMaster) {
      // Loopback-only gateway: SDKs insist on sending some key, so only our own keys are checked.
      if (key === undefined || !key.startsWith(SECRET_PREFIX)) return ANONYMOUS;
      return (await deps.keys.authenticateSecret(key)).principal;
    }
    if (key === undefined || key === '') throw missingKey(edge);
    if (isMaster(key)) return MASTER;
    // Not shaped like one of our keys: refuse without a database lookup.
    if (!key.startsWith(SECRET_PREFIX)) throw invalidKey();
    return (await deps.keys.authenticateSecret(key)).principal;
  };
}

/** Pipeline stage: sets ctx.principal (runs before the body is parsed). */
export function authenticateStage(deps: AuthenticateDeps): Stage {
  const authenticate = createAuthenticator(deps);
  return async (ctx, next) => {
    ctx.principal = await authenticate(ctx.headers, ctx.edge.name);
    await next();
  };
}
