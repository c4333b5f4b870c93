// A deployment at run time: where it is, how to talk to it, and what the gateway knows of its
// state (health, circuit breaker, in-flight work, latency, scraped engine signals). It is the
// ReplicaView that routing policies read.

import { Pool } from 'undici';
import type { ProviderAdapter, UpstreamTarget } from '../providers/types.ts';
import type { CircuitBreakerConfig, Timeouts } from '../config/schema.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { Ewma } from './ewma.ts';
import type { ReplicaView, ScrapedSignals } from './types.ts';

export interface DeploymentSpec {
  id: string;
  modelName: string;
  adapter: ProviderAdapter;
  target: UpstreamTarget;
  weight: number;
  /** Absolute URL probed by the health checker, or null when it must not be probed (hosted APIs). */
  healthUrl: string | null;
  /** Absolute URL of the engine's Prometheus metrics, or null when it has none. */
  metricsUrl: string | null;
  maxConcurrency?: number;
  timeouts: Timeouts;
  circuitBreaker: CircuitBreakerConfig;
}

/** What can cancel an attempt under way (the upstream exchange); `reason` says why. */
export interface CancellableAttempt {
  cancel(reason: unknown): void;
}

/**
 * One attempt at a deployment: the work the gateway credited to it, returned when it ends, and
 * its place in the deployment's list of attempts still waiting for their first token (the
 * response, for non-streaming requests), oldest first, which outlier detection reads.
 */
export interface WorkTicket {
  promptTokens: number;
  outputTokens: number;
  promptSettled: boolean;
  ended: boolean;
  /** Sent at the lowest priority (batch work). */
  lowestPriority: boolean;
  /** When it was sent (performance.now() ms). */
  sentAt: number;
  /** Judged stalled by outlier detection: its failure is already counted. */
  stalled: boolean;
  /** Set by the upstream client while the call is under way. */
  attempt: CancellableAttempt | undefined;
  /** Neighbours in the waiting list; both null and `waiting` false once off it. */
  older: WorkTicket | null;
  newer: WorkTicket | null;
  waiting: boolean;
}

export type AttemptOutcome = 'success' | 'failure' | 'cancelled';

/** A deployment went out of, or back into, rotation by its health check. */
export interface HealthChange {
  healthy: boolean;
  reason: string;
}

export class Deployment implements ReplicaView {
  readonly id: string;
  readonly modelName: string;
  readonly adapter: ProviderAdapter;
  readonly target: UpstreamTarget;
  readonly weight: number;
  readonly healthUrl: string | null;
  readonly metricsUrl: string | null;
  readonly maxConcurrency?: number;
  readonly timeouts: Timeouts;
  /** Path prefix of the base URL (e.g. `/v1`), prepended to every provider path. */
  readonly basePath: string;
  readonly pool: Pool;
  readonly breaker: CircuitBreaker;
  /** Result of the last active health check (true until one fails). */
  healthy = true;
  inFlight = 0;
  /** Of those, requests at the lowest priority (batch work). */
  lowestPriorityInFlight = 0;
  inFlightTokens = 0;
  scraped?: ScrapedSignals;
  lastError: string | null = null;
  /** Outcomes and failures since outlier detection last evaluated this deployment. */
  windowOutcomes = 0;
  windowFailures = 0;
  private readonly ttft = new Ewma({ alpha: 0.2, halfLifeMs: 30_000 });
  private oldestWaiting: WorkTicket | null = null;
  private newestWaiting: WorkTicket | null = null;
  private readonly healthListeners: ((change: HealthChange) => void)[] = [];

  constructor(spec: DeploymentSpec) {
    this.id = spec.id;
    this.modelName = spec.modelName;
    this.adapter = spec.adapter;
    this.target = spec.target;
    this.weight = spec.weight;
    this.healthUrl = spec.healthUrl;
    this.metricsUrl = spec.metricsUrl;
    this.maxConcurrency = spec.maxConcurrency;
    this.timeouts = spec.timeouts;
    const url = new URL(spec.target.baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    // One explicit pool per upstream: keep-alive connections, no hidden global agent. Its size is
    // the deployment's max_concurrency when set, else unbounded: every in-flight request (a stream
    // holds one for minutes) needs its own HTTP/1.1 connection, and a fixed cap would queue requests
    // invisibly behind long streams, outside admission control's priorities and shedding.
    this.pool = new Pool(url.origin, {
      connections: spec.maxConcurrency ?? null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: spec.timeouts.connect_ms },
    });
    this.breaker = new CircuitBreaker({
      consecutiveFailures: spec.circuitBreaker.consecutive_failures,
      baseEjectionMs: spec.circuitBreaker.ejection_ms,
      maxEjectionMs: spec.circuitBreaker.max_ejection_ms,
    });
  }

