// How many batch requests a model may have in flight right now: batch work fills spare capacity
// and gets out of the way of interactive traffic.
//
// Two ceilings per healthy deployment: a high one while the model has seen no interactive request
// for `interactiveQuietMs` (the GPUs are idle, nobody's latency is at stake), and a low one while
// interactive requests arrive. The low one exists because an engine's scheduler puts batch prefills
// into the same steps an interactive request waits on: bench:batch measured interactive p99 TTFT
// +152 % with 8 batch requests per replica beside it, +6 to +32 % with 1 (across runs), and the default is one
// for every two replicas (a fraction is allowed; at least one request always may run). Below the ceiling,
// additive increase (paced by time) while the replicas look idle, halving when interactive requests
// queue in the gateway or keep waiting inside an engine (its scraped `num_requests_waiting` above
// zero for a second: a request arriving between two engine steps waits a moment anyway). The
// allowance is spread evenly over the deployments: this is the pools' lowest-priority share, which
// they read when they pick for batch work.
// Nothing at all while no deployment is healthy, so a model that is down does not burn every
// item's attempts.

import type { LowestPriorityShare } from '../routing/lowest-priority-share.ts';
import type { ModelPool } from '../routing/model-pool.ts';

const SIGNAL_MAX_AGE_MS = 5_000;
const DECREASE_EVERY_MS = 500;
/** Growth is paced by time, not by calls: the worker asks after every finished item (~150/s), which
 *  would undo a halving within a tenth of a second (bench:batch saw it hold 26 of 32 regardless). */
const INCREASE_EVERY_MS = 500;
/** An engine's waiting queue counts as congestion once it has been non-empty this long. */
const SUSTAINED_WAITING_MS = 1_000;

export interface SpareCapacityOptions {
  /** Ceiling per healthy deployment while the model has no interactive traffic. */
  maxPerDeployment: number;
  /** Ceiling per healthy deployment while interactive requests are arriving; may be a fraction. */
  maxPerDeploymentWithInteractive: number;
  /** How long after its last interactive request a model counts as free of interactive traffic. */
  interactiveQuietMs: number;
}

interface ModelState {
  limit: number;
  /** The limit spread over the deployments that were healthy when it was last set. */
  perDeployment: number;
  lastDecrease: number;
  lastIncrease: number;
}

export class SpareCapacity implements LowestPriorityShare {
  private readonly limits = new Map<string, ModelState>();
  /** Per deployment (by object): since when its engine has reported waiting requests. */
  private readonly waitingSince = new WeakMap<object, number>();

  constructor(private readonly options: SpareCapacityOptions) {}

  /** Whether interactive requests have reached the model recently. */
  interactiveActive(pool: ModelPool, now = Date.now()): boolean {
    return pool.lastInteractiveAt > 0 && now - pool.lastInteractiveAt < this.options.interactiveQuietMs;
  }

  /** Updates and returns the model's allowance. Called on every worker tick. */
  allowance(pool: ModelPool, now = Date.now()): number {
    const healthy = pool.healthyCount;
    if (healthy === 0) return 0;
    const shared = this.interactiveActive(pool, now);
    const perDeployment = shared ? Math.min(this.options.maxPerDeploymentWithInteractive, this.options.maxPerDeployment) : this.options.maxPerDeployment;
    // A fraction per deployment (0.5: one batch request for every two replicas) still lets one through.
    const ceiling = Math.max(1, Math.floor(healthy * perDeployment));
    let state = this.limits.get(pool.name);
    if (!state) this.limits.set(pool.name, (state = { limit: Math.min(ceiling, healthy), perDeployment: 0, lastDecrease: 0, lastIncrease: now }));
    if (this.congested(pool, now)) {
      if (now - state.lastDecrease >= DECREASE_EVERY_MS) {
        state.limit = Math.max(1, Math.floor(state.limit / 2));
        state.lastDecrease = now;
      }
    } else if (now - state.lastIncrease >= INCREASE_EVERY_MS && now - state.lastDecrease >= INCREASE_EVERY_MS) {
      // With nobody to disturb, ramp one request per replica per step; beside interactive
      // traffic, one request per step for the whole model.
      state.limit = Math.min(ceiling, state.limit + (shared ? 1 : healthy));
      state.lastIncrease = now;
    }
    state.limit = Math.min(state.limit, ceiling);
    state.perDeployment = Math.ceil(state.limit / healthy);
    return state.limit;
  }

  /** The model's share per deployment as of its last allowance; undefined before the first. */
  perDeployment(model: string): number | undefined {
    return this.limits.get(model)?.perDeployment;
  }

  private congested(pool: ModelPool, now: number): boolean {
    if (pool.queueDepth > 0) return true;
    let congested = false;
    for (const d of pool.deployments) {
      const s = d.scraped;
      if (!s || now - s.at >= SIGNAL_MAX_AGE_MS || (s.waiting ?? 0) === 0) {
        this.waitingSince.delete(d);
        continue;
      }
      const since = this.waitingSince.get(d) ?? s.at;
      this.waitingSince.set(d, since);
      if (now - since >= SUSTAINED_WAITING_MS) congested = true;
    }
    return congested;
  }
}
