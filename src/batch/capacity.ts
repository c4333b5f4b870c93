// How many batch requests a model may have in flight right now: batch work fills spare capacity
// and gets out of the way of interactive traffic. Additive increase (one per 500 ms) while the model's replicas
// look idle enough; halve when interactive requests queue in the gateway or requests wait inside
// an engine (its scraped `num_requests_waiting`); nothing at all while no deployment is healthy,
// so a model that is down does not burn the attempts of every queued item.

import type { ModelPool } from '../routing/model-pool.ts';

const SIGNAL_MAX_AGE_MS = 5_000;
const DECREASE_EVERY_MS = 500;
/** Growth is paced by time, not by calls: the worker asks after every finished item (~150/s), which
 *  would undo a halving within a tenth of a second (bench:batch saw it hold 26 of 32 regardless). */
const INCREASE_EVERY_MS = 500;

export class SpareCapacity {
  private readonly limits = new Map<string, { limit: number; lastDecrease: number; lastIncrease: number }>();

  constructor(private readonly maxPerDeployment: number) {}

  /** Updates and returns the model's allowance. Called on every worker tick. */
  allowance(pool: ModelPool, now = Date.now()): number {
    const healthy = pool.healthyCount;
    if (healthy === 0) return 0;
    const ceiling = healthy * this.maxPerDeployment;
    let state = this.limits.get(pool.name);
    if (!state) this.limits.set(pool.name, (state = { limit: Math.min(ceiling, healthy), lastDecrease: 0, lastIncrease: now }));
    if (this.congested(pool, now)) {
      if (now - state.lastDecrease >= DECREASE_EVERY_MS) {
        state.limit = Math.max(1, Math.floor(state.limit / 2));
        state.lastDecrease = now;
      }
    } else if (now - state.lastIncrease >= INCREASE_EVERY_MS && now - state.lastDecrease >= INCREASE_EVERY_MS) {
      state.limit = Math.min(ceiling, state.limit + 1);
      state.lastIncrease = now;
    }
    state.limit = Math.min(state.limit, ceiling);
    return state.limit;
  }

  private congested(pool: ModelPool, now: number): boolean {
    if (pool.queueDepth > 0) return true;
    for (const d of pool.deployments) {
      const s = d.scraped;
      if (s && now - s.at < SIGNAL_MAX_AGE_MS && (s.waiting ?? 0) > 0) return true;
    }
    return false;
  }
}
