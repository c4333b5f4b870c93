// Active health checks: each probe-able deployment is polled; a 2xx marks it healthy, anything else
// (or no answer within the connect timeout) unhealthy. Hosted APIs are not probed.

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
  private readonly deployments: Deployment[];
  private readonly intervalMs: number;

  constructor(deployments: Deployment[], intervalMs: number) {
    this.deployments = deployments;
    this.intervalMs = intervalMs;
  }

  async checkAll(): Promise<void> {
    await Promise.all(
      this.deployments.map(async (d) => {
        const ok = await probe(d);
        if (ok) d.markSuccess();
        else if (d.healthUrl !== null) {
          d.healthy = false;
          d.lastError = 'health check failed';
        }
      }),
    );
  }

  start(): void {
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
