// Active health checks: each probe-able deployment is polled; a 2xx marks it healthy, anything else
// (or no answer within the connect timeout) takes it out of rotation until a probe passes again.
// Hosted APIs are not probed: their failures are seen by the circuit breaker instead.

import { request } from 'undici';
import type { Deployment } from './deployment.ts';

export async function probe(deployment: Deployment): Promise<boolean> {
  if (deployment.healthUrl === null) return true;
  try {
    const res = await request(deployment.healthUrl, {
      method: 'GET',
      headersTimeout: deployment.timeouts.connect_ms,
      bodyTimeout: deployment.timeouts.connect_ms,
      dispatcher: deployment.pool,
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300;
  } catch {
    return false;
  }
}

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deployments: Deployment[],
    private readonly intervalMs: number,
  ) {}

  async checkOne(d: Deployment): Promise<void> {
    const ok = await probe(d);
    if (ok === d.healthy) return;
    d.healthy = ok;
    if (!ok) d.lastError = 'health check failed';
    // A replica back from the dead is not ejected for failures it had while it was down.
    else if (d.breaker.stateAt(Date.now()) !== 'closed') d.breaker.forceClose(Date.now());
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.deployments.map((d) => this.checkOne(d)));
  }

  start(): void {
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
