// Which counters one request must pass: requests/min, tokens/min and concurrency, for its key and
// for its team. Token limits count input + output; at admission the output is not known yet, so
// the request reserves its prompt estimate plus max_tokens, settled to the real usage at the end.

import type { CanonicalRequest } from '../api/canonical.ts';
import { GatewayError } from '../api/errors.ts';
import type { CounterCheck } from '../store/counters/types.ts';
import { estimatePromptTokens } from '../api/estimate.ts';
import type { Identity } from './identity-cache.ts';
import type { LimitFields } from './types.ts';

export const MINUTE_MS = 60_000;

export type Dimension = 'requests' | 'tokens' | 'concurrency';

export interface Scope {
  kind: 'key' | 'team';
  id: string;
  /** How messages name it, e.g. `key 'ci' (key_abc)` or `team 'search'`. */
  label: string;
}

export interface PlannedCheck extends CounterCheck {
  dimension: Dimension;
  scope: Scope;
}

export interface PlanOptions {
  /** Output tokens reserved when the request sets no max_tokens (settled to the truth later). */
  defaultCompletionReserve: number;
  /** Expiry of an idle concurrency counter, so slots leaked by a crashed gateway come back. */
  concurrencyTtlMs: number;
}

/** Tokens a request may use at most, as far as can be known before it runs. */
export function tokenReservation(req: CanonicalRequest, defaultCompletionReserve: number): { prompt: number; total: number; explicitMax: boolean } {
  const prompt = estimatePromptTokens(req);
  if (req.kind === 'embedding') return { prompt, total: prompt, explicitMax: true };
  const explicitMax = req.params.max_tokens !== undefined;
  const perChoice = req.params.max_tokens ?? defaultCompletionReserve;
  return { prompt, total: prompt + perChoice * (req.params.n ?? 1), explicitMax };
}

interface ScopePlan {
  scope: Scope;
  limits: LimitFields;
  rpmKey: string;
  tpmKey: string;
  concurrentKey: string;
}

/**
 * Scopes and counter keys depend only on the identity, so they are built once per identity rather
 * than on every request (an identity is replaced, not changed, when its key or team changes).
 */
const scopePlans = new WeakMap<Identity, ScopePlan[]>();

function scopePlan(scope: Scope, limits: LimitFields): ScopePlan {
  const base = `rl:${scope.kind}:${scope.id}`;
  return { scope, limits, rpmKey: `${base}:rpm`, tpmKey: `${base}:tpm`, concurrentKey: `${base}:concurrent` };
}

function scopesOf(identity: Identity): ScopePlan[] {
  let plans = scopePlans.get(identity);
  if (!plans) {
    const { key, team } = identity;
    plans = [scopePlan({ kind: 'key', id: key.id, label: key.name ? `key '${key.name}' (${key.id})` : `key ${key.id}` }, key)];
    if (team) plans.push(scopePlan({ kind: 'team', id: team.id, label: `team '${team.name}'` }, team));
    scopePlans.set(identity, plans);
  }
  return plans;
}

/** The checks for one request, key scope first. Throws a 429 for a request no window could ever admit. */
export function planChecks(identity: Identity, req: CanonicalRequest, options: PlanOptions): PlannedCheck[] {
  const reservation = tokenReservation(req, options.defaultCompletionReserve);
  const checks: PlannedCheck[] = [];
  for (const { scope, limits, rpmKey, tpmKey, concurrentKey } of scopesOf(identity)) {
    if (limits.rpm !== null) checks.push({ key: rpmKey, limit: limits.rpm, amount: 1, windowMs: MINUTE_MS, dimension: 'requests', scope });
    if (limits.tpm !== null) {
      let amount = reservation.total;
      if (amount > limits.tpm) {
        // An explicit max_tokens (or a prompt alone) above the limit can never fit: say so instead of
        // a retry loop. A default reservation is only a guess, so it is capped at the limit.
        if (reservation.explicitMax || reservation.prompt > limits.tpm) throw tooLarge(scope, limits.tpm, reservation.total);
        amount = limits.tpm;
      }
      checks.push({ key: tpmKey, limit: limits.tpm, amount, windowMs: MINUTE_MS, dimension: 'tokens', scope });
    }
    if (limits.maxConcurrent !== null) {
      checks.push({ key: concurrentKey, limit: limits.maxConcurrent, amount: 1, ttlMs: options.concurrencyTtlMs, dimension: 'concurrency', scope });
    }
  }
  return checks;
}

function tooLarge(scope: Scope, tpm: number, needed: number): GatewayError {
  return new GatewayError(
    'rate_limit',
    `Request too large for ${scope.label}: it may use up to ${needed} tokens (prompt estimate plus max_tokens), above the limit of ${tpm} tokens per minute. Lower max_tokens or shorten the prompt.`,
    { code: 'rate_limit_exceeded', param: 'max_tokens' },
  );
}
