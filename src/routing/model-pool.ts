// The deployments that serve one model, the routing policy that chooses among them, and the
// admission queue in front of them: when every deployment is at its max_concurrency, requests
// wait here by priority, and are shed with Retry-After once the predicted wait exceeds the SLO.

import { GatewayError } from '../api/errors.ts';
import { outlierDetectionSchema, type AdmissionConfig, type OutlierDetectionConfig, type RetryConfig } from '../config/schema.ts';
import type { Deployment } from './deployment.ts';
import { Ewma } from './ewma.ts';
import type { LowestPriorityShare } from './lowest-priority-share.ts';
import { POOL_FILTERS, type Filter, type PoolPickContext } from './scorers/index.ts';
import type { RoutingPolicy, RoutingRequest } from './types.ts';
import { LOWEST_PRIORITY } from '../api/priority.ts';
import { WaitQueue } from './wait-queue.ts';
import type { BackoffPolicy } from '../util/backoff.ts';
import type { CancelSignal } from '../util/cancel-signal.ts';

export interface ModelPoolOptions {
  name: string;
  deployments: Deployment[];
  policy: RoutingPolicy;
  maxRetries: number;
  retry: RetryConfig;
  admission: AdmissionConfig;
  fallbacks: string[];
  /** Whether the policy reads prefix hashes (building them costs a pass over the prompt). */
  needsPrefixHashes: boolean;
  sessionHeader: string;
  /** Default: the documented defaults. */
  outlierDetection?: OutlierDetectionConfig;
  /** Default: lowest-priority work is not spread. */
  lowestPriorityShare?: LowestPriorityShare;
}

type PickResult = { deployment: Deployment } | { full: true } | { none: true };

const { excluded, 'batch-share': batchShare, available, healthy, 'at-capacity': atCapacity } = POOL_FILTERS;

/** The health tiers admitted in turn: available ones (healthy, circuit closed), then healthy ones
 *  whatever their breaker says, then any, because a stale mark must not turn into a certain failure. */
const TIERS = [available, healthy, undefined];
/** Spreading batch work never sends it to a suspect deployment. */
const SPREAD_TIERS = [available];

export class ModelPool {
  readonly name: string;
  readonly deployments: Deployment[];
  readonly policy: RoutingPolicy;
  readonly maxRetries: number;
  readonly retry: RetryConfig;
  /** The retry config's backoff, in the shape util/backoff reads. */
  readonly backoff: BackoffPolicy;
  readonly admission: AdmissionConfig;
  readonly fallbacks: string[];
  readonly needsPrefixHashes: boolean;
  readonly sessionHeader: string;
  readonly outlierDetection: OutlierDetectionConfig;
  private readonly queue = new WaitQueue();
  /** pickAmong's scratch: picking is synchronous, so one per pool serves every request. */
  private readonly eligible: boolean[] = [];
  /** How long a request holds a slot, for predicting queue waits. */
  private readonly serviceMs = new Ewma({ alpha: 0.1 });
  /** When a request above the lowest priority last asked for a deployment (epoch ms; 0: never).
   *  Batch work reads it to make room for interactive traffic. */
  lastInteractiveAt = 0;
  private readonly lowestPriorityShare: LowestPriorityShare | undefined;

  constructor(options: ModelPoolOptions) {
    this.name = options.name;
    this.deployments = options.deployments;
    this.policy = options.policy;
    this.maxRetries = options.maxRetries;
    this.retry = options.retry;
    this.backoff = { baseMs: options.retry.backoff_base_ms, maxMs: options.retry.backoff_max_ms };
    this.admission = options.admission;
    this.fallbacks = options.fallbacks;
    this.needsPrefixHashes = options.needsPrefixHashes;
    this.sessionHeader = options.sessionHeader;
    this.outlierDetection = options.outlierDetection ?? outlierDetectionSchema.parse({});
    this.lowestPriorityShare = options.lowestPriorityShare;
    for (const d of this.deployments) d.onRelease = () => this.queue.wakeNext();
  }

  get healthyCount(): number {
    let n = 0;
    for (const d of this.deployments) if (d.available) n++;
    return n;
  }

  get queueDepth(): number {
    return this.queue.size;
  }

  recordServiceTime(ms: number): void {
    this.serviceMs.update(ms);
  }

