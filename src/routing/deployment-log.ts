// Logs every deployment going out of rotation or back into it, with the reason: a failed or
// recovered health check (warn / info), a circuit opening (warn, with the last upstream error),
// half-opening to probe, and closing (info).

import type { ComponentLogger } from '../telemetry/logger.ts';
import type { BreakerReason } from './circuit-breaker.ts';
import type { Deployment } from './deployment.ts';

const OPEN_REASON: Partial<Record<BreakerReason, string>> = {
  consecutive_failures: 'consecutive failures',
  probe_failed: 'the half-open probe failed',
  failure_rate_outlier: 'it failed or stalled far more often than its peers (outlier detection)',
  forced_open: 'forced open',
};

const CLOSE_REASON: Partial<Record<BreakerReason, string>> = {
  probe_succeeded: 'the half-open probe succeeded',
  forced_close: 'its health check passes again',
};

export function logDeploymentTransitions(deployments: Iterable<Deployment>, logger: ComponentLogger): void {
  for (const d of deployments) {
    const who = { deployment: d.id, model: d.modelName };
    d.onHealthChange(({ healthy, reason }) => {
      if (healthy) logger.info({ ...who, reason }, 'deployment back in rotation: health check passes');
      else logger.warn({ ...who, reason }, 'deployment down: health check failed');
    });
    d.breaker.onStateChange((t) => {
      if (t.to === 'open') {
        logger.warn({ ...who, reason: OPEN_REASON[t.reason] ?? t.reason, last_error: d.lastError, ejected_ms: (t.openUntil ?? t.at) - t.at }, 'deployment ejected: circuit open');
      } else if (t.to === 'half_open') {
        logger.info({ ...who, reason: 'ejection elapsed' }, 'deployment circuit half-open: probing');
      } else {
        logger.info({ ...who, reason: CLOSE_REASON[t.reason] ?? t.reason }, 'deployment readmitted: circuit closed');
      }
    });
  }
}
