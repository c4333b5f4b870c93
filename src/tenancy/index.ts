// Tenancy in one call: the keys service over the configured store, the authenticate and limit
// stages, and the admin route table. See docs/tenancy.md for how the pieces fit a request.

import type { IncomingHttpHeaders } from 'node:http';
import type { AdminRoute } from '../api/routes.ts';
import type { EdgeName } from '../api/edge.ts';
import type { Stage } from '../pipeline/index.ts';
import type { SqlClient } from '../store/sql.ts';
import type { CounterStore } from '../store/counters/types.ts';
import { SqlTenancyStore } from '../store/tenancy/sql-tenancy-store.ts';
import { tenancyAdminRoutes } from './admin-routes.ts';
import { authenticateStage, createAdminAuthorizer, createAuthenticator } from './authenticate.ts';
import type { InvalidationBus } from './invalidation.ts';
import { KeysService, isModelAllowed } from './keys.ts';
import { RateLimiter, type LimitDeps } from './limits.ts';
import type { Principal } from './principal.ts';
import type { TenancyStore } from './types.ts';

export interface TenancyOptions {
  sql: SqlClient;
  /** Shared with FinOps; the caller owns (and closes) it. */
  counters: CounterStore;
  masterKey: string | undefined;
  /** Carries key revocations and updates to every replica at once (Redis pub/sub); omit for one gateway. */
  bus?: InvalidationBus;
  /** Identity cache TTL (default 5 s): how long a replica that missed an eviction may lag. */
  cacheTtlMs?: number;
  limits?: Pick<LimitDeps, 'defaultCompletionReserve' | 'concurrencyTtlMs' | 'failOpen'>;
  /** Counter-store and Redis failures (requests carry on; see LimitDeps.failOpen). */
  onError?: (err: unknown, during: string) => void;
  /** The clock expiry checks and stamps read (epoch ms); one clock for the service and its admin API. */
  now?: () => number;
}

export interface Tenancy {
  keys: KeysService;
  store: TenancyStore;
  stages: {
    /** First stage: sets ctx.principal. */
    authenticate: Stage;
    /** After the body is parsed (and the model resolved): allowlists and limits; adds x-ratelimit-* headers and settles when the request ends. */
    limit: Stage;
  };
  /** The same check as the authenticate stage, for endpoints outside the pipeline (GET /v1/models). */
  authenticate(headers: IncomingHttpHeaders, edge: EdgeName): Promise<Principal>;
  /** The admin API's check: the master key, or the 401 to answer. */
  authorizeAdmin(headers: IncomingHttpHeaders): void;
  /** Whether a principal may use a model (e.g. to filter GET /v1/models). */
  mayUseModel(principal: Principal, model: string): Promise<boolean>;
  /** Mount under /admin/v1/ behind the master key. */
  adminRoutes: AdminRoute[];
  /** Waits for settlements in flight, writes last-used stamps, leaves the bus. */
  close(): Promise<void>;
}

export async function createTenancy(options: TenancyOptions): Promise<Tenancy> {
  const onError = options.onError ?? (() => {});
  const store = new SqlTenancyStore(options.sql);
  const keys = new KeysService({ store, bus: options.bus, cacheTtlMs: options.cacheTtlMs, now: options.now });
  try {
    await keys.start();
  } catch (err) {
    await keys.close().catch(() => {});
    throw err;
  }
  const limiter = new RateLimiter({ ...options.limits, counters: options.counters, keys, onError });
  return {
    keys,
    store,
    stages: { authenticate: authenticateStage({ keys, masterKey: options.masterKey }), limit: limiter.stage },
    authenticate: createAuthenticator({ keys, masterKey: options.masterKey }),
    authorizeAdmin: createAdminAuthorizer(options.masterKey),
    mayUseModel: async (principal, model) => isModelAllowed(await keys.identityOf(principal), model),
    adminRoutes: tenancyAdminRoutes(keys, options.now),
    close: async () => {
      await limiter.drain();
      await keys.close();
    },
  };
}

export { authenticateStage, createAdminAuthorizer, createAuthenticator } from './authenticate.ts';
export { RateLimiter, limitStage } from './limits.ts';
export { KeysService, assertModelAllowed, isModelAllowed } from './keys.ts';
export { tenancyAdminRoutes } from './admin-routes.ts';
export { ANONYMOUS, MASTER, type Principal } from './principal.ts';