  /** Healthy and not ejected: policies may send it traffic. */
  get available(): boolean {
    return this.healthy && this.breaker.stateAt(Date.now()) !== 'open';
  }

  get ttftEwmaMs(): number | undefined {
    return this.ttft.value;
  }

  /** Credits a dispatched request's work; pass the ticket back to settle it. */
  begin(promptTokens: number, outputTokens: number, lowestPriority = false, sentAt = 0): WorkTicket {
    this.inFlight += 1;
    if (lowestPriority) this.lowestPriorityInFlight += 1;
    this.inFlightTokens += promptTokens + outputTokens;
    const ticket: WorkTicket = { promptTokens, outputTokens, promptSettled: false, ended: false, lowestPriority, sentAt, stalled: false, attempt: undefined, older: this.newestWaiting, newer: null, waiting: true };
    if (this.newestWaiting) this.newestWaiting.newer = ticket;
    else this.oldestWaiting = ticket;
    this.newestWaiting = ticket;
    return ticket;
  }

  /** The prompt has been prefilled once the first token arrives; only decode work remains. */
  firstToken(ticket: WorkTicket, ttftMs: number): void {
    if (!ticket.promptSettled) {
      ticket.promptSettled = true;
      this.inFlightTokens -= ticket.promptTokens;
    }
    this.leaveWaiting(ticket);
    this.ttft.update(ttftMs, Date.now());
  }

  /** The oldest attempt still waiting for its first token; follow `.newer` for the others. */
  get oldestWaitingAttempt(): WorkTicket | null {
    return this.oldestWaiting;
  }

  /**
   * Reports how an attempt ended to the circuit breaker and the outlier window. A stalled attempt's
   * failure was counted when it was judged stalled, so it is not counted again.
   */
  settle(ticket: WorkTicket, outcome: AttemptOutcome, now: number): void {
    if (outcome === 'cancelled') {
      this.breaker.onCancelled(now);
      return;
    }
    if (ticket.stalled) {
      if (outcome === 'success') this.breaker.onSuccess(now);
      return;
    }
    this.windowOutcomes++;
    if (outcome === 'success') {
      this.breaker.onSuccess(now);
    } else {
      this.windowFailures++;
      this.breaker.onFailure(now);
    }
  }

  /** Outlier detection judged this attempt stalled (no first token after `waitedMs`): it counts as a failure now. */
  markStalled(ticket: WorkTicket, now: number, waitedMs: number, thresholdMs: number): void {
    if (ticket.stalled || ticket.ended) return;
    ticket.stalled = true;
    this.lastError = `stalled: an attempt had no first token after ${Math.round(waitedMs)} ms (stall threshold ${Math.round(thresholdMs)} ms)`;
    this.windowOutcomes++;
    this.windowFailures++;
    this.breaker.onFailure(now);
  }

  /** Records the result of an active health check; listeners hear of changes only. */
  setHealth(healthy: boolean, reason: string): void {
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    if (!healthy) this.lastError = `health check failed: ${reason}`;
    for (const listener of this.healthListeners) listener({ healthy, reason });
  }

  onHealthChange(listener: (change: HealthChange) => void): void {
    this.healthListeners.push(listener);
  }

  end(ticket: WorkTicket): void {
    if (ticket.ended) return;
    ticket.ended = true;
    ticket.attempt = undefined;
    this.leaveWaiting(ticket);
    this.inFlight -= 1;
    if (ticket.lowestPriority) this.lowestPriorityInFlight -= 1;
    this.inFlightTokens -= ticket.outputTokens + (ticket.promptSettled ? 0 : ticket.promptTokens);
    this.onRelease?.();
  }

  private leaveWaiting(ticket: WorkTicket): void {
    if (!ticket.waiting) return;
    ticket.waiting = false;
    if (ticket.older) ticket.older.newer = ticket.newer;
    else this.oldestWaiting = ticket.newer;
    if (ticket.newer) ticket.newer.older = ticket.older;
    else this.newestWaiting = ticket.older;
    ticket.older = ticket.newer = null;
  }

  /** Set by the model pool: a slot freed up, so a queued request may go. */
  onRelease?: () => void;

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
