// Passive outlier ejection for one deployment, in the style of Envoy's outlier detection: behaviour
// is set by data (thresholds and times), and time is passed in (`now`, ms) so tests need no clock.
//
//   closed    --N consecutive failures / forceOpen-->  open (ejected for base x 2^(k-1), capped)
//   open      --ejection time elapsed------------->  half_open (a limited number of probe requests)
//   half_open --probe succeeds-------------------->  closed
//   half_open --probe fails / forceOpen----------->  open, with a longer ejection (k + 1)
//
// The ejection count k only resets after the deployment has stayed closed for `backoffResetMs`, so
// a flapping replica is kept out longer each time. Capping how much of a pool may be ejected at
// once (Envoy's max_ejection_percent) needs the whole pool and is the pool's job, not this class's.

export type BreakerState = 'closed' | 'open' | 'half_open';

export type BreakerReason =
  | 'consecutive_failures'
  | 'probe_failed'
  | 'probe_succeeded'
  | 'ejection_elapsed'
  | 'forced_open'
  | 'forced_close'
  /** Outlier detection: it fails (or stalls) far more often than its peers. */
  | 'failure_rate_outlier';

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  reason: BreakerReason;
  at: number;
  /** For transitions to open: when the ejection ends. */
  openUntil?: number;
}

export interface CircuitBreakerOptions {
  /** Consecutive failures (5xx, timeouts, connection errors) that eject. Default 5. */
  consecutiveFailures?: number;
  /** First ejection length, ms; doubles with each consecutive ejection. Default 10 s. */
  baseEjectionMs?: number;
  /** Longest ejection, ms. Default 5 min. */
  maxEjectionMs?: number;
  /** Requests let through at once while half-open. Default 1. */
  halfOpenProbes?: number;
  /**
   * A probe that never reports an outcome (lost, or its caller forgot) frees its slot after this
   * long, so the breaker cannot stay half-open with no traffic forever. Default 30 s.
   */
  probeTimeoutMs?: number;
  /** Time closed after which the next ejection starts from the base length again. Default: maxEjectionMs. */
  backoffResetMs?: number;
}

export type BreakerListener = (transition: BreakerTransition) => void;

export class CircuitBreaker {
  readonly consecutiveFailureThreshold: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly halfOpenProbes: number;
  readonly probeTimeoutMs: number;
  readonly backoffResetMs: number;

  private current: BreakerState = 'closed';
  private failures = 0;
  private ejectionCount = 0;
  private until = 0;
  private closedSince = Number.NEGATIVE_INFINITY;
  private probesInFlight = 0;
  private lastProbeAt = 0;
  private readonly listeners = new Set<BreakerListener>();

  constructor(options: CircuitBreakerOptions = {}) {
    this.consecutiveFailureThreshold = Math.max(1, options.consecutiveFailures ?? 5);
    this.baseEjectionMs = Math.max(0, options.baseEjectionMs ?? 10_000);
    this.maxEjectionMs = Math.max(this.baseEjectionMs, options.maxEjectionMs ?? 300_000);
    this.halfOpenProbes = Math.max(1, options.halfOpenProbes ?? 1);
    this.probeTimeoutMs = Math.max(0, options.probeTimeoutMs ?? 30_000);
    this.backoffResetMs = Math.max(0, options.backoffResetMs ?? this.maxEjectionMs);
  }

  /** State as of the last call; use stateAt(now) to also apply an elapsed ejection. */
  get state(): BreakerState {
    return this.current;
  }

  /** Consecutive ejections so far (drives the ejection length); 0 when fully recovered. */
  get ejections(): number {
    return this.ejectionCount;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** End of the current ejection (ms), meaningful while open. */
  get openUntil(): number {
    return this.until;
  }

  /** Subscribes to state changes (metrics, logs); returns the unsubscribe function. */
  onStateChange(listener: BreakerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The state at `now`, moving open to half_open once the ejection has elapsed. */
  stateAt(now: number): BreakerState {
    if (this.current === 'open' && now >= this.until) {
      this.probesInFlight = 0;
      this.transition('half_open', 'ejection_elapsed', now);
    }
    return this.current;
  }

  /** Whether a request may go to this deployment now. In half-open, each true reserves a probe slot. */
  allowRequest(now: number): boolean {
    switch (this.stateAt(now)) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half_open':
        if (this.probesInFlight > 0 && now - this.lastProbeAt >= this.probeTimeoutMs) this.probesInFlight = 0;
        if (this.probesInFlight >= this.halfOpenProbes) return false;
        this.probesInFlight++;
        this.lastProbeAt = now;
        return true;
    }
  }

  onSuccess(now: number): void {
    switch (this.stateAt(now)) {
      case 'closed':
        this.failures = 0;
        return;
      case 'half_open':
        this.close('probe_succeeded', now);
        return;
      case 'open':
        // A response to a request sent before the ejection: no evidence the replica recovered.
        return;
    }
  }

  onFailure(now: number): void {
    switch (this.stateAt(now)) {
      case 'closed':
        this.failures++;
        if (this.failures >= this.consecutiveFailureThreshold) this.eject('consecutive_failures', now);
        return;
      case 'half_open':
        this.eject('probe_failed', now);
        return;
      case 'open':
        // Late failures of requests sent before the ejection must not lengthen it.
        return;
    }
  }

  /** A request ended with no verdict on the replica (client went away): frees its probe slot. */
  onCancelled(now: number): void {
    if (this.stateAt(now) === 'half_open' && this.probesInFlight > 0) this.probesInFlight--;
  }

  /** Ejects now, e.g. when outlier detection says so. While already open, only extends the ejection. */
  forceOpen(now: number, reason: BreakerReason = 'forced_open'): void {
    if (this.stateAt(now) === 'open') {
      this.until = Math.max(this.until, now + this.ejectionLength());
      return;
    }
    this.eject(reason, now);
  }

  /** Closes now, e.g. when an active health check passes and the operator wants that to un-eject. */
  forceClose(now: number): void {
    if (this.current === 'closed') {
      this.failures = 0;
      return;
    }
    this.close('forced_close', now);
  }

  private ejectionLength(): number {
    const k = Math.max(1, this.ejectionCount);
    return Math.min(this.maxEjectionMs, this.baseEjectionMs * 2 ** Math.min(k - 1, 40));
  }

  private eject(reason: BreakerReason, now: number): void {
    if (this.current === 'closed' && now - this.closedSince >= this.backoffResetMs) this.ejectionCount = 0;
    this.ejectionCount++;
    this.until = now + this.ejectionLength();
    this.failures = 0;
    this.probesInFlight = 0;
    this.transition('open', reason, now);
  }

  private close(reason: BreakerReason, now: number): void {
    this.failures = 0;
    this.probesInFlight = 0;
    this.closedSince = now;
    this.transition('closed', reason, now);
  }

  private transition(to: BreakerState, reason: BreakerReason, at: number): void {
    const from = this.current;
    this.current = to;
    if (this.listeners.size === 0) return;
    const t: BreakerTransition = to === 'open' ? { from, to, reason, at, openUntil: this.until } : { from, to, reason, at };
    for (const listener of this.listeners) listener(t);
  }
}
