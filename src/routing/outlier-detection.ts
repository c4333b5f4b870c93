// Outlier detection across the deployments of one pool, from what the gateway sees (in the manner
// of Envoy's outlier detection: behaviour set by data, evaluated on an interval, not per request).
//
// - Stalls. An attempt still waiting for its first token (a non-streaming request: its response)
//   after max(min_stall_ms, stall_factor x the median time to first token of the other
//   deployments) is stalled: it counts as a failure of its deployment once, at that moment, even
//   though no timeout has fired. A replica that hangs a share of its requests answers health checks
//   and the rest of its traffic normally; stalls are how it shows.
// - Failure rate. A deployment whose failure percentage (failures and stalls over its outcomes
//   since it was last evaluated) exceeds its peers' by failure_percent_above_peers points is
//   ejected through its circuit breaker. Comparing with peers keeps a pool-wide problem (overload,
//   a workload of long requests) from ejecting everyone, and catches a replica failing a fraction
//   of its requests, which the consecutive-failures rule misses because its successes reset it.
//   The last available deployment of a pool is never ejected this way.
// - Rescue. While a deployment is ejected, its stalled attempts are cancelled (reason: a stall),
//   so the caller retries them on another deployment; nothing has reached their clients yet.
//   Stalled attempts on a deployment that stays in rotation keep their timeouts: a long request on
//   a healthy replica is not cut short.
//
// The per-request cost is the deployment's intrusive list of waiting attempts and two counters;
// everything else runs once per interval.

import { performance } from 'node:perf_hooks';
import type { OutlierDetectionConfig } from '../config/schema.ts';
import type { Deployment } from './deployment.ts';
import type { ModelPool } from './model-pool.ts';

/** Why an attempt was cancelled by outlier detection; the upstream client turns it into an error. */
export interface StallReason {
  timeout: 'stalled';
  ms: number;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/** How long an attempt at `d` may wait for its first token before it counts as stalled. */
export function stallThresholdMs(d: Deployment, deployments: readonly Deployment[], config: OutlierDetectionConfig): number {
  const peers: number[] = [];
  for (const other of deployments) if (other !== d && other.ttftEwmaMs !== undefined) peers.push(other.ttftEwmaMs);
  // Without peers to compare with, its own history is the baseline.
  const baseline = median(peers) ?? d.ttftEwmaMs ?? 0;
  return Math.max(config.min_stall_ms, config.stall_factor * baseline);
}

/** One evaluation of a pool at `now` (epoch ms); `perfNow` is the same instant on performance.now(). */
export function examinePool(pool: ModelPool, now: number, perfNow: number): void {
  const config = pool.outlierDetection;
  const { deployments } = pool;
  for (const d of deployments) {
    const threshold = stallThresholdMs(d, deployments, config);
    // Oldest first: the first attempt younger than the threshold ends the walk.
    for (let t = d.oldestWaitingAttempt; t !== null && perfNow - t.sentAt >= threshold; t = t.newer) d.markStalled(t, now, perfNow - t.sentAt, threshold);
  }

  const evaluated: Deployment[] = [];
  for (const d of deployments) {
    if (d.windowOutcomes < config.min_requests) continue;
    let peerOutcomes = 0;
    let peerFailures = 0;
    let othersAvailable = 0;
    for (const other of deployments) {
      if (other === d) continue;
      peerOutcomes += other.windowOutcomes;
      peerFailures += other.windowFailures;
      if (other.available) othersAvailable++;
    }
    if (peerOutcomes < config.min_requests) continue;
    evaluated.push(d);
    const excess = (100 * d.windowFailures) / d.windowOutcomes - (100 * peerFailures) / peerOutcomes;
    if (excess >= config.failure_percent_above_peers && othersAvailable > 0 && d.breaker.stateAt(now) !== 'open') {
      d.breaker.forceOpen(now, 'failure_rate_outlier');
    }
  }
  for (const d of evaluated) d.windowOutcomes = d.windowFailures = 0;

  for (const d of deployments) {
    if (d.breaker.stateAt(now) !== 'open') continue;
    for (let t = d.oldestWaitingAttempt; t !== null; ) {
      const next = t.newer; // cancelling takes t off the list
      if (t.stalled) t.attempt?.cancel({ timeout: 'stalled', ms: Math.round(perfNow - t.sentAt) } satisfies StallReason);
      t = next;
    }
  }
}

/** Examines every pool on its own interval. */
export class OutlierDetector {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly pools: Iterable<ModelPool>) {}

  start(): void {
    for (const pool of this.pools) {
      const timer = setInterval(() => examinePool(pool, Date.now(), performance.now()), pool.outlierDetection.interval_ms);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }
}