  /**
   * Chooses a deployment not in `exclude` (the filters in scorers/, in their order: excluded and
   * batch-share, a health tier, at-capacity; then the policy). For the lowest priority it first
   * tries to keep to the batch share, then picks as for any request. `full` means candidates exist
   * but are all at capacity.
   */
  private pick(request: RoutingRequest, exclude: ReadonlySet<Deployment>, priority: number): PickResult {
    const cap = priority === LOWEST_PRIORITY ? this.lowestPriorityShare?.perDeployment(this.name) : undefined;
    if (cap !== undefined) {
      const spread = this.pickAmong(request, { exclude, lowestPriorityCap: cap }, SPREAD_TIERS);
      if ('deployment' in spread) return spread;
    }
    return this.pickAmong(request, { exclude, lowestPriorityCap: undefined }, TIERS);
  }

  private pickAmong(request: RoutingRequest, ctx: PoolPickContext, tiers: readonly (Filter<Deployment, PoolPickContext> | undefined)[]): PickResult {
    const now = Date.now();
    const all = this.deployments;
    const eligible = this.eligible;
    let someAtCapacity = false;
    for (const tier of tiers) {
      eligible.length = all.length;
      eligible.fill(true);
      excluded.filter(all, request, ctx, eligible);
      batchShare.filter(all, request, ctx, eligible);
      tier?.filter(all, request, ctx, eligible);
      let admissible = 0;
      for (let i = 0; i < all.length; i++) if (eligible[i]) admissible++;
      atCapacity.filter(all, request, ctx, eligible);
      const candidates: Deployment[] = [];
      for (let i = 0; i < all.length; i++) if (eligible[i]) candidates.push(all[i]);
      if (candidates.length < admissible) someAtCapacity = true;
      while (candidates.length > 0) {
        const choice = this.policy.pick(candidates, request) as Deployment | undefined;
        if (!choice) break;
        // A half-open breaker lets only its probe through; look elsewhere for the rest.
        if (choice.breaker.allowRequest(now) || tier !== available) {
          this.policy.onRouted?.(choice, request);
          return { deployment: choice };
        }
        candidates.splice(candidates.indexOf(choice), 1);
      }
      if (someAtCapacity) return { full: true };
    }
    return { none: true };
  }

  private predictedWaitMs(priority: number): number | undefined {
    const perSlot = this.serviceMs.value;
    if (perSlot === undefined) return undefined;
    let slots = 0;
    for (const d of this.deployments) if (d.available && d.maxConcurrency !== undefined) slots += d.maxConcurrency;
    if (slots === 0) return undefined;
    return ((this.queue.aheadOf(priority) + 1) * perSlot) / slots;
  }

  private shed(reason: string, waitMs: number | undefined): GatewayError {
    const retryAfter = Math.max(1, Math.ceil((waitMs ?? this.admission.max_queue_wait_ms) / 1000));
    return new GatewayError('overloaded', `Model \`${this.name}\` is at capacity (${reason}); retry after ${retryAfter} s.`, {
      code: 'model_overloaded',
      headers: { 'retry-after': String(retryAfter) },
    });
  }

  /**
   * Returns a deployment to send to, waiting in the priority queue while all are at capacity.
   * Undefined when no deployment is left to try. Throws a 503 (with Retry-After) when shedding.
   */
  async acquire(request: RoutingRequest, priority: number, exclude: ReadonlySet<Deployment>, signal: CancelSignal): Promise<Deployment | undefined> {
    const now = Date.now();
    if (priority < LOWEST_PRIORITY) this.lastInteractiveAt = now;
    const deadline = now + this.admission.max_queue_wait_ms;
    for (;;) {
      const result = this.pick(request, exclude, priority);
      if ('deployment' in result) return result.deployment;
      if ('none' in result) return undefined;
      if (this.queue.size >= this.admission.max_queue) throw this.shed(`${this.queue.size} requests already queued`, this.predictedWaitMs(priority));
      const predicted = this.predictedWaitMs(priority);
      if (predicted !== undefined && predicted > this.admission.max_queue_wait_ms) {
        throw this.shed(`predicted queue wait ${Math.round(predicted)} ms exceeds ${this.admission.max_queue_wait_ms} ms`, predicted);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.shed('queued too long', this.admission.max_queue_wait_ms);
      await this.waitForSlot(priority, remaining, signal);
    }
  }

  private waitForSlot(priority: number, timeoutMs: number, signal: CancelSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.queue.cancel(waiter);
        clearTimeout(timer);
        reject(new GatewayError('upstream_error', 'The client went away while queued.', { status: 499, code: 'client_disconnected' }));
      };
      const waiter = this.queue.push(priority, () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      const timer = setTimeout(() => {
        this.queue.cancel(waiter);
        signal.removeEventListener('abort', onAbort);
        // Loop once more: acquire() sees the deadline and sheds.
        resolve();
      }, timeoutMs);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
