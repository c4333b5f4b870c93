// REDIS_URL for `switchyard serve`: one RedisConnection under the limit and budget counters and
// both broadcast channels (key revocations, budget changes), and what an outage degrades. The
// gateway starts whether Redis answers or not; what is degraded is said in the start-up banner, in
// one log line each time Redis goes away or comes back, and in /readyz. Without REDIS_URL the
// counters live in this process and there is nothing to broadcast.

import type { Degradation } from '../server/gateway.ts';
import { createCounterStore, type CounterStore } from '../store/counters/index.ts';
import { RedisConnection, type RedisHealth } from '../store/redis-connection.ts';
import type { ComponentLogger } from '../telemetry/logger.ts';
import { RedisInvalidationBus, type InvalidationBus } from '../tenancy/invalidation.ts';
import { IDENTITY_CACHE_TTL_MS } from '../tenancy/keys.ts';

export interface SharedStateSettings {
  /** limits.fail_open */
  limitsFailOpen: boolean;
  /** finops.budget_enforcement.fail_open */
  budgetsFailOpen: boolean;
  /** finops.budget_enforcement.refresh_ms: how soon another replica's budget change is seen without a broadcast. */
  budgetRefreshMs: number;
}

export interface SharedState {
  counters: CounterStore;
  /** Key revocations and updates, to and from the other replicas. */
  tenancyBus?: InvalidationBus;
  /** Budget definition changes, to and from the other replicas. */
  budgetBus?: InvalidationBus<{ type: 'budgets' }>;
  /** Start-up banner lines. */
  notes: string[];
  /** What is degraded now, for /readyz. */
  degraded(): Degradation[];
  close(): Promise<void>;
}

export const BUDGET_CHANNEL = 'switchyard:finops:budgets';
/** How long start-up waits to learn whether Redis answers (a little over one connect timeout). */
const FIRST_ATTEMPT_MS = 2_500;
/** Log a change of Redis health once it has held this long. */
const LOG_SETTLE_MS = 250;

export async function openSharedState(url: string | undefined, settings: SharedStateSettings, logger: ComponentLogger): Promise<SharedState> {
  if (!url) {
    const counters = createCounterStore();
    return {
      counters,
      notes: ['Limits and budgets: in this process (set REDIS_URL to share them across replicas).'],
      degraded: () => [],
      close: () => counters.close(),
    };
  }
  let started = false;
  let logTimer: NodeJS.Timeout | undefined;
  const connection: RedisConnection = new RedisConnection({
    url,
    onChange: () => {
      // The two connections drop and return a moment apart: log the state they settle in, once.
      if (!started || logTimer) return;
      logTimer = setTimeout(logChange, LOG_SETTLE_MS);
      logTimer.unref();
    },
  });
  const where = `Redis at REDIS_URL (${connection.displayUrl})`;
  const degraded = () => degradations(where, connection.current, settings);
  let logged = '';
  const logChange = () => {
    logTimer = undefined;
    const health = connection.current;
    const now = effects(health, settings);
    const state = now.map((e) => e.feature).join(',');
    if (state === logged) return;
    logged = state;
    if (now.length === 0) logger.info({ redis: connection.displayUrl }, `${where} is reachable again: rate limits and budgets are enforced, broadcasts from other replicas arrive`);
    else logger.warn({ redis: connection.displayUrl, degraded: degraded().map((d) => d.message) }, `${where} is unreachable (${health.error}); reconnecting with backoff. ${summary(now)}`);
  };

  const counters = createCounterStore(connection);
  const tenancyBus = new RedisInvalidationBus({ connection });
  const budgetBus = new RedisInvalidationBus<{ type: 'budgets' }>({ connection, channel: BUDGET_CHANNEL });
  await connection.firstAttempt(FIRST_ATTEMPT_MS);
  started = true;
  const atStart = effects(connection.current, settings);
  logged = atStart.map((e) => e.feature).join(',');

  const notes: string[] = [];
  if (atStart.length === 0) {
    notes.push(
      `Limits and budgets: shared through ${where}. Should it become unreachable, rate limits fail ${settings.limitsFailOpen ? 'open' : 'closed'} (limits.fail_open), budgets fail ${settings.budgetsFailOpen ? 'open' : 'closed'} (finops.budget_enforcement.fail_open); /readyz lists what is degraded.`,
    );
  } else {
    notes.push(`DEGRADED: ${where} is unreachable (${connection.current.error}); reconnecting with backoff. Until it is back:`);
    for (const e of atStart) notes.push(`  - ${e.headline}. ${e.effect}`);
    logger.warn({ redis: connection.displayUrl, degraded: degraded().map((d) => d.message) }, `${where} is unreachable at start-up (${connection.current.error}); reconnecting with backoff. ${summary(atStart)}`);
  }
  return {
    counters,
    tenancyBus,
    budgetBus,
    notes,
    degraded,
    close: () => {
      clearTimeout(logTimer);
      return connection.close();
    },
  };
}

interface Effect {
  feature: string;
  mode?: 'fail_open' | 'fail_closed';
  /** What stopped working, e.g. "Rate limits are not enforced". */
  headline: string;
  /** What requests meet meanwhile, naming the setting that decides it. */
  effect: string;
}

/** What an outage of each connection does to requests, with the setting that decides it. */
function effects(health: RedisHealth, settings: SharedStateSettings): Effect[] {
  const out: Effect[] = [];
  if (!health.commands) {
    out.push(
      settings.limitsFailOpen
        ? { feature: 'rate_limits', mode: 'fail_open', headline: 'Rate limits are not enforced', effect: 'Requests pass without limits until it is back (limits.fail_open: true).' }
        : {
            feature: 'rate_limits',
            mode: 'fail_closed',
            headline: 'Rate limits cannot be checked',
            effect: 'Requests under a key or team limit get 503 rate_limit_store_unavailable until it is back (limits.fail_open: false).',
          },
      settings.budgetsFailOpen
        ? {
            feature: 'budgets',
            mode: 'fail_open',
            headline: 'Budgets are not enforced',
            effect: 'Requests a budget applies to pass uncounted until it is back (finops.budget_enforcement.fail_open: true).',
          }
        : {
            feature: 'budgets',
            mode: 'fail_closed',
            headline: 'Budgets cannot be checked',
            effect: 'Requests a budget applies to get 503 budget_store_unavailable until it is back (finops.budget_enforcement.fail_open: false).',
          },
    );
  }
  if (!health.subscriptions) {
    out.push({
      feature: 'broadcasts',
      headline: 'Broadcasts from other replicas are not arriving',
      effect: `Key revocations and updates made on another replica take effect here within ${IDENTITY_CACHE_TTL_MS / 1000} s (identity cache TTL), budget changes within ${settings.budgetRefreshMs / 1000} s (finops.budget_enforcement.refresh_ms).`,
    });
  }
  return out;
}

/** /readyz's entries: each names the cause (REDIS_URL, its address, the error) and the effect. */
export function degradations(where: string, health: RedisHealth, settings: SharedStateSettings): Degradation[] {
  const since = new Date(health.since).toISOString();
  return effects(health, settings).map((e) => ({
    feature: e.feature,
    ...(e.mode ? { mode: e.mode } : {}),
    since,
    message: `${e.headline}: ${where} is unreachable (${health.error}). ${e.effect}`,
  }));
}

function summary(list: readonly Effect[]): string {
  const parts = list.map((e) => (e.mode ? `${e.feature.replace('_', ' ')} fail ${e.mode === 'fail_open' ? 'open' : 'closed'}` : `${e.feature} paused`));
  return `Meanwhile: ${parts.join(', ')}.`;
}
